package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// errRefused is a genuine token (its secret matched) that may not be used now.
var errRefused = errors.New("token refused")

// Accepts recognises a personal access token by its prefix. Everything with the prefix is this
// verifier's to decide: a malformed one is a 401 here, never handed to another verifier.
func (s *Service) Accepts(raw string) bool { return strings.HasPrefix(raw, Prefix) }

// Verify turns a personal access token into its owner's principal, limited to the token's
// scopes. It looks the token up by primary key under the tenant the token names (row-level
// security applies), compares the secret's hash in constant time, and refuses a revoked or
// expired token (at its expiry second), a disabled owner and a suspended tenant. Every refusal is
// the same 401 as any bad credential.
func (s *Service) Verify(ctx context.Context, raw string) (tenancy.Principal, error) {
	sec, err := parseSecret(raw)
	if err != nil {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	now := s.now()
	key := auth.LiveKey{Tenant: sec.TenantID, Credential: sec.ID}
	if owner, v, ok := s.live.Get(key); ok {
		if c, ok := v.(liveToken); ok && sameHash(c.hash, sec.hash()) && c.expires.After(now) {
			return tenancy.Principal{TenantID: sec.TenantID, UserID: owner, Kind: tenancy.CredentialPAT, TokenID: sec.ID,
				Scopes: c.scopes}, nil
		}
	}
	ticket := s.live.Begin()
	ctx = tenancy.WithTenant(ctx, sec.TenantID)
	var (
		t      Token
		reason string
	)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if t, err = s.store.get(tx, sec.ID); err != nil {
			return err
		}
		if !sameHash(t.SecretHash, sec.hash()) {
			return errNotFound
		}
		switch {
		case t.RevokedAt != nil:
			reason = "revoked"
		case !t.ExpiresAt.After(now):
			reason = "expired"
		}
		if reason != "" {
			return errRefused
		}
		if ok, err := s.users.MayActTx(tx, t.UserID); err != nil {
			return err
		} else if !ok {
			reason = "owner disabled or tenant suspended"
			return errRefused
		}
		if t.LastUsedAt == nil || t.LastUsedAt.Before(now.Add(-s.cfg.TouchInterval)) {
			return s.store.touch(tx, t.ID, now, now.Add(-s.cfg.TouchInterval))
		}
		return nil
	})
	switch {
	case errors.Is(err, errRefused):
		return tenancy.Principal{}, &RefusedError{TenantID: sec.TenantID, TokenID: t.ID, UserID: t.UserID, Reason: reason}
	case errors.Is(err, errNotFound):
		return tenancy.Principal{}, apierr.Unauthorized()
	case err != nil:
		return tenancy.Principal{}, fmt.Errorf("verify personal access token: %w", err)
	}
	scopes := slices.Clone([]string(t.Scopes))
	// The cached scopes are shared by every request that hits the entry: nothing changes them.
	s.live.Put(ticket, key, t.UserID, liveToken{hash: t.SecretHash, expires: t.ExpiresAt, scopes: slices.Clip(scopes)})
	return tenancy.Principal{TenantID: sec.TenantID, UserID: t.UserID, Kind: tenancy.CredentialPAT, TokenID: t.ID,
		Scopes: scopes}, nil
}

// liveToken is what the node's liveness cache keeps of a verified token: a request that presents
// the same secret before the token's expiry is its owner's without reading the database (the
// cache drops it when the token is revoked, its owner disabled or its tenant suspended).
type liveToken struct {
	hash    []byte
	expires time.Time
	scopes  []string
}

// SetLiveCache shares the node's liveness cache (auth.Service.LiveCache) with token verification.
func (s *Service) SetLiveCache(c *auth.LiveCache) { s.live = c }

// Guard is the edge check of a token's scopes, run after Verify and before the handler: without
// the `write` scope a token may only use the safe methods GET, HEAD and OPTIONS. (Authorize
// refuses every non-read action of such a token too; this refuses before any handler runs, for
// routes whose action is not known at the edge.) The refusal is audited.
func (s *Service) Guard(ctx context.Context, p tenancy.Principal, method, path string) error {
	if p.Kind != tenancy.CredentialPAT || p.HasScope(ScopeWrite) || safeMethod(method) || s.readLike[method+" "+path] {
		return nil
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: "request:" + strings.ToLower(method),
		Object: strings.Clone(path), Allowed: false, Reason: map[string]any{"rule": "token lacks the write scope", "token": p.TokenID.String()}})
	return apierr.Forbidden("this token may only read (GET, HEAD, OPTIONS)")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// RefusedError is the 401 of a genuine token that may not be used now: revoked, expired, its
// owner disabled or its tenant suspended. The caller gets exactly apierr.Unauthorized (it
// unwraps to it); the access log uses the rest to attribute the attempt to the token. A token
// whose secret does not match is never a RefusedError: nobody can write to a token's log without
// holding it.
type RefusedError struct {
	TenantID uuid.UUID
	TokenID  uuid.UUID
	UserID   uuid.UUID
	Reason   string
}

func (e *RefusedError) Error() string { return "personal access token refused: " + e.Reason }

// Unwrap makes the error answer as apierr.Unauthorized.
func (e *RefusedError) Unwrap() error { return apierr.Unauthorized() }
