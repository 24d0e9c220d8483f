package rbac_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// registryTenant maps the tenant registry.
type registryTenant struct {
	ID   uuid.UUID
	Slug string
	Name string
}

func (registryTenant) TableName() string { return "tenants" }

// workspaceRow maps the workspaces table: grants on a workspace need its row.
type workspaceRow struct {
	TenantID uuid.UUID `gorm:"primaryKey"`
	ID       uuid.UUID `gorm:"primaryKey"`
	ParentID *uuid.UUID
	Slug     string
	Name     string
	Path     string
}

func (workspaceRow) TableName() string { return "workspaces" }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openDB opens a fresh migrated PostgreSQL database.
func openDB(t *testing.T) (*tenancy.DB, string) {
	t.Helper()
	dsn := apptest.NewDatabase(t)
	return openDSN(t, dsn), dsn
}

func openDSN(t *testing.T, dsn string) *tenancy.DB {
	t.Helper()
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: dsn, MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newEnforcer(t *testing.T, db *tenancy.DB, bus rbac.Bus) *rbac.Enforcer {
	t.Helper()
	e, err := rbac.NewEnforcer(db, bus, quiet)
	if err != nil {
		t.Fatalf("new enforcer: %v", err)
	}
	return e
}

// newTenant registers a tenant and seeds its built-in roles.
func newTenant(t *testing.T, db *tenancy.DB) uuid.UUID {
	t.Helper()
	id := uuid.New()
	ctx := context.Background()
	if err := db.Registry(ctx).Create(&registryTenant{ID: id, Slug: "r-" + id.String()[:12], Name: "T"}).Error; err != nil {
		t.Fatalf("register tenant: %v", err)
	}
	inPolicy(t, db, id, func(p *rbac.Policy) error { return p.SeedBuiltinRoles() })
	return id
}

// inPolicy runs fn on the tenant's policy in one transaction.
func inPolicy(t *testing.T, db *tenancy.DB, tenantID uuid.UUID, fn func(p *rbac.Policy) error) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return fn(p)
	})
	if err != nil {
		t.Fatalf("policy change in tenant %s: %v", tenantID, err)
	}
}

// tree is a tenant's workspace tree:
//
//	tenant ─┬─ a ─┬─ b ── c
//	        │     └─ b2
//	        └─ s
type tree struct {
	A, B, C, B2, S uuid.UUID
}

func (tr tree) node(id uuid.UUID) string { return rbac.WorkspaceNode(id) }

// newTree creates the workspace rows and the parent links of the policy graph. ids, when given,
// reuses workspace ids (another tenant may hold the same ids).
func newTree(t *testing.T, db *tenancy.DB, tenantID uuid.UUID, ids ...tree) tree {
	t.Helper()
	tr := tree{A: uuid.New(), B: uuid.New(), C: uuid.New(), B2: uuid.New(), S: uuid.New()}
	if len(ids) > 0 {
		tr = ids[0]
	}
	type ws struct {
		id     uuid.UUID
		parent *uuid.UUID
		slug   string
		path   string
	}
	all := []ws{
		{tr.A, nil, "a", "a"}, {tr.S, nil, "s", "s"},
		{tr.B, &tr.A, "b", "a/b"}, {tr.B2, &tr.A, "b2", "a/b2"},
		{tr.C, &tr.B, "c", "a/b/c"},
	}
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		for _, w := range all {
			row := workspaceRow{ID: w.id, ParentID: w.parent, Slug: w.slug, Name: w.path, Path: w.path}
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			if err := p.LinkWorkspace(w.id, w.parent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create tree: %v", err)
	}
	return tr
}

// grant gives the user the role on the node.
func grant(t *testing.T, db *tenancy.DB, tenantID, userID uuid.UUID, role, node string) {
	t.Helper()
	inPolicy(t, db, tenantID, func(p *rbac.Policy) error { return p.GrantUser(userID, role, node) })
}
