package rbac_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// clock is a time the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A revocation whose pub/sub message never arrived (Redis reconnecting, a node that missed it)
// stops counting within the recheck interval all the same: the node compares the policy version
// it holds with the database's, which the revoking transaction moved forward.
func TestEnforcer_lostInvalidationStillEndsARevokedGrantWithinTheRecheck(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	tr := newTree(t, db, tenantID)
	user := uuid.New()
	grant(t, db, tenantID, user, rbac.RoleEditor, tr.node(tr.A))

	// A node with no bus at all: it never hears of a change.
	deaf := newEnforcer(t, db, nil)
	clk := newClock()
	deaf.SetClock(clk.Now)
	ctx := context.Background()
	allowed := func() bool {
		t.Helper()
		ok, err := deaf.Allowed(ctx, tenantID, user, tr.node(tr.B), rbac.WorkspaceUpdate)
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
		return ok
	}
	if !allowed() {
		t.Fatal("editor on a may not update a/b before the revocation")
	}
	inPolicy(t, db, tenantID, func(p *rbac.Policy) error { return p.RevokeUser(user, rbac.RoleEditor, tr.node(tr.A)) })

	clk.Add(rbac.DefaultRecheck / 2)
	_ = allowed() // within the interval the loaded policy may still be used: at most one interval stale
	clk.Add(rbac.DefaultRecheck)
	if allowed() {
		t.Fatal("a revoked grant still counts one recheck interval after the revocation, with the change message lost")
	}
}

// A decision made inside a write transaction reads that transaction's uncommitted policy rows: it
// serves that decision only, and a rollback leaves nothing of it in the cache.
func TestEnforcer_policyLoadedInsideAWriteTransactionIsNeverCached(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	tr := newTree(t, db, tenantID)
	user := uuid.New()
	e := newEnforcer(t, db, nil)
	ctx, unit := db.BeginUnit(tenancy.WithTenant(context.Background(), tenantID), false)
	defer unit.End()

	errRollback := errors.New("roll back")
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if err := p.GrantUser(user, rbac.RoleAdmin, rbac.Root); err != nil {
			return err
		}
		ok, err := e.Allowed(ctx, tenantID, user, tr.node(tr.C), rbac.WorkspaceDelete)
		if err != nil {
			return err
		}
		if !ok {
			t.Error("inside the granting transaction the grant does not count")
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("transaction: %v", err)
	}
	if ok, err := e.Allowed(context.Background(), tenantID, user, tr.node(tr.C), rbac.WorkspaceDelete); err != nil || ok {
		t.Fatalf("after the rollback the uncommitted grant still counts (allowed=%v, err=%v)", ok, err)
	}
}

// A request whose snapshot was begun before a revocation committed, and whose decision loads the
// policy after this process heard of it, reads the old grant (its snapshot holds it) — but that
// load is kept for nobody else: a request begun after the revocation is refused at once, not one
// recheck interval later.
func TestEnforcer_aLoadFromASnapshotOlderThanAChangeIsNotCached(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	tr := newTree(t, db, tenantID)
	user := uuid.New()
	grant(t, db, tenantID, user, rbac.RoleEditor, tr.node(tr.A))
	e := newEnforcer(t, db, nil)
	e.SetClock(newClock().Now) // the recheck interval never passes: only the cache rules count

	allowed := func(ctx context.Context) bool {
		t.Helper()
		ok, err := e.Allowed(ctx, tenantID, user, tr.node(tr.B), rbac.WorkspaceUpdate)
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
		return ok
	}
	// The old request takes its snapshot (any statement), then the grant is revoked and this
	// process hears of it (Changed calls Forget after the commit).
	oldCtx, oldUnit := db.BeginUnit(tenancy.WithTenant(context.Background(), tenantID), true)
	defer oldUnit.End()
	if err := db.ReadTx(oldCtx, func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error }); err != nil {
		t.Fatal(err)
	}
	inPolicy(t, db, tenantID, func(p *rbac.Policy) error { return p.RevokeUser(user, rbac.RoleEditor, tr.node(tr.A)) })
	e.Forget(tenantID)

	if !allowed(oldCtx) {
		t.Error("the request begun before the revocation does not see the grant its snapshot holds")
	}
	newCtx, newUnit := db.BeginUnit(tenancy.WithTenant(context.Background(), tenantID), true)
	defer newUnit.End()
	if allowed(newCtx) {
		t.Fatal("a request begun after the revocation was decided on a policy loaded from an older snapshot")
	}
}
