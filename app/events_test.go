package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/tokens"
	"github.com/atelier-hq/atelier/tenancy"
)

// eventsWorld is two API nodes on one PostgreSQL database and one Redis: tenant A with a
// workspace, its owner-to-be user A, user B, a workspace admin and the tenant admin; tenant B.
type eventsWorld struct {
	n1, n2             *apptest.Env
	a, b               apptest.Tenant
	ws                 uuid.UUID
	userA, userB, wsAd apptest.User
}

func newEventsWorld(t *testing.T) *eventsWorld {
	t.Helper()
	n1 := apptest.Start(t)
	n2 := n1.Peer(t)
	w := &eventsWorld{n1: n1, n2: n2, a: n1.SignUp(t), b: n1.SignUp(t)}
	r := n1.Do(http.MethodPost, "/api/v1/workspaces", w.a.Admin.Token, map[string]string{"name": "Studio", "slug": "studio"})
	if r.Status != http.StatusCreated {
		t.Fatalf("workspace: %d %s", r.Status, r.Body)
	}
	var ws struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &ws)
	w.ws = ws.ID
	w.userA = n1.NewUser(t, w.a, "member")
	w.userB = n1.NewUser(t, w.a, "member")
	w.wsAd = n1.NewUser(t, w.a, "member")
	for _, g := range []struct {
		u    apptest.User
		role string
	}{{w.userA, "editor"}, {w.userB, "editor"}, {w.wsAd, "admin"}} {
		r := n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/grants", w.a.Admin.Token,
			map[string]any{"subject_type": "user", "subject_id": g.u.ID, "role": g.role})
		if r.Status != http.StatusCreated {
			t.Fatalf("grant: %d %s", r.Status, r.Body)
		}
	}
	return w
}

// stream mints a ticket on the node `via` with the bearer credential and opens the stream on
// node `on`, waiting for its ready event.
func stream(t *testing.T, via, on *apptest.Env, bearer string) *apptest.SSE {
	t.Helper()
	r := via.Do(http.MethodPost, "/api/v1/events/ticket", bearer, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("ticket: %d %s", r.Status, r.Body)
	}
	var tk events.Ticket
	r.JSON(t, &tk)
	s := apptest.OpenSSE(t, on.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil)
	if s.Status != http.StatusOK {
		t.Fatalf("open stream: %d %s", s.Status, s.Body)
	}
	if ev := s.Next(t); ev.Name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	return s
}

func publishOn(t *testing.T, n *apptest.Env, e events.Event) {
	t.Helper()
	if err := n.App.Events.Publish(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func dataOf(t *testing.T, ev apptest.SSEEvent) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatalf("event data %q: %v", ev.Data, err)
	}
	return v
}

// Two API nodes: an item event published on node 1 for user A reaches A's streams on both nodes
// and the workspace and tenant admins' streams, never user B's of the same tenant nor anyone's
// of another tenant. The absence is proven by order: a tenant-wide marker published after the
// item event arrives first on the streams that must not see it.
func TestEvents_twoNodes_itemEventsReachOwnerAndAdminsOnly(t *testing.T) {
	w := newEventsWorld(t)
	type sub struct {
		name     string
		s        *apptest.SSE
		seesItem bool
	}
	subs := []sub{
		{"A on node 2", stream(t, w.n1, w.n2, w.userA.Token), true},
		{"A on node 1", stream(t, w.n2, w.n1, w.userA.Token), true},
		{"workspace admin on node 2", stream(t, w.n1, w.n2, w.wsAd.Token), true},
		{"tenant admin on node 1", stream(t, w.n1, w.n1, w.a.Admin.Token), true},
		{"B on node 2", stream(t, w.n1, w.n2, w.userB.Token), false},
		{"B on node 1", stream(t, w.n1, w.n1, w.userB.Token), false},
		{"other tenant's admin on node 2", stream(t, w.n1, w.n2, w.b.Admin.Token), false},
	}
	publishOn(t, w.n1, events.Event{TenantID: w.a.ID, Name: "queue_item", UserID: w.userA.ID, WorkspaceID: w.ws,
		Data: map[string]any{"status": "completed", "field_values": "A's prompt"}})
	publishOn(t, w.n1, events.Event{TenantID: w.a.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{"pending": 1}})
	publishOn(t, w.n1, events.Event{TenantID: w.b.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{"pending": 7}})
	for _, s := range subs {
		ev := s.s.Next(t)
		if s.seesItem {
			if ev.Name != "queue_item" || dataOf(t, ev)["field_values"] != "A's prompt" || ev.ID == "" {
				t.Errorf("%s: got %+v, want A's item event", s.name, ev)
				continue
			}
			ev = s.s.Next(t)
		}
		if ev.Name != "queue_counts" {
			t.Errorf("%s: got %+v, want the tenant-wide counts (and never A's item event)", s.name, ev)
		}
		want := 1.0
		if strings.HasPrefix(s.name, "other tenant") {
			want = 7
		}
		if got := dataOf(t, ev)["pending"]; got != want {
			t.Errorf("%s: counts %v, want its own tenant's %v", s.name, got, want)
		}
	}
}

// A disabled user's streams close within a second on the node where nothing happened; a
// logged-out session's stream closes too; other users' streams stay open. The liveness
// backstop runs every 30 s here, so the close comes from the Redis notice.
func TestEvents_twoNodes_disabledUsersStreamCloses(t *testing.T) {
	w := newEventsWorld(t)
	aOn2 := stream(t, w.n1, w.n2, w.userA.Token)
	aOn1 := stream(t, w.n1, w.n1, w.userA.Token)
	bOn2 := stream(t, w.n1, w.n2, w.userB.Token)
	ticketLater := w.n1.Do(http.MethodPost, "/api/v1/events/ticket", w.userA.Token, nil)

	start := time.Now()
	r := w.n1.Do(http.MethodPatch, "/api/v1/users/"+w.userA.ID.String(), w.a.Admin.Token, map[string]bool{"disabled": true})
	if r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	for name, s := range map[string]*apptest.SSE{"node 2": aOn2, "node 1": aOn1} {
		got := s.WaitClosed(t)
		elapsed := time.Since(start)
		if elapsed > time.Second {
			t.Errorf("%s: the disabled user's stream closed after %s, want within a second", name, elapsed)
		}
		if len(got) == 0 || got[len(got)-1].Name != "end" || !strings.Contains(got[len(got)-1].Data, "credentials") {
			t.Errorf("%s: last events %+v, want an end event naming the credentials", name, got)
		}
	}
	// A ticket minted before the user was disabled no longer opens a stream.
	var tk events.Ticket
	ticketLater.JSON(t, &tk)
	if s := apptest.OpenSSE(t, w.n2.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil); s.Status != http.StatusUnauthorized ||
		!bytes.Contains(s.Body, []byte(`"code":"unauthorized"`)) {
		t.Errorf("ticket of a since-disabled user: %d %s, want 401 in the error shape", s.Status, s.Body)
	}

	// Logout ends the session's stream on the other node.
	r = w.n1.Do(http.MethodPost, "/api/v1/auth/logout", w.userB.Token, map[string]any{})
	if r.Status >= 300 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if got := bOn2.WaitClosed(t); len(got) == 0 || got[len(got)-1].Name != "end" {
		t.Errorf("logged-out session's stream: %+v", got)
	}
	// The admin's stream is untouched.
	admin := stream(t, w.n1, w.n2, w.a.Admin.Token)
	publishOn(t, w.n2, events.Event{TenantID: w.a.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{"pending": 0}})
	if ev := admin.Next(t); ev.Name != "queue_counts" {
		t.Errorf("admin got %+v", ev)
	}
}

// Resuming on the other node: a client that reconnects with last_event_id (or the
// Last-Event-ID header) gets what it missed from the node's buffer.
func TestEvents_twoNodes_resumeOnTheOtherNode(t *testing.T) {
	w := newEventsWorld(t)
	s := stream(t, w.n1, w.n1, w.userA.Token)
	publishOn(t, w.n1, events.Event{TenantID: w.a.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{"pending": 1}})
	last := s.Next(t).ID
	s.Close()
	// A stream that watches the tenant tells when node 2 has both events.
	watch := stream(t, w.n1, w.n2, w.a.Admin.Token)
	publishOn(t, w.n2, events.Event{TenantID: w.a.ID, Name: "queue_item", UserID: w.userA.ID, WorkspaceID: w.ws, Data: map[string]int{"progress": 50}})
	publishOn(t, w.n2, events.Event{TenantID: w.a.ID, Name: "queue_item", UserID: w.userB.ID, WorkspaceID: w.ws, Data: map[string]int{"progress": 99}})
	watch.Next(t)
	watch.Next(t)

	r := w.n1.Do(http.MethodPost, "/api/v1/events/ticket", w.userA.Token, nil)
	var tk events.Ticket
	r.JSON(t, &tk)
	resumed := apptest.OpenSSE(t, w.n2.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket)+"&last_event_id="+last, nil)
	if resumed.Status != http.StatusOK {
		t.Fatalf("resume: %d %s", resumed.Status, resumed.Body)
	}
	resumed.NextNamed(t, "ready")
	if ev := resumed.Next(t); ev.Name != "queue_item" || dataOf(t, ev)["progress"] != 50.0 {
		t.Errorf("replayed %+v, want A's missed item event", ev)
	}
	publishOn(t, w.n1, events.Event{TenantID: w.a.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{"pending": 2}})
	if ev := resumed.Next(t); ev.Name != "queue_counts" {
		t.Errorf("after the replay got %+v, want the live counts (B's item event is never replayed to A)", ev)
	}

	// A malformed Last-Event-ID is a 400 naming it, and does not use the ticket up.
	r = w.n1.Do(http.MethodPost, "/api/v1/events/ticket", w.userA.Token, nil)
	r.JSON(t, &tk)
	bad := apptest.OpenSSE(t, w.n2.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), http.Header{"Last-Event-Id": {"x"}})
	if bad.Status != http.StatusBadRequest || !bytes.Contains(bad.Body, []byte("Last-Event-ID")) {
		t.Errorf("malformed Last-Event-ID: %d %s", bad.Status, bad.Body)
	}
	if ok := apptest.OpenSSE(t, w.n2.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil); ok.Status != http.StatusOK {
		t.Errorf("the ticket after a refused malformed request: %d %s", ok.Status, ok.Body)
	}
}

// The ticket never reaches the access log: the logger records the path without its query, for
// the stream that opened and for the refused reuse.
func TestEvents_ticketNeverInAccessLog(t *testing.T) {
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := apptest.StartWithLog(t, apptest.Config(t), log)
	tn := env.SignUp(t)
	r := env.Do(http.MethodPost, "/api/v1/events/ticket", tn.Admin.Token, nil)
	var tk events.Ticket
	r.JSON(t, &tk)
	s := apptest.OpenSSE(t, env.URL(), "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), nil)
	if s.Status != http.StatusOK {
		t.Fatalf("stream: %d %s", s.Status, s.Body)
	}
	s.NextNamed(t, "ready")
	s.Close()
	if again := env.Do(http.MethodGet, "/api/v1/events?ticket="+url.QueryEscape(tk.Ticket), "", nil); again.Status != http.StatusUnauthorized {
		t.Fatalf("reuse: %d", again.Status)
	}
	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	secret := tk.Ticket[len("evt_")+32:]
	if strings.Contains(logged, secret) {
		t.Errorf("the ticket is in the log:\n%s", logged)
	}
	if n := strings.Count(logged, `"path":"/api/v1/events"`); n < 2 {
		t.Errorf("%d access log lines for the stream, want 2 (opened, refused reuse):\n%s", n, logged)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// A personal access token about to expire is announced to its owner only, as an event.
func TestEvents_tokenExpiryNoticeReachesItsOwnerOnly(t *testing.T) {
	env := apptest.Start(t)
	tn := env.SignUp(t)
	owner := env.NewUser(t, tn, "member")
	r := env.Do(http.MethodPost, "/api/v1/me/tokens", owner.Token, map[string]any{"name": "ci"})
	if r.Status != http.StatusCreated {
		t.Fatalf("mint: %d %s", r.Status, r.Body)
	}
	var tok struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &tok)
	ctx := tenancy.WithTenant(context.Background(), tn.ID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE personal_tokens SET expires_at = ? WHERE id = ?`, time.Now().Add(48*time.Hour), tok.ID).Error
	}); err != nil {
		t.Fatal(err)
	}
	mine, admins := stream(t, env, env, owner.Token), stream(t, env, env, tn.Admin.Token)
	task, err := tokens.NewExpiryNoticeTask()
	if err != nil {
		t.Fatal(err)
	}
	if err := env.App.Tokens.ExpiryNoticeHandler(env.App.Tenants).ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	publishOn(t, env, events.Event{TenantID: tn.ID, Name: "queue_counts", TenantWide: true, Data: map[string]int{}})
	if ev := mine.Next(t); ev.Name != "token_expiring" || dataOf(t, ev)["token_id"] != tok.ID.String() {
		t.Errorf("owner got %+v, want the expiry notice", ev)
	}
	if ev := admins.Next(t); ev.Name != "queue_counts" {
		t.Errorf("another user got %+v before the marker, want no expiry notice", ev)
	}
}
