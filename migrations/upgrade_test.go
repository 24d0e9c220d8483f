package migrations_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// TestUp_existingTenantsBuiltinRolesCatchUp: a tenant signed up on the schema of version 7 (its
// built-in roles seeded with the actions of that time) has, after every later migration, exactly
// the permissions BuiltinRoles seeds in a new tenant today, in the roles' rows and in the
// enforcer's rules alike. A migration that adds actions without upgrading existing tenants fails
// here.
func TestUp_existingTenantsBuiltinRolesCatchUp(t *testing.T) {
	t.Parallel()
	open := map[string]func(*testing.T) *tenancy.DB{
		string(tenancy.Postgres): emptyPostgres,
		string(tenancy.SQLite):   emptySQLite,
	}
	// The built-in roles as version 7 seeded them.
	v7 := map[string][]string{
		rbac.RoleAdmin: {"audit:read", "authz:explain", "grant:manage", "grant:read", "group:manage", "group:read",
			"profile:manage", "profile:read", "role:manage", "role:read", "tenant:read",
			"user:create", "user:read", "user:update", "workspace:create", "workspace:delete", "workspace:move",
			"workspace:read", "workspace:update"},
		rbac.RoleAuditor: {"audit:read", "authz:explain", "grant:read", "group:read", "profile:read", "role:read", "tenant:read",
			"user:read", "workspace:read"},
		rbac.RoleEditor: {"profile:read", "tenant:read", "workspace:read", "workspace:update"},
		rbac.RoleViewer: {"profile:read", "tenant:read", "workspace:read"},
	}
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := sqlOf(t, open[dialect](t))
			ctx := context.Background()
			if err := migrations.UpTo(ctx, db, dialect, 7); err != nil {
				t.Fatal(err)
			}
			tenant := uuid.New()
			mustExec(t, db, `INSERT INTO tenants (id, slug, name) VALUES ($1, 'old-tenant', 'Old')`, tenant.String())
			for role, perms := range v7 {
				raw, _ := json.Marshal(perms)
				mustExec(t, db, `INSERT INTO roles (tenant_id, id, name, builtin, permissions) VALUES ($1, $2, $3, true, $4)`,
					tenant.String(), uuid.NewString(), role, string(raw))
				for _, p := range perms {
					mustExec(t, db, `INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES ('g2', $1, $2, $3)`, role, p, tenant.String())
				}
			}
			// A custom role is left as it is.
			mustExec(t, db, `INSERT INTO roles (tenant_id, id, name, builtin, permissions) VALUES ($1, $2, 'librarian', false, '["workspace:read"]')`,
				tenant.String(), uuid.NewString())

			if _, err := migrations.Up(ctx, db, dialect); err != nil {
				t.Fatal(err)
			}
			for role, want := range rbac.BuiltinRoles() {
				wantNames := make([]string, len(want))
				for i, a := range want {
					wantNames[i] = string(a)
				}
				slices.Sort(wantNames)
				var raw string
				if err := db.QueryRowContext(ctx, `SELECT permissions FROM roles WHERE tenant_id = $1 AND name = $2`,
					tenant.String(), role).Scan(&raw); err != nil {
					t.Fatalf("%s: %v", role, err)
				}
				var got []string
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatalf("%s: permissions %q: %v", role, raw, err)
				}
				if !slices.Equal(got, wantNames) {
					t.Errorf("role %s permissions after upgrade:\n got %v\nwant %v", role, got, wantNames)
				}
				rules := stringsOf(t, db, `SELECT v1 FROM casbin_rule WHERE ptype = 'g2' AND v0 = $1 AND v2 = $2 ORDER BY v1`,
					role, tenant.String())
				if !slices.Equal(rules, wantNames) {
					t.Errorf("role %s rules after upgrade:\n got %v\nwant %v", role, rules, wantNames)
				}
			}
			var custom string
			if err := db.QueryRowContext(ctx, `SELECT permissions FROM roles WHERE tenant_id = $1 AND name = 'librarian'`,
				tenant.String()).Scan(&custom); err != nil {
				t.Fatal(err)
			}
			var got []string
			_ = json.Unmarshal([]byte(custom), &got)
			if !slices.Equal(got, []string{"workspace:read"}) {
				t.Errorf("custom role changed by the upgrade: %v", got)
			}
		})
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func stringsOf(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUp_0012_builtinRolesGainBoardAndImageActions: a tenant on the schema of version 9 (board
// and image actions board:create, board:admin, board:read, image:create) gets, from 0012, the
// per-object-type actions on its built-in admin (all of them) and auditor (image:read), in the
// roles' rows and the casbin rules; editors and viewers, and custom roles, gain nothing.
func TestUp_0012_builtinRolesGainBoardAndImageActions(t *testing.T) {
	t.Parallel()
	open := map[string]func(*testing.T) *tenancy.DB{
		string(tenancy.Postgres): emptyPostgres,
		string(tenancy.SQLite):   emptySQLite,
	}
	// What 0012 adds, and beside it what 0011 (workflows) and 0014 (queue) add on the way up.
	added := map[string][]string{
		rbac.RoleAdmin: {"board:delete", "board:members", "board:publish", "board:update", "image:delete", "image:read", "image:update",
			"workflow:create", "workflow:delete", "workflow:read", "workflow:update", "queue:create", "queue:delete", "queue:read", "queue:update"},
		rbac.RoleAuditor: {"image:read", "workflow:read", "queue:read"},
		rbac.RoleEditor:  {"workflow:create", "workflow:read", "queue:create", "queue:read"},
		rbac.RoleViewer:  {"workflow:read", "queue:read"},
	}
	v9 := map[string][]string{
		rbac.RoleAdmin:   {"board:admin", "board:create", "board:read", "image:create", "workspace:read"},
		rbac.RoleAuditor: {"board:read", "workspace:read"},
		rbac.RoleEditor:  {"board:create", "image:create", "workspace:read"},
		rbac.RoleViewer:  {"workspace:read"},
	}
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := sqlOf(t, open[dialect](t))
			ctx := context.Background()
			if err := migrations.UpTo(ctx, db, dialect, 9); err != nil {
				t.Fatal(err)
			}
			tenant := uuid.New()
			mustExec(t, db, `INSERT INTO tenants (id, slug, name) VALUES ($1, 'v9-tenant', 'V9')`, tenant.String())
			for role, perms := range v9 {
				raw, _ := json.Marshal(perms)
				mustExec(t, db, `INSERT INTO roles (tenant_id, id, name, builtin, permissions) VALUES ($1, $2, $3, true, $4)`,
					tenant.String(), uuid.NewString(), role, string(raw))
				for _, p := range perms {
					mustExec(t, db, `INSERT INTO casbin_rule (ptype, v0, v1, v2) VALUES ('g2', $1, $2, $3)`, role, p, tenant.String())
				}
			}
			mustExec(t, db, `INSERT INTO roles (tenant_id, id, name, builtin, permissions) VALUES ($1, $2, 'admin-lookalike', false, '["board:admin"]')`,
				tenant.String(), uuid.NewString())
			if _, err := migrations.Up(ctx, db, dialect); err != nil {
				t.Fatal(err)
			}
			for role, before := range v9 {
				want := slices.Sorted(slices.Values(append(append([]string{}, before...), added[role]...)))
				var raw string
				if err := db.QueryRowContext(ctx, `SELECT permissions FROM roles WHERE tenant_id = $1 AND name = $2`,
					tenant.String(), role).Scan(&raw); err != nil {
					t.Fatal(err)
				}
				var got []string
				if err := json.Unmarshal([]byte(raw), &got); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s permissions: got %v, want %v", role, got, want)
				}
				rules := stringsOf(t, db, `SELECT v1 FROM casbin_rule WHERE ptype = 'g2' AND v0 = $1 AND v2 = $2 ORDER BY v1`, role, tenant.String())
				if !slices.Equal(rules, want) {
					t.Errorf("%s rules: got %v, want %v", role, rules, want)
				}
			}
			if rules := stringsOf(t, db, `SELECT v1 FROM casbin_rule WHERE ptype = 'g2' AND v0 = 'admin-lookalike' AND v2 = $1`, tenant.String()); len(rules) != 0 {
				t.Errorf("a custom role gained rules: %v", rules)
			}
		})
	}
}
