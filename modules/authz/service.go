package authz

import (
	"context"
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point and its explanation (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Explain(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (rbac.Explanation, error)
}

// Users says whether a user of the caller's tenant is disabled (the users module, adapted in
// app): 404 for a user of another tenant or none.
type Users interface {
	Disabled(ctx context.Context, id uuid.UUID) (bool, error)
}

// Workspaces resolves a workspace reference, an id or a path with `~` for `/`, as the caller
// sees it (workspaces.Service): 404 when it does not exist or the caller cannot see it.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// ObjectResolver turns the id part of an object reference (`board:<id>` → `<id>`) into the
// policy node the object lives on. It runs as the caller and answers apierr.NotFound when the
// object does not exist or the caller cannot see it, apierr.Invalid("object", …) when the id
// is malformed.
type ObjectResolver func(ctx context.Context, id string) (node string, err error)

// ObjectExplainer explains a decision about an object whose rights do not all come from grants
// (a board's membership and visibility, an image's ownership). It looks the object up as the
// caller — apierr.NotFound when the caller cannot see it, apierr.Invalid("object", …) for a
// malformed id — and decides for the subject. It returns the object's node and the explanation.
type ObjectExplainer func(ctx context.Context, subject uuid.UUID, id string, action rbac.Action) (node string, exp rbac.Explanation, err error)

// Object kinds known from the start.
const (
	KindTenant    = "tenant"
	KindWorkspace = "workspace"
)

// actionPattern is the shape of an action; whether it is a known one is the enforcer's call.
var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,49}:[a-z][a-z0-9_-]{0,49}$`)

// maxObject bounds an object reference.
const maxObject = 500

// Service explains decisions.
type Service struct {
	authz Authorizer
	users Users

	mu         sync.RWMutex
	objects    map[string]ObjectResolver
	explainers map[string]ObjectExplainer
}

// NewService wires the service with the tenant kind; modules add theirs with RegisterObject.
func NewService(authz Authorizer, users Users) *Service {
	s := &Service{authz: authz, users: users, objects: map[string]ObjectResolver{}, explainers: map[string]ObjectExplainer{}}
	s.RegisterObject(KindTenant, tenantObject)
	return s
}

// RegisterObject makes `kind:<id>` a valid object, resolved by fn. A later registration of the
// same kind replaces the earlier one.
func (s *Service) RegisterObject(kind string, fn ObjectResolver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[kind] = fn
}

// RegisterExplainer makes `kind:<id>` a valid object explained by fn (boards, images: objects
// with rules of their own beside the grants).
func (s *Service) RegisterExplainer(kind string, fn ObjectExplainer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.explainers[kind] = fn
	s.objects[kind] = func(context.Context, string) (string, error) { return "", nil }
}

// WorkspaceObjects resolves `workspace:<id or path>` through the workspaces service.
func WorkspaceObjects(ws Workspaces) ObjectResolver {
	return func(ctx context.Context, ref string) (string, error) {
		if ref == "" {
			return "", apierr.Invalid("object", "workspace needs an id or a path: workspace:<id or a~b~c>")
		}
		w, err := ws.Resolve(ctx, ref)
		if err != nil {
			return "", err
		}
		return rbac.WorkspaceNode(w.ID), nil
	}
}

// tenantObject is `tenant` or `tenant:<the caller's tenant id>`: the root. Another tenant's id
// names nothing the caller can see.
func tenantObject(ctx context.Context, id string) (string, error) {
	if id == "" {
		return rbac.Root, nil
	}
	tid, err := uuid.Parse(id)
	if err != nil {
		return "", apierr.Invalid("object", "tenant:<id> needs a tenant id")
	}
	if own, _ := tenancy.TenantFrom(ctx); tid != own {
		return "", apierr.NotFound("tenant")
	}
	return rbac.Root, nil
}

// Explain answers whether the subject (default: the caller) may do the action on the object,
// and why. Anyone may ask about themselves; asking about another user of the tenant needs
// authz:explain on the tenant.
func (s *Service) Explain(ctx context.Context, q Query) (Answer, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return Answer{}, apierr.Unauthorized()
	}
	subject, err := parseSubject(q.Subject, p.UserID)
	if err != nil {
		return Answer{}, err
	}
	if err := checkAction(q.Action); err != nil {
		return Answer{}, err
	}
	kind, id, resolve, err := s.parseObject(q.Object)
	if err != nil {
		return Answer{}, err
	}
	disabled := false
	if subject != p.UserID {
		if err := s.authz.Authorize(ctx, rbac.AuthzExplain, rbac.Root); err != nil {
			if errors.Is(err, rbac.ErrDenied) {
				return Answer{}, apierr.Forbidden("only tenant admins and auditors may ask about another user")
			}
			return Answer{}, err
		}
		var err error
		if disabled, err = s.users.Disabled(ctx, subject); err != nil {
			return Answer{}, err
		}
	}
	s.mu.RLock()
	explain, custom := s.explainers[kind]
	s.mu.RUnlock()
	var node string
	var exp rbac.Explanation
	if custom {
		// The object's own rules decide (and look the object up as the caller first).
		node, exp, err = explain(ctx, subject, id, rbac.Action(q.Action))
	} else {
		node, err = resolve(ctx, id)
	}
	if err != nil {
		return Answer{}, err
	}
	ans := Answer{Subject: rbac.UserSubject(subject), Action: q.Action, Object: kind, Node: node}
	if id != "" {
		ans.Object = kind + ":" + id
	}
	if disabled {
		// A disabled user is refused before any decision is made.
		ans.Reason, ans.Path = "denied: the user is disabled", []rbac.Step{}
		return ans, nil
	}
	if !custom {
		if exp, err = s.authz.Explain(ctx, p.TenantID, subject, node, rbac.Action(q.Action)); err != nil {
			return Answer{}, err
		}
	}
	ans.Allowed, ans.Reason, ans.Path = exp.Allowed, exp.Reason, exp.Path
	if ans.Path == nil {
		ans.Path = []rbac.Step{}
	}
	return ans, nil
}

// parseSubject reads a user id, bare or as user:<id>; empty is the caller.
func parseSubject(raw string, caller uuid.UUID) (uuid.UUID, error) {
	if raw == "" {
		return caller, nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(raw, rbac.SubjectUser+":"))
	if err != nil || len(raw) > 60 {
		return uuid.Nil, apierr.Invalid("subject", "must be a user id")
	}
	return id, nil
}

func checkAction(raw string) error {
	if raw == "" {
		return apierr.Invalid("action", "is required")
	}
	if !actionPattern.MatchString(raw) {
		return apierr.Invalid("action", "must be object_type:action, e.g. workspace:update")
	}
	return nil
}

// parseObject splits `kind[:id]` and finds the kind's resolver.
func (s *Service) parseObject(raw string) (kind, id string, fn ObjectResolver, err error) {
	if raw == "" {
		return "", "", nil, apierr.Invalid("object", "is required")
	}
	if len(raw) > maxObject || strings.ContainsAny(raw, "\x00/ ") {
		return "", "", nil, apierr.Invalid("object", "must be kind or kind:<id>, e.g. workspace:msa~suit")
	}
	kind, id, _ = strings.Cut(raw, ":")
	s.mu.RLock()
	fn, ok := s.objects[kind]
	s.mu.RUnlock()
	if !ok {
		return "", "", nil, apierr.Invalid("object", "unknown object kind "+quote(kind)+"; known: "+strings.Join(s.kinds(), ", "))
	}
	return kind, id, fn, nil
}

func (s *Service) kinds() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.objects))
	for k := range s.objects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}
