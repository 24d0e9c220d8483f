package events

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// These tests run the hub against the real test Redis with stand-ins for rbac and the
// credential checks; app/events_*_test.go run it inside the product, on two nodes.

func redisClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s is required: %v", url, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// fakeAuthz allows the listed (user, workspace node, action) triples.
type fakeAuthz struct {
	mu    sync.Mutex
	allow map[string]bool
}

func (f *fakeAuthz) grant(user uuid.UUID, ws uuid.UUID, a rbac.Action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.allow == nil {
		f.allow = map[string]bool{}
	}
	f.allow[user.String()+rbac.WorkspaceNode(ws)+string(a)] = true
}

func (f *fakeAuthz) Allowed(_ context.Context, _, user uuid.UUID, node string, a rbac.Action) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.allow[user.String()+node+string(a)], nil
}

// fakeLive refuses the principals of the listed users.
type fakeLive struct {
	mu    sync.Mutex
	ended map[uuid.UUID]bool
	calls int
}

func (f *fakeLive) end(user uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == nil {
		f.ended = map[uuid.UUID]bool{}
	}
	f.ended[user] = true
}

func (f *fakeLive) Live(_ context.Context, p tenancy.Principal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.ended[p.UserID] {
		return apierr.Unauthorized()
	}
	return nil
}

// node is one hub (one API node) on the shared Redis.
type node struct {
	*Hub
	authz *fakeAuthz
	live  *fakeLive
}

func newNode(t testing.TB, cfg Config) *node {
	t.Helper()
	n := &node{authz: &fakeAuthz{}, live: &fakeLive{}}
	// Long intervals: a test that wants a liveness pass or a heartbeat asks for it.
	if cfg.LivenessInterval == 0 {
		cfg.LivenessInterval = time.Hour
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Hour
	}
	n.Hub = NewHub(redisClient(t), n.authz, n.live, cfg, nil)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func session(tenant uuid.UUID) tenancy.Principal {
	return tenancy.Principal{TenantID: tenant, UserID: uuid.New(), Kind: tenancy.CredentialSession, SessionID: uuid.New()}
}

// open issues a ticket as p on issuer and opens the stream with it on n.
func (n *node) open(t testing.TB, issuer *node, p tenancy.Principal) *Stream {
	t.Helper()
	tk, err := issuer.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
	if err != nil {
		t.Fatal(err)
	}
	st, err := n.Open(context.Background(), tk.Ticket, 0, false)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// next is the next event the stream was offered, failing after a generous bound (it is a
// bound on a failure, not a wait: the event normally arrives in microseconds).
func next(t testing.TB, st *Stream) *frame {
	t.Helper()
	select {
	case f := <-st.sub.ch:
		return f
	case <-st.sub.done:
		t.Fatalf("stream ended (%s) while an event was expected", st.sub.why)
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return nil
}

// waitEnded waits until the stream is ended and returns the reason.
func waitEnded(t testing.TB, st *Stream) string {
	t.Helper()
	select {
	case <-st.sub.done:
		return st.sub.why
	case <-time.After(5 * time.Second):
		t.Fatal("stream not ended within 5 s")
	}
	return ""
}

func publish(t testing.TB, n *node, e Event) {
	t.Helper()
	if err := n.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func marker(tenant uuid.UUID, label string) Event {
	return Event{TenantID: tenant, Name: "queue_counts", Data: map[string]string{"marker": label}, TenantWide: true}
}
