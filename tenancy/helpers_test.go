package tenancy_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/tenancy"
)

// member maps the users table with the test's own struct, so the scope is tested on a plain
// model with a TenantID field and nothing else from the product.
type member struct {
	TenantID     uuid.UUID `gorm:"primaryKey"`
	ID           uuid.UUID `gorm:"primaryKey"`
	Email        string
	PasswordHash string
	DisplayName  string
}

func (member) TableName() string { return "users" }

// registryTenant maps the tenant registry, the one table without tenant_id.
type registryTenant struct {
	ID   uuid.UUID
	Slug string
	Name string
}

func (registryTenant) TableName() string { return "tenants" }

// backend opens a freshly migrated database of one kind.
type backend struct {
	name string
	open func(t *testing.T) *tenancy.DB
}

var backends = []backend{
	{name: "sqlite", open: openSQLite},
	{name: "postgres", open: openPostgres},
}

func openSQLite(t *testing.T) *tenancy.DB {
	t.Helper()
	db, err := tenancy.Open(tenancy.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := migrations.Up(context.Background(), sqlOf(t, db), string(tenancy.SQLite)); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

func openPostgres(t *testing.T) *tenancy.DB {
	t.Helper()
	return openPostgresDSN(t, apptest.NewDatabase(t), 4)
}

func openPostgresDSN(t *testing.T, dsn string, conns int) *tenancy.DB {
	t.Helper()
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: dsn, MaxOpenConns: conns})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// sqlOf is the database/sql pool under db: statements on it bypass GORM (and its scope), and on
// PostgreSQL they run as the login role, which is how the tests look at every tenant's rows.
func sqlOf(t *testing.T, db *tenancy.DB) *sql.DB {
	t.Helper()
	s, err := db.Raw().DB()
	if err != nil {
		t.Fatalf("sql handle: %v", err)
	}
	return s
}

// seededTenant is a tenant with two users.
type seededTenant struct {
	ID    uuid.UUID
	Users []uuid.UUID
}

// seedTwoTenants registers tenants A and B and gives each two users through the scoped Tx.
func seedTwoTenants(t *testing.T, db *tenancy.DB) (a, b seededTenant) {
	t.Helper()
	ctx := context.Background()
	seed := func(label string) seededTenant {
		st := seededTenant{ID: uuid.New()}
		slug := "t-" + strings.ToLower(label) + "-" + st.ID.String()[:8]
		if err := db.Registry(ctx).Create(&registryTenant{ID: st.ID, Slug: slug, Name: label}).Error; err != nil {
			t.Fatalf("register tenant %s: %v", label, err)
		}
		err := db.Tx(tenancy.WithTenant(ctx, st.ID), func(tx *gorm.DB) error {
			for i := range 2 {
				m := member{ID: uuid.New(), Email: fmt.Sprintf("u%d@%s.test", i, slug), PasswordHash: "h",
					DisplayName: label}
				if err := tx.Create(&m).Error; err != nil {
					return err
				}
				st.Users = append(st.Users, m.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed users of %s: %v", label, err)
		}
		return st
	}
	return seed("A"), seed("B")
}

// userRow is one users row as the login role sees it, whatever the tenant.
type userRow struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	DisplayName string
}

// allUsers reads every tenant's users behind the scope's back, keyed by id.
func allUsers(t *testing.T, db *tenancy.DB) map[uuid.UUID]userRow {
	t.Helper()
	rows, err := sqlOf(t, db).Query(`SELECT CAST(tenant_id AS TEXT), CAST(id AS TEXT), display_name FROM users`)
	if err != nil {
		t.Fatalf("read users: %v", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]userRow{}
	for rows.Next() {
		var tid, id string
		var r userRow
		if err := rows.Scan(&tid, &id, &r.DisplayName); err != nil {
			t.Fatalf("scan user: %v", err)
		}
		r.TenantID, r.ID = uuid.MustParse(tid), uuid.MustParse(id)
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read users: %v", err)
	}
	return out
}

// ofTenant keeps the rows of one tenant.
func ofTenant(rows map[uuid.UUID]userRow, tenantID uuid.UUID) map[uuid.UUID]userRow {
	out := map[uuid.UUID]userRow{}
	for id, r := range rows {
		if r.TenantID == tenantID {
			out[id] = r
		}
	}
	return out
}

// notOfTenant keeps the rows of every other tenant.
func notOfTenant(rows map[uuid.UUID]userRow, tenantID uuid.UUID) map[uuid.UUID]userRow {
	out := map[uuid.UUID]userRow{}
	for id, r := range rows {
		if r.TenantID != tenantID {
			out[id] = r
		}
	}
	return out
}

func sameRows(a, b map[uuid.UUID]userRow) bool {
	if len(a) != len(b) {
		return false
	}
	for id, r := range a {
		if b[id] != r {
			return false
		}
	}
	return true
}
