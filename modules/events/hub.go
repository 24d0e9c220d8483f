package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Redis names. Every node subscribes to both channels; events carry per-tenant ids from the
// tenant's counter, so Last-Event-ID means the same on every node.
const (
	EventsChannel = "atelier:events"
	EndedChannel  = "atelier:events:ended"
	seqKeyPrefix  = "atelier:events:seq:"
)

// Authorizer decides whether a subscriber is an admin of an event's workspace (rbac.Enforcer).
type Authorizer interface {
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
}

// Liveness answers nil while the principal's credentials still work (user enabled, tenant
// active, session or token not revoked), and an error once they do not.
type Liveness interface {
	Live(ctx context.Context, p tenancy.Principal) error
}

// Config tunes the hub. Zero values take the defaults.
type Config struct {
	// TicketTTL is how long a stream ticket may wait to be used (30 s).
	TicketTTL time.Duration
	// Heartbeat is the interval of the keep-alive comment on an idle stream (15 s).
	Heartbeat time.Duration
	// LivenessInterval is how often every open stream's credentials are re-checked, the
	// fail-closed backstop behind the "principal ended" messages (30 s).
	LivenessInterval time.Duration
	// BufferSize is the number of recent events kept per tenant for Last-Event-ID (256).
	BufferSize int
	// BufferBytes bounds the bytes of those events per tenant (256 KiB).
	BufferBytes int
	// MaxTenants bounds the tenants whose recent events a node keeps (1024); the least recently
	// active tenant without a local subscriber is forgotten first.
	MaxTenants int
	// SubscriberBuffer is how many events may wait for one slow client before it is dropped
	// with a resync hint (32).
	SubscriberBuffer int
	// WriteTimeout bounds one write to a client (30 s); a stuck client is cut off after it.
	WriteTimeout time.Duration
	// AdminAction is the default action that makes a caller an admin of an event's workspace.
	AdminAction rbac.Action
	// BusPing is how long the subscription may stay quiet before it is pinged (5 s); a ping
	// that is not answered within another BusPing counts as a lost subscription.
	BusPing time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.TicketTTL, 30*time.Second)
	def(&c.Heartbeat, 15*time.Second)
	def(&c.LivenessInterval, 30*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.BusPing, 5*time.Second)
	if c.BufferSize <= 0 {
		c.BufferSize = 256
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 256 << 10
	}
	if c.MaxTenants <= 0 {
		c.MaxTenants = 1024
	}
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 32
	}
	if c.AdminAction == "" {
		c.AdminAction = rbac.BoardAdmin
	}
	return c
}

// Hub is one node's side of the event stream: it publishes to Redis, receives every node's
// events and delivers each to the local streams allowed to see it.
type Hub struct {
	rdb   redis.UniversalClient
	authz Authorizer
	live  Liveness
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	tenants map[uuid.UUID]*tenantState
	tick    uint64 // activity counter for forgetting idle tenants
	closed  bool

	startMu   sync.Mutex
	stop      context.CancelFunc // set once started
	shut      bool
	wg        sync.WaitGroup
	closeOnce sync.Once
	// afterDispatch, when set (tests), is called with each event id after it was offered to
	// every local subscriber.
	afterDispatch func(tenant uuid.UUID, id int64)

	wmu      sync.Mutex
	watchers []EndedWatcher
}

// tenantState is what the node holds for one tenant: its local streams and recent events.
type tenantState struct {
	subs    map[*subscriber]struct{}
	ring    ring
	touched uint64
}

// NewHub builds a hub; Start makes it receive.
func NewHub(rdb redis.UniversalClient, authz Authorizer, live Liveness, cfg Config, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{rdb: rdb, authz: authz, live: live, cfg: cfg.withDefaults(), log: log,
		now: func() time.Time { return time.Now().UTC() }, tenants: map[uuid.UUID]*tenantState{}}
}

// SetClock replaces the clock (tests of ticket expiry). Call it before the hub is used.
func (h *Hub) SetClock(now func() time.Time) { h.now = now }

// Start subscribes to the channels and returns once the subscription is live, so that an event
// published after Start returns reaches this node. The first stream opened on the node starts
// the hub, so a process that serves no stream (a worker, which only publishes) never listens;
// calling it again does nothing.
func (h *Hub) Start(ctx context.Context) error {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	switch {
	case h.stop != nil:
		return nil
	case h.shut:
		return errors.New("events: hub closed")
	}
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	ps := h.rdb.Subscribe(ctx, EventsChannel, EndedChannel)
	confirm, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for confirmed := 0; confirmed < 2; {
		msg, err := ps.Receive(confirm)
		if err != nil {
			stop()
			_ = ps.Close()
			return fmt.Errorf("subscribe to events: %w", err)
		}
		if _, ok := msg.(*redis.Subscription); ok {
			confirmed++
		}
	}
	h.stop = stop
	h.busJoined()
	events := make(chan string, 4096)
	h.wg.Add(3)
	go func() {
		defer h.wg.Done()
		defer ps.Close()
		defer close(events)
		h.receive(ctx, ps, events)
	}()
	go func() {
		defer h.wg.Done()
		for payload := range events {
			h.dispatch(ctx, payload)
		}
	}()
	go func() {
		defer h.wg.Done()
		h.liveness(ctx)
	}()
	return nil
}

// Close ends every stream (clients see an `end` event and may reconnect elsewhere) and stops
// receiving. It is safe to call more than once; the server calls it before it shuts down so
// that open streams do not hold the shutdown up.
func (h *Hub) Close() {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		var all []*subscriber
		for _, ts := range h.tenants {
			for s := range ts.subs {
				all = append(all, s)
			}
			clear(ts.subs)
		}
		h.mu.Unlock()
		for _, s := range all {
			s.end(reasonShutdown)
		}
		h.startMu.Lock()
		h.shut = true
		stop := h.stop
		h.startMu.Unlock()
		if stop != nil {
			stop()
		}
		h.wg.Wait()
	})
}

// Publish sends the event to every node. The tenant's counter and the publication are one
// atomic script, so ids reach every subscriber in increasing order.
func (h *Hub) Publish(ctx context.Context, e Event) error {
	env, err := e.encode(h.cfg.AdminAction)
	if err != nil {
		return err
	}
	if err := publishScript.Run(ctx, h.rdb, []string{seqKeyPrefix + e.TenantID.String()}, EventsChannel, env).Err(); err != nil {
		return fmt.Errorf("publish event %s: %w", e.Name, err)
	}
	return nil
}

var publishScript = redis.NewScript(`local id = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id`)

// receive reads the subscription until ctx ends: "principal ended" notices are applied at once,
// events go to the dispatcher. go-redis reconnects a lost subscription by itself and says nothing
// about it; this loop reads the connection itself (rather than PubSub.Channel) so that it sees
// the loss, pings a quiet connection every BusPing, and tells the watchers: notices published
// between the loss and the new subscription's confirmation are missed.
func (h *Hub) receive(ctx context.Context, ps *redis.PubSub, events chan<- string) {
	subscribed, pinged := 2, false
	backoff := time.Duration(0)
	for {
		msg, err := ps.ReceiveTimeout(ctx, h.cfg.BusPing)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				// Quiet: a ping proves the connection still answers (a failed write reconnects).
				pinged = true
				if ps.Ping(ctx) == nil {
					continue
				}
			}
			// The connection failed or stayed silent after a ping: whatever it carried since is lost.
			if subscribed == 2 {
				h.busLost(err)
			}
			subscribed, pinged = 0, false
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			// Subscribe again: on a connection go-redis has replaced this only repeats what its
			// reconnect sent; on a silent one it either fails (and reconnects) or is confirmed.
			// Either way the confirmations say when notices reach this node again.
			_ = ps.Subscribe(ctx, EventsChannel, EndedChannel)
			continue
		}
		pinged, backoff = false, 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && subscribed < 2 {
				if subscribed++; subscribed == 2 {
					h.busJoined()
				}
			}
		case *redis.Message:
			switch m.Channel {
			case EventsChannel:
				select {
				case events <- m.Payload:
				case <-ctx.Done():
					return
				}
			case EndedChannel:
				h.endMatching(m.Payload)
			}
		}
	}
}

// dispatch records an event in its tenant's ring and offers it to the tenant's local streams
// that may see it. A stream whose buffer is full is dropped with a resync hint: the dispatcher
// never waits for a client.
func (h *Hub) dispatch(ctx context.Context, payload string) {
	f, err := decodeFrame(payload)
	if err != nil {
		h.log.Warn("events: bad message", slog.String("error", err.Error()))
		return
	}
	h.mu.Lock()
	ts := h.tenantLocked(f.tenant)
	ts.ring.add(f)
	subs := make([]*subscriber, 0, len(ts.subs))
	for s := range ts.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	admins := map[uuid.UUID]bool{}
	for _, s := range subs {
		if !h.visible(ctx, s.p, f, admins) {
			continue
		}
		select {
		case s.ch <- f:
		default:
			h.remove(s)
			s.end(reasonBehind)
		}
	}
}

// visible is the delivery rule: nothing crosses tenants; tenant-wide events reach everyone of
// the tenant; an item event reaches its owner and the admins of its workspace. admins caches
// the decision per user for one event.
func (h *Hub) visible(ctx context.Context, p tenancy.Principal, f *frame, admins map[uuid.UUID]bool) bool {
	switch {
	case f.tenant != p.TenantID:
		return false
	case f.tenantWide:
		return true
	case f.user != uuid.Nil && f.user == p.UserID:
		return true
	case f.workspace == uuid.Nil || f.action == "":
		return false
	}
	if ok, seen := admins[p.UserID]; seen {
		return ok
	}
	ok, err := h.authz.Allowed(ctx, f.tenant, p.UserID, rbac.WorkspaceNode(f.workspace), f.action)
	if err != nil {
		h.log.Warn("events: admin check failed; event withheld", slog.String("tenant_id", f.tenant.String()),
			slog.String("error", err.Error()))
		ok = false
	}
	if admins != nil {
		admins[p.UserID] = ok
	}
	return ok
}

// tenantLocked returns the tenant's state, creating it (and forgetting the least recently
// active tenant without local streams when over MaxTenants). h.mu is held.
func (h *Hub) tenantLocked(id uuid.UUID) *tenantState {
	h.tick++
	if ts, ok := h.tenants[id]; ok {
		ts.touched = h.tick
		return ts
	}
	if len(h.tenants) >= h.cfg.MaxTenants {
		var (
			oldest   uuid.UUID
			oldestAt uint64
		)
		for tid, ts := range h.tenants {
			if len(ts.subs) == 0 && (oldestAt == 0 || ts.touched < oldestAt) {
				oldest, oldestAt = tid, ts.touched
			}
		}
		if oldestAt != 0 {
			delete(h.tenants, oldest)
		}
	}
	ts := &tenantState{subs: map[*subscriber]struct{}{}, ring: newRing(h.cfg.BufferSize, h.cfg.BufferBytes), touched: h.tick}
	h.tenants[id] = ts
	return ts
}

// remove unregisters a stream.
func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ts, ok := h.tenants[s.p.TenantID]; ok {
		delete(ts.subs, s)
	}
}

// Subscribers is the number of open streams on this node.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ts := range h.tenants {
		n += len(ts.subs)
	}
	return n
}

// subscribe registers a stream for p and works out what to replay after lastID (hasLast). The
// registration and the snapshot of the ring are one step under the lock, so every later event
// reaches the stream live and every earlier one is in the snapshot: nothing is lost or doubled.
func (h *Hub) subscribe(ctx context.Context, p tenancy.Principal, lastID int64, hasLast bool) (*Stream, error) {
	if err := h.Start(ctx); err != nil {
		return nil, apierr.Unavailable("event stream", err)
	}
	s := &subscriber{p: p, ch: make(chan *frame, h.cfg.SubscriberBuffer), done: make(chan struct{})}
	st := &Stream{hub: h, sub: s, cursor: lastID}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, apierr.Unavailable("event stream", errors.New("shutting down"))
	}
	ts := h.tenantLocked(p.TenantID)
	ts.subs[s] = struct{}{}
	var (
		replay  []*frame
		covered = true
	)
	if hasLast {
		replay, covered = ts.ring.after(lastID)
	}
	h.mu.Unlock()
	if !covered {
		// The ring does not reach back that far (or this node has seen nothing yet): the client
		// is up to date only if lastID is the tenant's latest id.
		seq, err := h.rdb.Get(ctx, seqKeyPrefix+p.TenantID.String()).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			h.remove(s)
			return nil, apierr.Unavailable("event stream", err)
		}
		st.resync = seq != lastID
		if st.resync {
			st.cursor = 0
		}
	}
	admins := map[uuid.UUID]bool{}
	for _, f := range replay {
		if h.visible(ctx, p, f, admins) {
			st.replay = append(st.replay, f)
		}
	}
	return st, nil
}

// Reasons a stream ends, as its last event tells the client.
const (
	reasonShutdown = "shutdown"        // reconnect (elsewhere) with a new ticket
	reasonEnded    = "credentials"     // the user, session, token or tenant is no longer valid
	reasonBehind   = "client_too_slow" // resync: fetch the state again, then reconnect
)

// subscriber is one open stream as the dispatcher sees it.
type subscriber struct {
	p    tenancy.Principal
	ch   chan *frame
	done chan struct{}
	once sync.Once
	why  string
}

// end closes the stream with a reason (once).
func (s *subscriber) end(why string) {
	s.once.Do(func() {
		s.why = why
		close(s.done)
	})
}
