// Package decision is how a service asks the decision point (rbac) and writes down what was
// decided. It sits between rbac, which knows nothing of the API's error categories, and the
// services, so that "denied is 403" and the shape of an audit entry are written once.
//
// What differs between services stays in the service: whether a refusal on an object the caller
// cannot see is 404 rather than 403, and a service's own rules (owners, board members, tokens
// that may only read) that it checks before calling Forbid.
package decision

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
}

// Gate asks the decision point for one service and audits that service's decisions on the
// objects of one kind ("board", "image", …).
type Gate struct {
	authz Authorizer
	audit rbac.Auditor
	kind  string
}

// NewGate builds the gate of a service whose objects are of the given kind; audit may be nil
// (nothing is recorded).
func NewGate(authz Authorizer, audit rbac.Auditor, kind string) Gate {
	return Gate{authz: authz, audit: audit, kind: kind}
}

// Authorize asks the decision point about a node the caller can see: a denial is 403. A service
// that must not reveal the object answers 404 itself instead of calling this.
func (g Gate) Authorize(ctx context.Context, action rbac.Action, node string) error {
	err := g.authz.Authorize(ctx, action, node)
	if errors.Is(err, rbac.ErrDenied) {
		return apierr.Forbidden("")
	}
	return err
}

// AuthorizeCaller is Authorize for a service that goes on to use the caller: no caller is 401.
func (g Gate) AuthorizeCaller(ctx context.Context, action rbac.Action, node string) (tenancy.Principal, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return p, apierr.Unauthorized()
	}
	return p, g.Authorize(ctx, action, node)
}

// Allow records a granted change of the object kind:id, after its transaction committed.
func (g Gate) Allow(ctx context.Context, action rbac.Action, id uuid.UUID, reason map[string]any) {
	g.Record(ctx, action, g.object(id), true, reason)
}

// Deny records a refusal by the service's own rule (why) on kind:id.
func (g Gate) Deny(ctx context.Context, action rbac.Action, id uuid.UUID, why string) {
	g.Record(ctx, action, g.object(id), false, map[string]any{"rule": why})
}

// Forbid records a refusal by the service's own rule on kind:id and returns the 403 that says why.
func (g Gate) Forbid(ctx context.Context, action rbac.Action, id uuid.UUID, why string) error {
	g.Deny(ctx, action, id, why)
	return apierr.Forbidden(why)
}

// Record writes one decision on any object ("workspace:…", "grant:…") to the audit log, in the
// caller's name. Without a caller there is no one to name and nothing is written: the routes
// that record are authenticated and the decision point refuses an anonymous caller first.
func (g Gate) Record(ctx context.Context, action rbac.Action, object string, allowed bool, reason map[string]any) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok || g.audit == nil {
		return
	}
	g.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: string(action),
		Object: object, Allowed: allowed, Reason: reason})
}

func (g Gate) object(id uuid.UUID) string { return g.kind + ":" + id.String() }

// RequireWrite refuses a change through a personal access token without the write scope, for
// the rules a service checks before (or instead of) asking the decision point.
func RequireWrite(ctx context.Context) error {
	if p, ok := tenancy.PrincipalFrom(ctx); ok && !p.HasScope("write") {
		return apierr.Forbidden("this token may only read")
	}
	return nil
}
