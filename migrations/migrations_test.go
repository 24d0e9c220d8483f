package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/tenancy"
)

// dialects are the backends that ship migrations.
var dialects = []string{string(tenancy.Postgres), string(tenancy.SQLite)}

// shipped returns the versions shipped for a dialect, from the file names.
func shipped(t *testing.T, dialect string) []int64 {
	t.Helper()
	files, err := migrations.Versions(dialect)
	if err != nil {
		t.Fatalf("versions of %s: %v", dialect, err)
	}
	var out []int64
	for _, f := range files {
		num, _, ok := strings.Cut(path.Base(f), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			t.Fatalf("%s: file name does not start with a version number", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatalf("no migrations shipped for %s", dialect)
	}
	return out
}

// emptyPostgres creates a database from template0 (nothing in it) and drops it after the test.
func emptyPostgres(t *testing.T) *tenancy.DB {
	t.Helper()
	admin, err := sql.Open("pgx", apptest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "atelier_m_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE template0`, name)); err != nil {
		t.Fatalf("create database (PostgreSQL at %s is required): %v", apptest.AdminURL(), err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(apptest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: u.String(), MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func emptySQLite(t *testing.T) *tenancy.DB {
	t.Helper()
	db, err := tenancy.Open(tenancy.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func sqlOf(t *testing.T, db *tenancy.DB) *sql.DB {
	t.Helper()
	s, err := db.Raw().DB()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUp_fromAnEmptyDatabaseAppliesEverythingOnce: on each backend, Up on an empty database
// applies every shipped version in order, List then reports each applied, and a second Up is a
// no-op.
func TestUp_fromAnEmptyDatabaseAppliesEverythingOnce(t *testing.T) {
	t.Parallel()
	open := map[string]func(*testing.T) *tenancy.DB{
		string(tenancy.Postgres): emptyPostgres,
		string(tenancy.SQLite):   emptySQLite,
	}
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := open[dialect](t)
			if got := string(db.Dialect()); got != dialect {
				t.Fatalf("opened a %s database, want %s", got, dialect)
			}
			ctx := context.Background()
			want := shipped(t, dialect)

			before, err := migrations.List(ctx, sqlOf(t, db), dialect)
			if err != nil {
				t.Fatalf("list before: %v", err)
			}
			for _, s := range before {
				if s.Applied {
					t.Errorf("version %d applied on an empty database", s.Version)
				}
			}

			applied, err := migrations.Up(ctx, sqlOf(t, db), dialect)
			if err != nil {
				t.Fatalf("first up: %v", err)
			}
			if !slices.Equal(applied, want) {
				t.Errorf("first up applied %v, want %v", applied, want)
			}

			list, err := migrations.List(ctx, sqlOf(t, db), dialect)
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var listed []int64
			for _, s := range list {
				listed = append(listed, s.Version)
				if !s.Applied {
					t.Errorf("version %d (%s) not applied after up", s.Version, s.Source)
				}
			}
			if !slices.Equal(listed, want) {
				t.Errorf("list shows %v, want %v", listed, want)
			}

			again, err := migrations.Up(ctx, sqlOf(t, db), dialect)
			if err != nil {
				t.Fatalf("second up: %v", err)
			}
			if len(again) != 0 {
				t.Errorf("second up applied %v, want nothing", again)
			}
		})
	}
}

// TestUp_refusesAnUnknownDialect: a typo in the dialect is an error, not an empty schema.
func TestUp_refusesAnUnknownDialect(t *testing.T) {
	t.Parallel()
	db := emptySQLite(t)
	if applied, err := migrations.Up(context.Background(), sqlOf(t, db), "mysql"); err == nil {
		t.Errorf("up with dialect mysql applied %v, want an error", applied)
	}
}

// TestVersions_backendsShipTheSameFiles: every migration exists for both backends under the
// same name, so the schemas cannot drift apart; each file is a goose Up migration.
func TestVersions_backendsShipTheSameFiles(t *testing.T) {
	t.Parallel()
	names := map[string][]string{}
	for _, dialect := range dialects {
		files, err := migrations.Versions(dialect)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			names[dialect] = append(names[dialect], path.Base(f))
			body, err := fs.ReadFile(migrations.FS(), f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), "-- +goose Up") {
				t.Errorf("%s has no `-- +goose Up` section", f)
			}
		}
	}
	pg, lite := names[string(tenancy.Postgres)], names[string(tenancy.SQLite)]
	if len(pg) == 0 {
		t.Fatal("no PostgreSQL migrations")
	}
	if !slices.Equal(pg, lite) {
		t.Errorf("backends drifted:\npostgres %v\nsqlite   %v", pg, lite)
	}
	versions := shipped(t, string(tenancy.Postgres))
	for i := 1; i < len(versions); i++ {
		if versions[i] == versions[i-1] {
			t.Errorf("version %d is used by two files", versions[i])
		}
	}
}

// TestSchema_everyKeyLeadsWithTenantID: for distribution by tenant, every primary key, unique
// index and foreign key of a tenant table leads with tenant_id. Only the tenant registry, the
// index of published boards (looked up by board id by the anonymous endpoint, before any tenant
// is known; ids only) and goose's bookkeeping are exempt.
func TestSchema_everyKeyLeadsWithTenantID(t *testing.T) {
	t.Parallel()
	admin, err := sql.Open("pgx", apptest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	const exempt = `('tenants', 'public_boards', 'goose_db_version')`
	checks := []struct {
		name string
		sql  string
	}{
		{"tables without a primary key", `
			SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT IN ` + exempt + `
			  AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)`},
		{"primary keys and unique indexes not led by tenant_id", `
			SELECT c.relname || '.' || ic.relname
			FROM pg_index i
			JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_class ic ON ic.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
			WHERE n.nspname = 'public' AND (i.indisprimary OR i.indisunique)
			  AND c.relname NOT IN ` + exempt + `
			  AND a.attname IS DISTINCT FROM 'tenant_id'`},
		{"foreign keys not led by tenant_id", `
			SELECT c.relname || '.' || con.conname
			FROM pg_constraint con
			JOIN pg_class c ON c.oid = con.conrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = con.conkey[1]
			WHERE n.nspname = 'public' AND con.contype = 'f' AND c.relname NOT IN ` + exempt + `
			  AND a.attname IS DISTINCT FROM 'tenant_id'`},
	}
	for _, c := range checks {
		rows, err := admin.Query(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var bad []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			bad = append(bad, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(bad) > 0 {
			t.Errorf("%s: %v", c.name, bad)
		}
	}
	// The check above must have had something to look at.
	var tenantKeys int64
	err = admin.QueryRow(`
		SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
		WHERE i.indisprimary AND a.attname = 'tenant_id'`).Scan(&tenantKeys)
	if err != nil || tenantKeys < 4 {
		t.Errorf("primary keys led by tenant_id: %d (%v), want at least users, refresh_tokens, workspaces, casbin_rule",
			tenantKeys, err)
	}
}
