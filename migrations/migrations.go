// Package migrations holds the versioned, forward-only SQL schema, one directory per backend,
// embedded in the binary and applied by `app migrate up`.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Status is one migration's state.
type Status struct {
	Version int64
	Source  string
	Applied bool
}

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var d goose.Dialect
	switch dialect {
	case "postgres":
		d = database.DialectPostgres
	case "sqlite":
		d = database.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(d, db, sub)
}

// Up applies every pending migration and returns the versions it applied.
func Up(ctx context.Context, db *sql.DB, dialect string) ([]int64, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// UpTo applies the pending migrations up to and including version (an upgrade test starts
// from an older schema with it).
func UpTo(ctx context.Context, db *sql.DB, dialect string, version int64) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate up to %d: %w", version, err)
	}
	return nil
}

// List reports every known migration and whether it has been applied.
func List(ctx context.Context, db *sql.DB, dialect string) ([]Status, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Source: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Versions lists the migration versions shipped for a dialect (used to keep backends in step).
func Versions(dialect string) ([]string, error) {
	return fs.Glob(files, dialect+"/*.sql")
}

// FS exposes the embedded SQL files (paths "postgres/…" and "sqlite/…").
func FS() fs.FS { return files }
