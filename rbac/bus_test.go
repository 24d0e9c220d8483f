package rbac_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(apptest.RedisURL())
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s is required: %v", apptest.RedisURL(), err)
	}
	return c
}

// TestEnforcer_revokeReachesEveryProcess is the "new enemy" problem: two API processes (own
// database handle, own Redis client, own enforcer) have the policy cached; a grant revoked
// through one stops working on the other as soon as the announcement arrives there. The test
// waits for the arrival itself (the listener's Forget), then decides once: no polling.
func TestEnforcer_revokeReachesEveryProcess(t *testing.T) {
	t.Parallel()
	_, dsn := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	tenantID := newTenant(t, openDSN(t, dsn))
	type process struct {
		db      *tenancy.DB
		e       *rbac.Enforcer
		arrived chan struct{} // closed once a change of tenantID arrived and was applied
	}
	start := func() process {
		db := openDSN(t, dsn)
		bus := rbac.NewRedisBus(redisClient(t))
		e := newEnforcer(t, db, bus)
		n := &notifyingForgetter{Enforcer: e, tenant: tenantID, arrived: make(chan struct{})}
		if err := bus.Listen(ctx, n, quiet); err != nil {
			t.Fatalf("listen: %v", err)
		}
		return process{db, e, n.arrived}
	}
	p1, p2 := start(), start()
	tr := newTree(t, p1.db, tenantID)
	user := uuid.New()
	grant(t, p1.db, tenantID, user, rbac.RoleViewer, tr.node(tr.A))

	allowed := func(p process) bool {
		t.Helper()
		ok, err := p.e.Allowed(ctx, tenantID, user, tr.node(tr.C), rbac.WorkspaceRead)
		if err != nil {
			t.Fatalf("decide: %v", err)
		}
		return ok
	}
	if !allowed(p1) || !allowed(p2) {
		t.Fatal("before the revoke both processes must allow")
	}
	if p2.e.Loaded() != 1 {
		t.Fatalf("process 2 holds %d tenants' policies, want 1 (cached)", p2.e.Loaded())
	}

	inPolicy(t, p1.db, tenantID, func(p *rbac.Policy) error {
		return p.RevokeUser(user, rbac.RoleViewer, tr.node(tr.A))
	})
	// Committed but not announced: process 2 still answers from its cache, which is what makes
	// the announcement, not a reload per decision, the thing under test.
	if !allowed(p2) {
		t.Fatal("process 2 reloaded without being told; the test would prove nothing")
	}
	announced := time.Now()
	if err := p1.e.Changed(ctx, tenantID); err != nil {
		t.Fatalf("changed: %v", err)
	}
	if allowed(p1) {
		t.Error("process 1 still allows after its own Changed")
	}
	// The bound only keeps a lost announcement from hanging the test.
	select {
	case <-p2.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoke's announcement never reached process 2")
	}
	if allowed(p2) {
		t.Error("process 2 still allows after the revoke's announcement arrived")
	}
	t.Logf("new enemy: the announcement reached process 2 %v after it was sent", time.Since(announced))
}

// notifyingForgetter is the enforcer as the bus sees it, telling the test when a change of its
// tenant has been applied (other tests' tenants share the Redis channel).
type notifyingForgetter struct {
	*rbac.Enforcer
	tenant  uuid.UUID
	arrived chan struct{}
	once    sync.Once
}

func (n *notifyingForgetter) Forget(tenantID uuid.UUID) {
	n.Enforcer.Forget(tenantID)
	if tenantID == n.tenant {
		n.once.Do(func() { close(n.arrived) })
	}
}

// TestEnforcer_changeDuringALoadIsNotCached: a policy load that read the rules before a change
// committed must not be kept once the change is announced, nor handed to callers who ask after
// the announcement; otherwise a revoked grant keeps working until the next change.
func TestEnforcer_changeDuringALoadIsNotCached(t *testing.T) {
	t.Parallel()
	db, dsn := openDB(t)
	writer := openDSN(t, dsn)
	tenantID := newTenant(t, writer)
	user := uuid.New()
	grant(t, writer, tenantID, user, rbac.RoleAdmin, rbac.Root)

	// Pause the enforcer's next load right after its query of the rules has run (the grant's
	// link is in what it read: the statement's snapshot is taken).
	var armed atomic.Bool
	paused, resume := make(chan struct{}), make(chan struct{})
	readsRules := func(g *gorm.DB) bool {
		return strings.Contains(g.Statement.SQL.String(), "FROM "+rbac.RulesTable)
	}
	err := db.Raw().Callback().Row().After("gorm:row").Register("test:pause_rules_load", func(g *gorm.DB) {
		if readsRules(g) && armed.CompareAndSwap(true, false) {
			close(paused)
			<-resume
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnforcer(t, db, nil)
	ctx := context.Background()
	decide := func() (bool, error) { return e.Allowed(ctx, tenantID, user, rbac.Root, rbac.TenantRead) }

	armed.Store(true)
	early := make(chan bool, 1)
	go func() {
		ok, err := decide()
		if err != nil {
			t.Errorf("early decision: %v", err)
		}
		early <- ok
	}()
	select {
	case <-paused:
	case <-time.After(10 * time.Second):
		t.Fatal("the policy load never read the rules")
	}

	inPolicy(t, writer, tenantID, func(p *rbac.Policy) error { return p.RevokeUser(user, rbac.RoleAdmin, rbac.Root) })
	if err := e.Changed(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	late := make(chan bool, 1)
	go func() {
		ok, err := decide()
		if err != nil {
			t.Errorf("late decision: %v", err)
		}
		late <- ok
	}()
	// The paused load stays paused until the late decision is answered: a late caller that
	// (wrongly) joined it would block here, so it must be answered on its own load.
	select {
	case ok := <-late:
		if ok {
			t.Error("a decision asked after the announced revoke was answered from a stale load")
		}
	case <-time.After(10 * time.Second):
		t.Error("a decision asked after the announced revoke waited for the load paused before it")
	}
	close(resume)
	<-early // asked before the revoke: either answer is fair
	if ok, err := decide(); err != nil || ok {
		t.Errorf("after the revoke the user is still allowed (%v, %v): the stale load was cached", ok, err)
	}
}
