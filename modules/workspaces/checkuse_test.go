package workspaces_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/atelier-hq/atelier/rbac"
)

// What was checked is what is changed: a delete decided on the workspace's place in the tree
// must not go ahead when a concurrent move, committed while the delete waited for the tree lock,
// took the workspace out of the caller's reach. The test holds the tree lock, lets the delete
// pass its first check and queue behind the lock, moves the workspace under msa/rocket (where
// the caller holds nothing) in the lock-holding transaction, and releases it.
func TestWorkspaces_deleteDecidesOnTheTreeAsItIsUnderTheLock(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	suitAdmin := tr.member(t)
	tr.mustGrant(t, "msa/suit", suitAdmin.ID, rbac.RoleAdmin)
	andromeda, rocket := tr.ws["msa/suit/andromeda"], tr.ws["msa/rocket"]

	db, err := sql.Open("pgx", tr.env.Cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback() //nolint:errcheck
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7305003, hashtext($1))`, tr.a.ID.String()); err != nil {
		t.Fatalf("take the tree lock: %v", err)
	}

	done := make(chan int, 1)
	go func() {
		r := tr.env.Do(http.MethodDelete, wsPath+"/"+ref("msa/suit/andromeda"), suitAdmin.Token, nil)
		done <- r.Status
	}()
	// Wait until the delete is queued behind the lock (its first check passed).
	for {
		var waiting int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case s := <-done:
			t.Fatalf("the delete answered %d before it reached the tree lock", s)
		case <-ctx.Done():
			t.Fatal("the delete never waited for the tree lock")
		case <-time.After(10 * time.Millisecond):
		}
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE workspaces SET parent_id = $1, path = 'msa/rocket/andromeda' WHERE tenant_id = $2 AND id = $3`,
			[]any{rocket.ID, tr.a.ID, andromeda.ID}},
		{`UPDATE casbin_rule SET v1 = $1 WHERE ptype = 'g' AND v0 = $2 AND v2 = $3`,
			[]any{rbac.WorkspaceNode(rocket.ID), rbac.WorkspaceNode(andromeda.ID), tr.a.ID.String()}},
	} {
		if _, err := lock.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("move under the lock: %v", err)
		}
	}
	if err := lock.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := <-done; s == http.StatusNoContent {
		t.Fatal("the admin of msa/suit deleted a workspace that had moved under msa/rocket while the delete waited")
	}
	if n := tr.count(t, "workspaces", "id = ?", andromeda.ID); n != 1 {
		t.Fatalf("the moved workspace is gone (%d rows)", n)
	}
}
