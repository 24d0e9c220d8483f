package tenancy_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/tenancy"
)

// seededTables are the tenant tables seedRLS fills for both tenants.
var seededTables = []string{"users", "refresh_tokens", "workspaces", "casbin_rule"}

// seedRLS inserts two tenants with two rows in every seeded table each, as the login role
// (which bypasses RLS), and returns their ids.
func seedRLS(t *testing.T, admin *sql.DB) (a, b uuid.UUID) {
	t.Helper()
	seed := func(label string) uuid.UUID {
		tid := uuid.New()
		type stmt struct {
			sql  string
			args []any
		}
		stmts := []stmt{
			{`INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)`, []any{tid, "rls-" + tid.String()[:8], label}},
		}
		users := []uuid.UUID{uuid.New(), uuid.New()}
		for i, u := range users {
			stmts = append(stmts, stmt{`INSERT INTO users (tenant_id, id, email, password_hash, display_name) VALUES ($1, $2, $3, 'h', $4)`,
				[]any{tid, u, fmt.Sprintf("u%d@%s.test", i, label), label}})
			stmts = append(stmts, stmt{`INSERT INTO refresh_tokens (tenant_id, id, user_id, family_id, secret_hash, expires_at)
				VALUES ($1, $2, $3, $4, '\x00'::bytea, now() + interval '1 day')`,
				[]any{tid, uuid.New(), u, uuid.New()}})
		}
		root := uuid.New()
		stmts = append(stmts,
			stmt{`INSERT INTO workspaces (tenant_id, id, slug, name, path) VALUES ($1, $2, 'default', 'Default', 'default')`,
				[]any{tid, root}},
			stmt{`INSERT INTO workspaces (tenant_id, id, parent_id, slug, name, path) VALUES ($1, $2, $3, 'child', 'Child', 'default/child')`,
				[]any{tid, uuid.New(), root}},
			stmt{`INSERT INTO casbin_rule (ptype, v0, v1) VALUES ('p', $1, 'admin'), ('p', $1, 'viewer')`,
				[]any{tid.String()}},
		)
		for _, s := range stmts {
			if _, err := admin.Exec(s.sql, s.args...); err != nil {
				t.Fatalf("seed %s: %s: %v", label, s.sql, err)
			}
		}
		return tid
	}
	return seed("A"), seed("B")
}

// countOf counts a table's rows of one tenant as the login role.
func countOf(t *testing.T, admin *sql.DB, table string, tenantID uuid.UUID) int64 {
	t.Helper()
	var n int64
	if err := admin.QueryRow(`SELECT count(*) FROM `+table+` WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// tenantTables lists every table of the schema that has a tenant_id column.
func tenantTables(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), `
		SELECT c.relname
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
		  -- public_boards is the deliberate cross-tenant index of published boards (ids only,
		  -- public by definition), read by the anonymous endpoint before any tenant is known.
		  AND c.relname <> 'public_boards'
		ORDER BY c.relname`)
	if err != nil {
		t.Fatalf("list tenant tables: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list tenant tables: %v", err)
	}
	for _, want := range seededTables {
		if !slices.Contains(out, want) {
			t.Fatalf("tenant tables %v lack %s: the catalog query is wrong", out, want)
		}
	}
	return out
}

// TestRLS_unscopedSQLInTxOnlyReachesTheTxTenant: SQL that forgets its tenant entirely, run in
// A's Tx, sees and changes A's rows only; row-level security is what scopes it.
func TestRLS_unscopedSQLInTxOnlyReachesTheTxTenant(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, admin *sql.DB, a, b uuid.UUID)
	cases := []struct {
		name string
		run  func(tx *gorm.DB) (int64, error)
		want int64
		then check
	}{
		{"select count(*) from users", func(tx *gorm.DB) (int64, error) {
			var n int64
			return n, tx.Raw(`SELECT count(*) FROM users`).Scan(&n).Error
		}, 2, nil},
		{"select count(*) from every seeded table", func(tx *gorm.DB) (int64, error) {
			var total int64
			for _, table := range seededTables {
				var n int64
				if err := tx.Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
					return 0, err
				}
				total += n
			}
			return total, nil
		}, 8, nil},
		{"update users set display_name = 'x'", func(tx *gorm.DB) (int64, error) {
			res := tx.Exec(`UPDATE users SET display_name = 'x'`)
			return res.RowsAffected, res.Error
		}, 2, func(t *testing.T, admin *sql.DB, a, b uuid.UUID) {
			var renamedA, renamedB int64
			err := admin.QueryRow(`SELECT count(*) FILTER (WHERE tenant_id = $1 AND display_name = 'x'),
				count(*) FILTER (WHERE tenant_id = $2 AND display_name = 'x') FROM users`, a, b).Scan(&renamedA, &renamedB)
			if err != nil {
				t.Fatal(err)
			}
			if renamedA != 2 || renamedB != 0 {
				t.Errorf("renamed rows: A %d (want 2), B %d (want 0)", renamedA, renamedB)
			}
		}},
		{"delete from workspaces", func(tx *gorm.DB) (int64, error) {
			res := tx.Exec(`DELETE FROM workspaces`)
			return res.RowsAffected, res.Error
		}, 2, func(t *testing.T, admin *sql.DB, a, b uuid.UUID) {
			if na, nb := countOf(t, admin, "workspaces", a), countOf(t, admin, "workspaces", b); na != 0 || nb != 2 {
				t.Errorf("workspaces left: A %d (want 0), B %d (want 2)", na, nb)
			}
		}},
		{"delete from casbin_rule", func(tx *gorm.DB) (int64, error) {
			res := tx.Exec(`DELETE FROM casbin_rule`)
			return res.RowsAffected, res.Error
		}, 2, func(t *testing.T, admin *sql.DB, a, b uuid.UUID) {
			if na, nb := countOf(t, admin, "casbin_rule", a), countOf(t, admin, "casbin_rule", b); na != 0 || nb != 2 {
				t.Errorf("rules left: A %d (want 0), B %d (want 2)", na, nb)
			}
		}},
	}
	// One database; each case gets its own pair of tenants, so earlier cases' tenants are
	// bystanders too and must be just as invisible.
	db := openPostgres(t)
	admin := sqlOf(t, db)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := seedRLS(t, admin)
			var got int64
			err := db.Tx(tenancy.WithTenant(context.Background(), a), func(tx *gorm.DB) error {
				var err error
				got, err = c.run(tx)
				return err
			})
			if err != nil {
				t.Fatalf("run in A's Tx: %v", err)
			}
			if got != c.want {
				t.Errorf("rows seen or affected = %d, want %d (tenant A's only)", got, c.want)
			}
			if c.then != nil {
				c.then(t, admin, a, b)
			}
			for _, table := range seededTables {
				if n := countOf(t, admin, table, b); n != 2 {
					t.Errorf("tenant B's %s: %d rows, want 2", table, n)
				}
			}
		})
	}
}

// TestRLS_insertOfAnotherTenantsRowIsRejected: WITH CHECK stops raw SQL in A's Tx from writing
// a row into B.
func TestRLS_insertOfAnotherTenantsRowIsRejected(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	admin := sqlOf(t, db)
	a, b := seedRLS(t, admin)
	err := db.Tx(tenancy.WithTenant(context.Background(), a), func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO users (tenant_id, id, email, password_hash) VALUES (?, ?, 'x@b.test', 'h')`,
			b, uuid.New()).Error
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Fatalf("insert of B's row in A's Tx: err = %v, want a row-level security violation", err)
	}
	if n := countOf(t, admin, "users", b); n != 2 {
		t.Errorf("tenant B has %d users, want 2", n)
	}
}

// TestRLS_appRoleWithoutTenantSeesNothing: a session that is atelier_app but never said which
// tenant it serves (or said "") sees no row of any tenant table and can write none.
func TestRLS_appRoleWithoutTenantSeesNothing(t *testing.T) {
	t.Parallel()
	dsn := apptest.NewDatabase(t)
	db := openPostgresDSN(t, dsn, 2)
	a, _ := seedRLS(t, sqlOf(t, db))
	// A pool of its own: the session's role must not leak into a pool anything else uses.
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	ctx := context.Background()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	tables := tenantTables(t, conn)
	for _, table := range seededTables {
		var n int64
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n == 0 {
			t.Fatalf("login role sees %d rows of %s (%v): the seed is missing", n, table, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `SET ROLE `+tenancy.AppRole); err != nil {
		t.Fatalf("set role: %v", err)
	}
	for _, setting := range []struct {
		name string
		sql  string
	}{
		{"app.tenant_id never set", ``},
		{"app.tenant_id empty", `SELECT set_config('app.tenant_id', '', false)`},
	} {
		if setting.sql != "" {
			if _, err := conn.ExecContext(ctx, setting.sql); err != nil {
				t.Fatalf("%s: %v", setting.name, err)
			}
		}
		for _, table := range tables {
			var n int64
			err := conn.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42501" {
				continue // not even readable by the app role: it sees nothing either
			}
			if err != nil {
				t.Errorf("%s: count %s: %v", setting.name, table, err)
				continue
			}
			if n != 0 {
				t.Errorf("%s: atelier_app sees %d rows of %s, want 0", setting.name, n, table)
			}
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO users (tenant_id, id, email, password_hash) VALUES ($1, $2, 'x@a.test', 'h')`,
			a, uuid.New())
		if err == nil || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("%s: insert as atelier_app: err = %v, want a row-level security violation", setting.name, err)
		}
	}
}

// TestRLS_everyTenantTableForcesATenantPolicy guards future tables: each table with tenant_id
// has row-level security enabled and forced, at least one policy, and only policies keyed on
// app.tenant_id (a second, looser permissive policy would open the table).
func TestRLS_everyTenantTableForcesATenantPolicy(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	admin := sqlOf(t, db)
	for _, table := range tenantTables(t, admin) {
		var enabled, forced bool
		var policies, foreign int64
		err := admin.QueryRow(`
			SELECT c.relrowsecurity, c.relforcerowsecurity,
			       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
			       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND NOT (
			            coalesce(pg_get_expr(p.polqual, p.polrelid), '') LIKE '%current_setting(''app.tenant_id''%'
			        AND coalesce(pg_get_expr(p.polwithcheck, p.polrelid), pg_get_expr(p.polqual, p.polrelid), '')
			                LIKE '%current_setting(''app.tenant_id''%'))
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relname = $1`, table).Scan(&enabled, &forced, &policies, &foreign)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if !enabled || !forced {
			t.Errorf("%s: row security enabled=%v forced=%v, want both", table, enabled, forced)
		}
		if policies == 0 {
			t.Errorf("%s: no row-level security policy", table)
		}
		if foreign != 0 {
			t.Errorf("%s: %d policies not keyed on app.tenant_id", table, foreign)
		}
	}
}

// TestRLS_appRoleIsUnprivileged: atelier_app is no superuser, does not bypass RLS (nor through a
// role it belongs to) and owns nothing, so FORCE is not needed to hold it.
func TestRLS_appRoleIsUnprivileged(t *testing.T) {
	t.Parallel()
	db := openPostgres(t)
	admin := sqlOf(t, db)
	var super, bypass bool
	if err := admin.QueryRow(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, tenancy.AppRole).
		Scan(&super, &bypass); err != nil {
		t.Fatalf("look up %s: %v", tenancy.AppRole, err)
	}
	if super || bypass {
		t.Errorf("%s: superuser=%v bypassrls=%v, want neither", tenancy.AppRole, super, bypass)
	}
	checks := []struct {
		name string
		sql  string
	}{
		{"privileged roles it is a member of", `
			SELECT count(*) FROM pg_roles r
			WHERE r.rolname <> $1 AND (r.rolsuper OR r.rolbypassrls) AND pg_has_role($1, r.oid, 'MEMBER')`},
		{"relations it owns", `SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`},
		{"schemas it owns", `SELECT count(*) FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`},
		{"functions it owns", `SELECT count(*) FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`},
	}
	for _, c := range checks {
		var n int64
		if err := admin.QueryRow(c.sql, tenancy.AppRole).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n != 0 {
			t.Errorf("%s: %d, want 0", c.name, n)
		}
	}
}

// TestTx_setLocalDiesWithTheTransaction: on a pool of one connection, the role and tenant a Tx
// set are gone once it ends (commit or rollback), and the next Tx sets its own.
func TestTx_setLocalDiesWithTheTransaction(t *testing.T) {
	t.Parallel()
	db := openPostgresDSN(t, apptest.NewDatabase(t), 1)
	pool := sqlOf(t, db)
	pool.SetMaxOpenConns(1)
	a, b := seedRLS(t, pool)
	type session struct {
		pid     int64
		user    string
		login   string
		tenant  sql.NullString
		visible int64
	}
	const probe = `SELECT pg_backend_pid(), current_user, session_user, current_setting('app.tenant_id', true),
		(SELECT count(*) FROM users)`
	inTx := func(tenantID uuid.UUID, fail bool) session {
		t.Helper()
		var s session
		errRollback := fmt.Errorf("roll back")
		err := db.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
			if err := tx.Raw(probe).Row().Scan(&s.pid, &s.user, &s.login, &s.tenant, &s.visible); err != nil {
				return err
			}
			if fail {
				return errRollback
			}
			return nil
		})
		if fail && err != errRollback || !fail && err != nil {
			t.Fatalf("Tx: %v", err)
		}
		return s
	}
	outside := func() session {
		t.Helper()
		var s session
		if err := pool.QueryRow(probe).Scan(&s.pid, &s.user, &s.login, &s.tenant, &s.visible); err != nil {
			t.Fatalf("query outside Tx: %v", err)
		}
		return s
	}
	for _, c := range []struct {
		name string
		fail bool
	}{{"commit", false}, {"rollback", true}} {
		in := inTx(a, c.fail)
		if in.user != tenancy.AppRole || in.tenant.String != a.String() || in.visible != 2 {
			t.Errorf("%s: in A's Tx: user %q tenant %q sees %d users; want %s, %s, 2",
				c.name, in.user, in.tenant.String, in.visible, tenancy.AppRole, a)
		}
		out := outside()
		if out.pid != in.pid {
			t.Fatalf("%s: the pool of one used backend %d then %d", c.name, in.pid, out.pid)
		}
		if out.user != out.login || out.user == tenancy.AppRole {
			t.Errorf("%s: after the Tx current_user = %q, want the login role %q", c.name, out.user, out.login)
		}
		if out.tenant.Valid && out.tenant.String != "" {
			t.Errorf("%s: after the Tx app.tenant_id = %q, want empty", c.name, out.tenant.String)
		}
		next := inTx(b, false)
		if next.pid != in.pid || next.tenant.String != b.String() || next.visible != 2 {
			t.Errorf("%s: B's Tx on backend %d: tenant %q sees %d users; want backend %d, %s, 2",
				c.name, next.pid, next.tenant.String, next.visible, in.pid, b)
		}
	}
}
