// Package web is the HTTP edge shared by every module: route declarations that carry their
// access requirement (deny by default), strict JSON decoding, the one error mapper and the
// OpenAPI document built from the same declarations.
package web

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/rbac"
)

type accessKind int

const (
	accessUnset accessKind = iota
	accessPublic
	accessAuthenticated
	accessPermission
)

// Access is what a route requires of its caller. The zero value is refused by the router.
type Access struct {
	kind accessKind
	perm rbac.Action
}

// Public is a route anyone may call, unauthenticated.
func Public() Access { return Access{kind: accessPublic} }

// AuthOnly is a route any authenticated caller may call; the service decides the rest.
func AuthOnly() Access { return Access{kind: accessAuthenticated} }

// Perm is a route that needs the action, checked by the service on the object the route
// addresses. The router refuses an action rbac does not define: no role could hold it.
func Perm(action rbac.Action) Access { return Access{kind: accessPermission, perm: action} }

// IsPublic reports whether the route needs no credentials.
func (a Access) IsPublic() bool { return a.kind == accessPublic }

// Permission is the declared action, or "" for public / authenticated-only routes.
func (a Access) Permission() rbac.Action { return a.perm }

// String renders the requirement for the OpenAPI document and logs.
func (a Access) String() string {
	switch a.kind {
	case accessPublic:
		return "public"
	case accessAuthenticated:
		return "authenticated"
	case accessPermission:
		return string(a.Permission())
	default:
		return "unset"
	}
}

// Route is one operation of the API.
type Route struct {
	Method  string
	Path    string // Fiber syntax, relative to the group: /users/:id
	Access  Access
	Summary string
	Tag     string
	// Request is the JSON body type (nil for none); Query is a struct with `query` tags.
	Request any
	Query   any
	// Response is the success body type; Status its code (200 when zero).
	Response any
	Status   int
	// Errors lists the error statuses the operation answers besides 400/401/500.
	Errors []int
	// Upload marks the routes that take a multipart body up to the upload limit; every other
	// route takes a JSON body up to the JSON limit (BodyLimits).
	Upload  bool
	Handler fiber.Handler
}

// FullPath is the route's path including the group prefix.
func (r Route) FullPath(prefix string) string { return prefix + r.Path }

// Router registers routes on a Fiber group and remembers them for the OpenAPI document and the
// tests that check every route declares its access and is documented.
type Router struct {
	group        fiber.Router
	prefix       string
	authenticate fiber.Handler
	limits       *BodyLimits
	routes       []Route
}

// NewRouter wraps a Fiber group. authenticate runs before every non-public route.
func NewRouter(group fiber.Router, prefix string, authenticate fiber.Handler) *Router {
	return &Router{group: group, prefix: prefix, authenticate: authenticate}
}

// LimitBodies makes every route registered from now on refuse a body over its limit before
// anything else runs (see BodyLimits).
func (r *Router) LimitBodies(l BodyLimits) *Router {
	r.limits = &l
	return r
}

var paramPattern = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// Handle registers a route. A route without a declared access requirement, or one requiring an
// action no role can hold, is a programming error and panics at start, so it can never be served.
func (r *Router) Handle(rt Route) {
	if rt.Access.kind == accessUnset {
		panic(fmt.Sprintf("web: route %s %s declares no access requirement", rt.Method, rt.Path))
	}
	if rt.Access.kind == accessPermission && !rt.Access.Permission().Known() {
		panic(fmt.Sprintf("web: route %s %s requires %q, an action rbac does not define", rt.Method, rt.Path, rt.Access.Permission()))
	}
	if rt.Handler == nil {
		panic(fmt.Sprintf("web: route %s %s has no handler", rt.Method, rt.Path))
	}
	if rt.Status == 0 {
		rt.Status = fiber.StatusOK
	}
	handlers := []fiber.Handler{}
	if r.limits != nil {
		handlers = append(handlers, limitBody(*r.limits, rt.Upload))
	}
	if !rt.Access.IsPublic() {
		handlers = append(handlers, r.authenticate)
	}
	handlers = append(handlers, rt.Handler)
	r.group.Add(strings.ToUpper(rt.Method), rt.Path, handlers...)
	r.routes = append(r.routes, rt)
}

// Routes lists what was registered.
func (r *Router) Routes() []Route { return append([]Route(nil), r.routes...) }

// Prefix is the group's path prefix.
func (r *Router) Prefix() string { return r.prefix }

// OpenAPIPath turns a Fiber path into an OpenAPI one: /users/:id → /users/{id}.
func OpenAPIPath(p string) string { return paramPattern.ReplaceAllString(p, "{$1}") }

// PathParams lists the parameter names of a Fiber path.
func PathParams(p string) []string {
	var out []string
	for _, m := range paramPattern.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}
