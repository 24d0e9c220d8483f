package events

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/tenancy"
)

// A ticket is "evt_" + the tenant id in hex + 32 random bytes in base64url. Redis keeps only
// the SHA-256 of the secret, under the tenant the ticket names.
const (
	ticketPrefix    = "evt_"
	ticketSecretLen = 32
	ticketKeyPrefix = "atelier:events:ticket:"
)

// Ticket is the answer to POST /events/ticket.
type Ticket struct {
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"`
}

// binding is what a ticket stands for: the principal that asked for it and until when.
type binding struct {
	User    uuid.UUID              `json:"u"`
	Kind    tenancy.CredentialKind `json:"k"`
	Session uuid.UUID              `json:"s"`
	Token   uuid.UUID              `json:"p"`
	Scopes  []string               `json:"sc,omitempty"`
	Expires time.Time              `json:"e"`
}

// IssueTicket mints a single-use stream ticket for the caller, bound to their user, tenant and
// session (or personal access token).
func (h *Hub) IssueTicket(ctx context.Context) (Ticket, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return Ticket{}, apierr.Unauthorized()
	}
	secret := make([]byte, ticketSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return Ticket{}, fmt.Errorf("ticket secret: %w", err)
	}
	b := binding{User: p.UserID, Kind: p.Kind, Session: p.SessionID, Token: p.TokenID, Scopes: p.Scopes,
		Expires: h.now().Add(h.cfg.TicketTTL)}
	raw, err := json.Marshal(b)
	if err != nil {
		return Ticket{}, err
	}
	// Redis forgets the ticket a little after it expires; the expiry itself is the binding's.
	if err := h.rdb.Set(ctx, ticketKey(p.TenantID, secret), raw, h.cfg.TicketTTL+5*time.Second).Err(); err != nil {
		return Ticket{}, apierr.Unavailable("event tickets", err)
	}
	text := ticketPrefix + hex.EncodeToString(p.TenantID[:]) + base64.RawURLEncoding.EncodeToString(secret)
	return Ticket{Ticket: text, ExpiresIn: int(h.cfg.TicketTTL / time.Second)}, nil
}

func ticketKey(tenantID uuid.UUID, secret []byte) string {
	sum := sha256.Sum256(secret)
	return ticketKeyPrefix + tenantID.String() + ":" + hex.EncodeToString(sum[:])
}

// parseTicket splits a ticket into its tenant and secret.
func parseTicket(raw string) (uuid.UUID, []byte, bool) {
	rest, ok := strings.CutPrefix(raw, ticketPrefix)
	if !ok || len(rest) != 32+base64.RawURLEncoding.EncodedLen(ticketSecretLen) {
		return uuid.Nil, nil, false
	}
	tb, err := hex.DecodeString(rest[:32])
	if err != nil {
		return uuid.Nil, nil, false
	}
	secret, err := base64.RawURLEncoding.DecodeString(rest[32:])
	if err != nil || len(secret) != ticketSecretLen {
		return uuid.Nil, nil, false
	}
	tenantID, err := uuid.FromBytes(tb)
	if err != nil || tenantID == uuid.Nil {
		return uuid.Nil, nil, false
	}
	return tenantID, secret, true
}

// redeem consumes a ticket: GETDEL makes it single-use across every node. A malformed, unknown,
// used or expired ticket, or one whose tenant part was changed, is the same 401.
func (h *Hub) redeem(ctx context.Context, raw string) (tenancy.Principal, error) {
	tenantID, secret, ok := parseTicket(raw)
	if !ok {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	val, err := h.rdb.GetDel(ctx, ticketKey(tenantID, secret)).Bytes()
	if errors.Is(err, redis.Nil) {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	if err != nil {
		return tenancy.Principal{}, apierr.Unavailable("event tickets", err)
	}
	var b binding
	if err := json.Unmarshal(val, &b); err != nil || b.User == uuid.Nil || !h.now().Before(b.Expires) {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	return tenancy.Principal{TenantID: tenantID, UserID: b.User, Kind: b.Kind, SessionID: b.Session,
		TokenID: b.Token, Scopes: b.Scopes}, nil
}

// Open redeems the ticket and opens a stream for its principal, replaying what the client
// missed after lastID when hasLast. The principal's credentials are checked again after the
// stream is registered, so a user disabled at any moment after the ticket was issued is either
// refused here or reached by the "ended" notice.
func (h *Hub) Open(ctx context.Context, ticket string, lastID int64, hasLast bool) (*Stream, error) {
	p, err := h.redeem(ctx, ticket)
	if err != nil {
		return nil, err
	}
	st, err := h.subscribe(ctx, p, lastID, hasLast)
	if err != nil {
		return nil, err
	}
	if err := h.live.Live(ctx, p); err != nil {
		st.Close()
		if apierr.Is(err, apierr.CodeUnauthorized) {
			return nil, apierr.Unauthorized()
		}
		return nil, apierr.Unavailable("event stream", err)
	}
	return st, nil
}
