package auth

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// LiveKey names a principal's credentials in the LiveCache: the session (family) id of an access
// token, or the id of a personal access token, in its tenant.
type LiveKey struct {
	Tenant, Credential uuid.UUID
}

// LiveCache remembers, on this node and for at most its TTL, the principals whose liveness (user
// enabled, tenant active, session or token not revoked) was checked in the database, so that a
// request does not read it again. The "principal ended" notices of the events hub drop what they
// name, on every node (the node that ended it first, before it answers).
//
// It fails closed: it serves nothing while the notice subscription is down or may have missed
// notices (from BusLost until BusJoined; a new cache starts down), and an answer read in the
// database is kept only if no notice and no loss of the subscription came while it was read
// (epoch), so a check that raced an ending is never cached.
type LiveCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	hearing bool
	epoch   uint64
	entries map[LiveKey]liveEntry
}

type liveEntry struct {
	until time.Time
	owner uuid.UUID // the user the credentials belong to
	value any
}

// LiveTicket is what Begin hands out before a database check and Put takes back after it.
type LiveTicket struct {
	epoch uint64
	ok    bool
}

// NewLiveCache returns a cache that keeps an answer for ttl (0 disables it) and at most max
// entries (when full, it starts afresh: the entries are cheap to read again).
func NewLiveCache(ttl time.Duration, max int, now func() time.Time) *LiveCache {
	if max <= 0 {
		max = 100_000
	}
	return &LiveCache{ttl: ttl, max: max, now: now, entries: map[LiveKey]liveEntry{}}
}

// Get returns what Put stored for k, and the user it belongs to, while it is fresh and the
// subscription has stayed up.
func (c *LiveCache) Get(k LiveKey) (uuid.UUID, any, bool) {
	if c == nil || c.ttl <= 0 {
		return uuid.Nil, nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[k]
	hearing := c.hearing
	c.mu.Unlock()
	if !ok || !hearing || !c.now().Before(e.until) {
		return uuid.Nil, nil, false
	}
	return e.owner, e.value, true
}

// Begin is called before the database check whose answer may be Put.
func (c *LiveCache) Begin() LiveTicket {
	if c == nil || c.ttl <= 0 {
		return LiveTicket{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return LiveTicket{epoch: c.epoch, ok: c.hearing}
}

// Put stores a live principal's answer, unless a notice or a loss of the subscription came
// since Begin.
func (c *LiveCache) Put(t LiveTicket, k LiveKey, owner uuid.UUID, v any) {
	if c == nil || !t.ok {
		return
	}
	until := c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hearing || c.epoch != t.epoch {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[k] = liveEntry{until: until, owner: owner, value: v}
}

// Len is the number of entries held (fresh or not).
func (c *LiveCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// PrincipalEnded drops the entries the notice names: nil fields match anything (a suspended
// tenant, a disabled user, a revoked session or token).
func (c *LiveCache) PrincipalEnded(tenant uuid.UUID, user, session, token *uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for k, e := range c.entries {
		if k.Tenant == tenant && (user == nil || *user == e.owner) &&
			(session == nil || *session == k.Credential) && (token == nil || *token == k.Credential) {
			delete(c.entries, k)
		}
	}
}

// BusLost empties the cache and keeps it from serving until BusJoined: notices may be missed.
func (c *LiveCache) BusLost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.hearing = false
	clear(c.entries)
}

// BusJoined lets the cache serve again: notices published from now on reach this node.
func (c *LiveCache) BusJoined() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.hearing = true
}
