// Package tenancy carries the tenant and the acting principal through a request and provides the
// only handle through which tenant data is read or written.
package tenancy

import (
	"context"

	"github.com/google/uuid"
)

// CredentialKind says how a principal authenticated.
type CredentialKind string

// Credential kinds.
const (
	CredentialSession CredentialKind = "session" // a short-lived access token from a login
	CredentialPAT     CredentialKind = "pat"     // a personal access token
)

// Principal is the authenticated caller: who, in which tenant, by what credential.
type Principal struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
	Kind     CredentialKind
	// SessionID is the login session (refresh-token family) of a session credential.
	SessionID uuid.UUID
	// TokenID is the personal access token's id when Kind is CredentialPAT.
	TokenID uuid.UUID
	// Scopes limit a PAT ("read", "write"); empty for sessions, which carry the user's rights.
	Scopes []string
}

type tenantKey struct{}
type principalKey struct{}

// WithTenant returns ctx scoped to the tenant.
func WithTenant(ctx context.Context, tenantID uuid.UUID) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenantID)
}

// TenantFrom returns the tenant ctx is scoped to.
func TenantFrom(ctx context.Context) (uuid.UUID, bool) {
	id, ok := ctx.Value(tenantKey{}).(uuid.UUID)
	return id, ok && id != uuid.Nil
}

// WithPrincipal returns ctx carrying the principal and scoped to its tenant.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return &principalCtx{Context: ctx, tenant: p.TenantID, principal: p}
}

// principalCtx is two context.WithValue in one (every authenticated request makes one).
type principalCtx struct {
	context.Context
	tenant, principal any
}

func (c *principalCtx) Value(key any) any {
	switch key.(type) {
	case tenantKey:
		return c.tenant
	case principalKey:
		return c.principal
	}
	return c.Context.Value(key)
}

// PrincipalFrom returns the authenticated caller, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// HasScope reports whether a PAT principal carries the scope; sessions carry every scope.
func (p Principal) HasScope(scope string) bool {
	if p.Kind != CredentialPAT {
		return true
	}
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}
