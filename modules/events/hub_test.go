package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

func eventData(t testing.TB, f *frame) map[string]any {
	t.Helper()
	_, after, ok := bytes.Cut(f.wire, []byte("data: "))
	if !ok {
		t.Fatalf("no data in %q", f.wire)
	}
	var v map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(after), &v); err != nil {
		t.Fatalf("data of %q: %v", f.wire, err)
	}
	return v
}

// An item event reaches its owner and the admins of its workspace on every node; user B of the
// same tenant and a user of another tenant never see it. A tenant-wide marker published after
// it proves the absence: per-tenant order is kept, so a stream that gets the marker first never
// gets the item event.
func TestHub_itemEventsReachOwnerAndWorkspaceAdminsOnly(t *testing.T) {
	n1, n2 := newNode(t, Config{}), newNode(t, Config{})
	t1, t2 := uuid.New(), uuid.New()
	ws, otherWS := uuid.New(), uuid.New()
	a, b, admin, otherAdmin, foreign := session(t1), session(t1), session(t1), session(t1), session(t2)
	for _, n := range []*node{n1, n2} {
		n.authz.grant(admin.UserID, ws, rbac.BoardAdmin)
		n.authz.grant(otherAdmin.UserID, otherWS, rbac.BoardAdmin)
		// Rights in tenant 1 never open tenant 2's events: foreign is admin of ws by name only.
		n.authz.grant(foreign.UserID, ws, rbac.BoardAdmin)
	}
	streams := map[string]*Stream{
		"owner on node 2": n2.open(t, n1, a), "owner on node 1": n1.open(t, n1, a),
		"admin on node 2": n2.open(t, n2, admin), "user B": n2.open(t, n1, b),
		"admin of another workspace": n2.open(t, n2, otherAdmin), "other tenant": n2.open(t, n2, foreign),
	}
	publish(t, n1, Event{TenantID: t1, Name: "queue_item", Data: map[string]string{"secret": "A's prompt"}, UserID: a.UserID, WorkspaceID: ws})
	publish(t, n1, marker(t1, "after"))
	publish(t, n1, marker(t2, "after"))
	for name, st := range streams {
		got := next(t, st)
		wantItem := name == "owner on node 2" || name == "owner on node 1" || name == "admin on node 2"
		if wantItem {
			if d := eventData(t, got); d["secret"] != "A's prompt" {
				t.Errorf("%s: first event %q, want A's item event", name, got.wire)
			}
			got = next(t, st)
		}
		if d := eventData(t, got); d["marker"] != "after" {
			t.Errorf("%s: got %q, want the marker (A's item event must not reach it)", name, got.wire)
		}
		if got.tenant != st.sub.p.TenantID {
			t.Errorf("%s: an event of tenant %s reached a stream of tenant %s", name, got.tenant, st.sub.p.TenantID)
		}
	}
}

// A queue-specific admin action can replace the default: the admin check uses the event's.
func TestHub_eventNamesItsOwnAdminAction(t *testing.T) {
	n := newNode(t, Config{})
	tn, ws := uuid.New(), uuid.New()
	owner, boardAdmin, queueAdmin := session(tn), session(tn), session(tn)
	n.authz.grant(boardAdmin.UserID, ws, rbac.BoardAdmin)
	n.authz.grant(queueAdmin.UserID, ws, rbac.Action("queue:admin"))
	sb, sq := n.open(t, n, boardAdmin), n.open(t, n, queueAdmin)
	publish(t, n, Event{TenantID: tn, Name: "queue_item", Data: 1, UserID: owner.UserID, WorkspaceID: ws, AdminAction: "queue:admin"})
	publish(t, n, marker(tn, "m"))
	if f := next(t, sq); !bytes.Contains(f.wire, []byte("queue_item")) {
		t.Errorf("queue admin got %q first, want the item event", f.wire)
	}
	if f := next(t, sb); bytes.Contains(f.wire, []byte("queue_item")) {
		t.Errorf("board admin got the item event of an event that asks for queue:admin")
	}
}

func TestHub_publishRefusesEventsWithoutOneAudience(t *testing.T) {
	n := newNode(t, Config{})
	tn := uuid.New()
	for name, e := range map[string]Event{
		"no tenant":               {Name: "x", UserID: uuid.New()},
		"no audience":             {TenantID: tn, Name: "x"},
		"user and tenant-wide":    {TenantID: tn, Name: "x", UserID: uuid.New(), TenantWide: true},
		"workspace without owner": {TenantID: tn, Name: "x", WorkspaceID: uuid.New()},
		"tenant-wide workspace":   {TenantID: tn, Name: "x", TenantWide: true, WorkspaceID: uuid.New()},
		"name with a newline":     {TenantID: tn, Name: "x\ndata: forged", TenantWide: true},
		"no name":                 {TenantID: tn, TenantWide: true},
		"data not JSON":           {TenantID: tn, Name: "x", TenantWide: true, Data: func() {}},
	} {
		if err := n.Publish(context.Background(), e); !errors.Is(err, ErrBadEvent) {
			t.Errorf("%s: %v, want ErrBadEvent", name, err)
		}
	}
}

// A ticket opens one stream once, on any node; used, expired, forged, malformed or re-labelled
// with another tenant's id, it is the same 401.
func TestTicket_singleUseBoundAndShortLived(t *testing.T) {
	n1, n2 := newNode(t, Config{}), newNode(t, Config{})
	now := time.Now().UTC()
	n1.SetClock(func() time.Time { return now })
	n2.SetClock(func() time.Time { return now })
	p := session(uuid.New())
	ctx := tenancy.WithPrincipal(context.Background(), p)
	issue := func() string {
		tk, err := n1.IssueTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tk.ExpiresIn != 30 || !strings.HasPrefix(tk.Ticket, ticketPrefix) {
			t.Fatalf("ticket %+v", tk)
		}
		return tk.Ticket
	}
	used := issue()
	st, err := n2.Open(context.Background(), used, 0, false)
	if err != nil {
		t.Fatalf("first use on the other node: %v", err)
	}
	if got := st.sub.p; got.UserID != p.UserID || got.TenantID != p.TenantID || got.SessionID != p.SessionID {
		t.Errorf("stream principal %+v, want %+v", got, p)
	}
	st.Close()

	expired := issue()
	otherTenant := issue()
	tb := uuid.New()
	relabelled := ticketPrefix + strings.ReplaceAll(tb.String(), "-", "") + otherTenant[len(ticketPrefix)+32:]
	valid := issue()
	forged := valid[:len(valid)-4] + "AAAA"
	cases := []struct{ name, ticket string }{
		{"used", used},
		{"forged", forged},
		{"other tenant", relabelled},
		{"empty", ""},
		{"malformed", "evt_zz"},
		{"a bearer token", "eyJhbGciOiJIUzI1NiJ9.e30.sig"},
	}
	for _, c := range cases {
		if _, err := n1.Open(context.Background(), c.ticket, 0, false); !apierr.Is(err, apierr.CodeUnauthorized) {
			t.Errorf("%s ticket: %v, want 401", c.name, err)
		}
	}
	now = now.Add(31 * time.Second)
	if _, err := n2.Open(context.Background(), expired, 0, false); !apierr.Is(err, apierr.CodeUnauthorized) {
		t.Errorf("expired ticket: %v, want 401", err)
	}
	// The forged and re-labelled attempts consumed nothing: the real tickets are still good (the
	// valid one, not the expired-by-clock ones).
	now = now.Add(-31 * time.Second)
	if _, err := n2.Open(context.Background(), otherTenant, 0, false); err != nil {
		t.Errorf("the genuine ticket after a re-labelled attempt: %v", err)
	}
	if _, err := n2.Open(context.Background(), valid, 0, false); err != nil {
		t.Errorf("the genuine ticket after a forged attempt: %v", err)
	}
}

// Redis holds only a hash of the ticket.
func TestTicket_storedHashedOnly(t *testing.T) {
	n := newNode(t, Config{})
	p := session(uuid.New())
	tk, err := n.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := parseTicket(tk.Ticket)
	keys, err := n.rdb.Keys(context.Background(), ticketKeyPrefix+p.TenantID.String()+":*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	val, _ := n.rdb.Get(context.Background(), keys[0]).Result()
	secretText := tk.Ticket[len(ticketPrefix)+32:]
	if strings.Contains(keys[0], secretText) || strings.Contains(val, secretText) || bytes.Contains([]byte(keys[0]+val), secret) {
		t.Errorf("the ticket's secret is stored in Redis: %s = %s", keys[0], val)
	}
}

// The ticket is refused when the credentials it was issued for ended in its 30 seconds.
func TestTicket_refusedWhenCredentialsEndedAfterIssue(t *testing.T) {
	n := newNode(t, Config{})
	p := session(uuid.New())
	tk, err := n.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
	if err != nil {
		t.Fatal(err)
	}
	n.live.end(p.UserID)
	if _, err := n.Open(context.Background(), tk.Ticket, 0, false); !apierr.Is(err, apierr.CodeUnauthorized) {
		t.Fatalf("disabled user's ticket: %v, want 401", err)
	}
	if n.Subscribers() != 0 {
		t.Errorf("%d streams registered after a refusal", n.Subscribers())
	}
}

// A slow client never holds the publisher or other clients up: its bounded buffer fills, it is
// dropped with a resync hint, and everyone else gets every event.
func TestHub_slowClientDroppedWithResyncOthersUnaffected(t *testing.T) {
	n := newNode(t, Config{SubscriberBuffer: 4})
	tn := uuid.New()
	slow, fast := n.open(t, n, session(tn)), n.open(t, n, session(tn))
	// The fast client reads each event before the next is published (so it never falls behind,
	// however loaded the machine); the slow one never reads and overflows its buffer of 4.
	const total = 20
	for i := 0; i < total; i++ {
		publish(t, n, Event{TenantID: tn, Name: "queue_counts", Data: map[string]int{"i": i}, TenantWide: true})
		if v := int(eventData(t, next(t, fast))["i"].(float64)); v != i {
			t.Fatalf("fast client got %d, want %d", v, i)
		}
	}
	if why := waitEnded(t, slow); why != reasonBehind {
		t.Errorf("slow client ended with %q, want %q", why, reasonBehind)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	slow.Serve(w, nil)
	if !strings.Contains(buf.String(), "event: resync\n") {
		t.Errorf("the slow client's stream ends without a resync event: %q", buf.String())
	}
}

// Last-Event-ID resumes from the tenant's recent events, on a node other than the one the
// client was on; older than the buffer, or ahead of the counter, it gets a resync event.
func TestHub_resumeFromBufferElseResync(t *testing.T) {
	n1 := newNode(t, Config{BufferSize: 4})
	n2 := newNode(t, Config{BufferSize: 4})
	tn := uuid.New()
	p := session(tn)
	watch := n2.open(t, n2, session(tn))
	var ids []int64
	for i := 0; i < 6; i++ {
		publish(t, n1, Event{TenantID: tn, Name: "queue_counts", Data: map[string]int{"i": i}, TenantWide: true})
		ids = append(ids, next(t, watch).id)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive: %v", ids)
		}
	}
	cases := []struct {
		name       string
		last       int64
		wantReplay []int64
		wantResync bool
	}{
		{"within the buffer", ids[3], ids[4:], false},
		{"just before the buffer", ids[1], ids[2:], false},
		{"up to date", ids[5], nil, false},
		{"older than the buffer", ids[0], nil, true},
		{"ahead of the counter", ids[5] + 100, nil, true},
	}
	for _, c := range cases {
		tk, err := n1.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
		if err != nil {
			t.Fatal(err)
		}
		st, err := n2.Open(context.Background(), tk.Ticket, c.last, true)
		if err != nil {
			t.Fatal(err)
		}
		var replay []int64
		for _, f := range st.replay {
			replay = append(replay, f.id)
		}
		if st.resync != c.wantResync || !equalIDs(replay, c.wantReplay) {
			t.Errorf("%s: replay %v resync %v, want %v %v", c.name, replay, st.resync, c.wantReplay, c.wantResync)
		}
		st.Close()
	}
	// A fresh node has no buffer: a client that is up to date is not told to resync.
	n3 := newNode(t, Config{})
	tk, _ := n1.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
	st, err := n3.Open(context.Background(), tk.Ticket, ids[5], true)
	if err != nil {
		t.Fatal(err)
	}
	if st.resync || len(st.replay) != 0 {
		t.Errorf("up-to-date client on a fresh node: replay %d resync %v", len(st.replay), st.resync)
	}
	st.Close()
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Replayed events are filtered like live ones: resuming never shows another user's item event.
func TestHub_resumeReplaysOnlyWhatTheUserMaySee(t *testing.T) {
	n := newNode(t, Config{})
	tn, ws := uuid.New(), uuid.New()
	a, b := session(tn), session(tn)
	watch := n.open(t, n, a)
	publish(t, n, marker(tn, "start"))
	start := next(t, watch).id
	publish(t, n, Event{TenantID: tn, Name: "queue_item", Data: 1, UserID: a.UserID, WorkspaceID: ws})
	publish(t, n, marker(tn, "end"))
	next(t, watch)
	next(t, watch)
	tk, _ := n.IssueTicket(tenancy.WithPrincipal(context.Background(), b))
	st, err := n.Open(context.Background(), tk.Ticket, start, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(st.replay) != 1 || eventData(t, st.replay[0])["marker"] != "end" {
		t.Errorf("B's replay holds %d events, want only the tenant-wide marker", len(st.replay))
	}
}

// Credentials that end close the matching streams on every node, and only those.
func TestHub_endedCredentialsCloseMatchingStreamsOnEveryNode(t *testing.T) {
	n1, n2 := newNode(t, Config{}), newNode(t, Config{})
	tn, other := uuid.New(), uuid.New()
	user := session(tn)
	secondSession := user
	secondSession.SessionID = uuid.New()
	pat := tenancy.Principal{TenantID: tn, UserID: user.UserID, Kind: tenancy.CredentialPAT, TokenID: uuid.New()}
	bystander, foreign := session(tn), session(other)
	type streams struct{ first, second, token, bystander, foreign *Stream }
	open := func() streams {
		return streams{n2.open(t, n1, user), n2.open(t, n1, secondSession), n2.open(t, n1, pat),
			n2.open(t, n1, bystander), n2.open(t, n1, foreign)}
	}
	alive := func(name string, st *Stream) {
		t.Helper()
		if st.ended() {
			t.Errorf("%s: stream ended (%s), want open", name, st.sub.why)
		}
	}
	// After each notice, a marker through the same pub/sub proves the notice was handled.
	sync := func(s streams) {
		publish(t, n1, marker(tn, "sync"))
		publish(t, n1, marker(other, "sync"))
		next(t, s.bystander)
		next(t, s.foreign)
	}

	s := open()
	n1.SessionEnded(context.Background(), tn, user.UserID, user.SessionID)
	if why := waitEnded(t, s.first); why != reasonEnded {
		t.Errorf("revoked session: %q", why)
	}
	sync(s)
	alive("another session of the user", s.second)
	alive("the user's token", s.token)
	alive("another user", s.bystander)

	n1.TokenEnded(context.Background(), tn, pat.TokenID)
	waitEnded(t, s.token)
	sync(s)
	alive("the user's other session", s.second)

	n1.UserEnded(context.Background(), tn, user.UserID)
	waitEnded(t, s.second)
	sync(s)
	alive("another user", s.bystander)

	s = open()
	n1.TenantEnded(context.Background(), tn)
	for name, st := range map[string]*Stream{"user": s.first, "token": s.token, "bystander": s.bystander} {
		if why := waitEnded(t, st); why != reasonEnded {
			t.Errorf("suspended tenant, %s: %q", name, why)
		}
	}
	publish(t, n1, marker(other, "sync"))
	next(t, s.foreign)
	alive("another tenant", s.foreign)
}

// The periodic check closes the stream of a principal whose credentials ended without a notice
// (a lost pub/sub message), and fails closed when the check itself fails.
func TestHub_livenessBackstopClosesStreams(t *testing.T) {
	n := newNode(t, Config{})
	tn := uuid.New()
	gone, kept := session(tn), session(tn)
	sg, sk := n.open(t, n, gone), n.open(t, n, kept)
	n.live.end(gone.UserID)
	n.CheckLiveness(context.Background())
	if !sg.ended() || sg.sub.why != reasonEnded {
		t.Errorf("ended principal's stream: ended %v (%s)", sg.ended(), sg.sub.why)
	}
	if sk.ended() {
		t.Errorf("a live principal's stream was closed")
	}
	if n.Subscribers() != 1 {
		t.Errorf("%d streams registered, want 1", n.Subscribers())
	}
	n.live = &fakeLive{}
	n.Hub.live = failingLive{}
	n.CheckLiveness(context.Background())
	if !sk.ended() {
		t.Errorf("stream kept open although its credentials could not be checked")
	}
}

type failingLive struct{}

func (failingLive) Live(context.Context, tenancy.Principal) error { return errors.New("database down") }

// Serve writes the ready event, live events one flush each, heartbeats, and the reason the
// stream ended; a client that went away (a failed write) ends it and unregisters it.
func TestStream_serveWritesEventsHeartbeatsAndEnd(t *testing.T) {
	n := newNode(t, Config{Heartbeat: 20 * time.Millisecond})
	tn := uuid.New()
	p := session(tn)
	st := n.open(t, n, p)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Serve(bufio.NewWriter(pw), nil)
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	readMessage := func() string {
		t.Helper()
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v (so far %q)", err, b.String())
			}
			if line == "\n" {
				return b.String()
			}
			b.WriteString(line)
		}
	}
	if m := readMessage(); !strings.Contains(m, "event: ready") {
		t.Fatalf("first message %q, want ready", m)
	}
	publish(t, n, Event{TenantID: tn, Name: "queue_item", Data: map[string]string{"s": "x"}, UserID: p.UserID})
	m := readMessage()
	for m == ":\n" { // heartbeats may come first
		m = readMessage()
	}
	if !strings.HasPrefix(m, "id: ") || !strings.Contains(m, "event: queue_item\ndata: {\"s\":\"x\"}") {
		t.Errorf("event message %q", m)
	}
	if m := readMessage(); m != ":\n" {
		t.Errorf("idle stream wrote %q, want a heartbeat comment", m)
	}
	n.UserEnded(context.Background(), tn, p.UserID)
	for m = readMessage(); m == ":\n"; m = readMessage() {
	}
	if !strings.Contains(m, "event: end") || !strings.Contains(m, reasonEnded) {
		t.Errorf("last message %q, want end with the reason", m)
	}
	<-done

	// A client that went away: the next write fails and the stream is unregistered.
	st2 := n.open(t, n, p)
	pr2, pw2 := io.Pipe()
	pr2.Close()
	st2.Serve(bufio.NewWriter(pw2), nil)
	if n.Subscribers() != 0 {
		t.Errorf("%d streams registered after the client went away", n.Subscribers())
	}
}

// Close ends every stream with a shutdown reason and refuses new ones.
func TestHub_closeEndsStreams(t *testing.T) {
	n := newNode(t, Config{})
	p := session(uuid.New())
	st := n.open(t, n, p)
	tk, _ := n.IssueTicket(tenancy.WithPrincipal(context.Background(), p))
	n.Close()
	if why := waitEnded(t, st); why != reasonShutdown {
		t.Errorf("reason %q", why)
	}
	if _, err := n.Open(context.Background(), tk.Ticket, 0, false); !apierr.Is(err, apierr.CodeUnavailable) {
		t.Errorf("open after close: %v, want 503", err)
	}
}

func TestRing_keepsContiguousRecentEvents(t *testing.T) {
	r := newRing(3, 0)
	for _, id := range []int64{1, 2, 3, 4} {
		r.add(&frame{id: id})
	}
	if r.first() != 2 || r.last() != 4 {
		t.Fatalf("ring %d..%d, want 2..4", r.first(), r.last())
	}
	if got, ok := r.after(1); !ok || len(got) != 3 {
		t.Errorf("after 1: %d %v", len(got), ok)
	}
	if _, ok := r.after(0); ok {
		t.Errorf("after 0 claims to be covered")
	}
	r.add(&frame{id: 9}) // a gap: the ring starts afresh
	if _, ok := r.after(4); ok || r.first() != 9 {
		t.Errorf("a replay across a gap is claimed complete")
	}

	// The byte bound drops the oldest events first, and always keeps the newest.
	r = newRing(10, 100)
	for id := int64(1); id <= 5; id++ {
		r.add(&frame{id: id, wire: make([]byte, 40)})
	}
	if r.first() != 4 || r.last() != 5 || r.bytes != 80 {
		t.Errorf("byte-bounded ring %d..%d (%d bytes), want 4..5 (80)", r.first(), r.last(), r.bytes)
	}
	r.add(&frame{id: 6, wire: make([]byte, 500)})
	if r.n != 1 || r.first() != 6 {
		t.Errorf("an event larger than the bound: ring holds %d events from %d, want just it", r.n, r.first())
	}
}

// A process that serves no stream (a worker) publishes without listening; its first stream
// starts the listening, and from then on it receives.
func TestHub_listensFromTheFirstStream(t *testing.T) {
	live := &fakeLive{}
	h := NewHub(redisClient(t), &fakeAuthz{}, live, Config{Heartbeat: time.Hour, LivenessInterval: time.Hour}, nil)
	t.Cleanup(h.Close)
	tn := uuid.New()
	if err := h.Publish(context.Background(), marker(tn, "before")); err != nil {
		t.Fatalf("publish from a hub that does not listen: %v", err)
	}
	h.startMu.Lock()
	started := h.stop != nil
	h.startMu.Unlock()
	if started {
		t.Fatal("the hub listens before any stream opened")
	}
	n := &node{Hub: h, authz: &fakeAuthz{}, live: live}
	st := n.open(t, n, session(tn))
	publish(t, n, marker(tn, "after"))
	if d := eventData(t, next(t, st)); d["marker"] != "after" {
		t.Errorf("first event %v, want the one published after the stream opened", d)
	}
}
