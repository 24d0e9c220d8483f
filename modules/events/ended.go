package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/tenancy"
)

// endNotice says which principals stopped being valid: every field left nil matches anything,
// so {tenant} is a suspended tenant, {tenant, user} a disabled user, {tenant, user, session} a
// revoked session and {tenant, token} a revoked personal access token.
type endNotice struct {
	Tenant  uuid.UUID  `json:"t"`
	User    *uuid.UUID `json:"u,omitempty"`
	Session *uuid.UUID `json:"s,omitempty"`
	Token   *uuid.UUID `json:"k,omitempty"`
}

func (n endNotice) matches(p tenancy.Principal) bool {
	switch {
	case p.TenantID != n.Tenant:
		return false
	case n.User != nil && *n.User != p.UserID:
		return false
	case n.Session != nil && (p.Kind != tenancy.CredentialSession || *n.Session != p.SessionID):
		return false
	case n.Token != nil && (p.Kind != tenancy.CredentialPAT || *n.Token != p.TokenID):
		return false
	}
	return true
}

// UserEnded closes every stream of the user on every node (the user was disabled). Call it
// after the change committed.
func (h *Hub) UserEnded(ctx context.Context, tenantID, userID uuid.UUID) {
	h.announce(ctx, endNotice{Tenant: tenantID, User: &userID})
}

// SessionEnded closes the streams opened through one login session (logout, refresh-token
// reuse) on every node.
func (h *Hub) SessionEnded(ctx context.Context, tenantID, userID, sessionID uuid.UUID) {
	h.announce(ctx, endNotice{Tenant: tenantID, User: &userID, Session: &sessionID})
}

// TokenEnded closes the streams opened with a personal access token (revoked) on every node.
func (h *Hub) TokenEnded(ctx context.Context, tenantID, tokenID uuid.UUID) {
	h.announce(ctx, endNotice{Tenant: tenantID, Token: &tokenID})
}

// TenantEnded closes every stream of the tenant (suspended) on every node.
func (h *Hub) TenantEnded(ctx context.Context, tenantID uuid.UUID) {
	h.announce(ctx, endNotice{Tenant: tenantID})
}

// announce publishes the notice. A failure is logged, not returned: the change it follows has
// committed, and the periodic liveness check closes the streams anyway.
func (h *Hub) announce(ctx context.Context, n endNotice) {
	// This node first, before the answer to the request that ended the principal is sent: its
	// next request here is refused whatever the bus does.
	h.tellEnded(n)
	raw, err := json.Marshal(n)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		err = h.rdb.Publish(ctx, EndedChannel, raw).Err()
	}
	if err != nil {
		h.log.Error("events: could not announce ended credentials; the liveness check will close the streams",
			slog.String("tenant_id", n.Tenant.String()), slog.String("error", err.Error()))
	}
}

// endMatching closes the local streams a notice names.
func (h *Hub) endMatching(payload string) {
	var n endNotice
	if err := json.Unmarshal([]byte(payload), &n); err != nil || n.Tenant == uuid.Nil {
		h.log.Warn("events: bad ended message")
		return
	}
	h.tellEnded(n)
	h.mu.Lock()
	var hit []*subscriber
	if ts, ok := h.tenants[n.Tenant]; ok {
		for s := range ts.subs {
			if n.matches(s.p) {
				hit = append(hit, s)
				delete(ts.subs, s)
			}
		}
	}
	h.mu.Unlock()
	for _, s := range hit {
		s.end(reasonEnded)
	}
}

// liveness re-checks every open stream's credentials each LivenessInterval until ctx ends.
func (h *Hub) liveness(ctx context.Context) {
	t := time.NewTicker(h.cfg.LivenessInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.CheckLiveness(ctx)
		}
	}
}

// principalKey identifies a principal's credentials (Principal itself holds a slice).
type principalKey struct {
	tenant, user, session, token uuid.UUID
	kind                         tenancy.CredentialKind
}

func keyOf(p tenancy.Principal) principalKey {
	return principalKey{tenant: p.TenantID, user: p.UserID, session: p.SessionID, token: p.TokenID, kind: p.Kind}
}

// CheckLiveness asks once, for every principal with an open stream on this node, whether its
// credentials still work, and closes the streams of those that do not. It fails closed: a
// principal whose check errs is treated as ended (the client reconnects with a new ticket).
func (h *Hub) CheckLiveness(ctx context.Context) {
	h.mu.Lock()
	byPrincipal := map[principalKey][]*subscriber{}
	for _, ts := range h.tenants {
		for s := range ts.subs {
			k := keyOf(s.p)
			byPrincipal[k] = append(byPrincipal[k], s)
		}
	}
	h.mu.Unlock()
	for _, subs := range byPrincipal {
		if ctx.Err() != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := h.live.Live(cctx, subs[0].p)
		cancel()
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		h.log.Info("events: stream closed, credentials no longer valid", slog.String("tenant_id", subs[0].p.TenantID.String()),
			slog.String("user_id", subs[0].p.UserID.String()), slog.String("error", err.Error()))
		for _, s := range subs {
			h.remove(s)
			s.end(reasonEnded)
		}
	}
}

// EndedWatcher learns, on this node, of every principal that ended on any node (a per-node cache
// of liveness drops what the notice names), and of the times the node may miss such notices:
// BusLost when the subscription failed (notices published from then on may never arrive here),
// BusJoined when it is confirmed again. A watcher starts lost; the hub's Start joins it.
type EndedWatcher interface {
	PrincipalEnded(tenant uuid.UUID, user, session, token *uuid.UUID)
	BusLost()
	BusJoined()
}

// Watch adds a watcher. One added before Start is joined by it; one added later is told of
// notices and losses from then on (and should start joined).
func (h *Hub) Watch(w EndedWatcher) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.watchers = append(h.watchers, w)
}

func (h *Hub) watching() []EndedWatcher {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return h.watchers
}

func (h *Hub) tellEnded(n endNotice) {
	for _, w := range h.watching() {
		w.PrincipalEnded(n.Tenant, n.User, n.Session, n.Token)
	}
}

func (h *Hub) busLost(err error) {
	h.log.Warn("events: subscription lost; liveness is checked in the database until it is back",
		slog.String("error", err.Error()))
	for _, w := range h.watching() {
		w.BusLost()
	}
}

func (h *Hub) busJoined() {
	for _, w := range h.watching() {
		w.BusJoined()
	}
}
