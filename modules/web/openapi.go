package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi3"
)

// OpenAPI builds the OpenAPI 3 document from the registered routes. Every operation carries
// `x-permission`, the access requirement it was registered with.
func OpenAPI(title, version string, routers ...*Router) (*openapi3.Spec, error) {
	r := openapi3.NewReflector()
	r.Spec.Info.WithTitle(title).WithVersion(version).
		WithDescription("Every operation lists the permission it requires in x-permission: " +
			"`public` (no credentials), `authenticated` (any signed-in caller; the service decides), " +
			"or an `object_type:action` checked on the object the route addresses — always one a role can hold. " +
			"Board membership and image ownership are a second source of rights beside roles (the service weighs both), " +
			"and `authenticated` routes under /me act only on the caller's own things (owner-only).")
	r.Spec.ComponentsEns().SecuritySchemesEns().WithMapOfSecuritySchemeOrRefValuesItem("bearer",
		openapi3.SecuritySchemeOrRef{SecurityScheme: &openapi3.SecurityScheme{
			HTTPSecurityScheme: (&openapi3.HTTPSecurityScheme{}).WithScheme("bearer").
				WithDescription("An access token from /auth/login or a personal access token."),
		}})
	for _, rt := range routers {
		for _, route := range rt.Routes() {
			if err := addOperation(r, rt.Prefix(), route); err != nil {
				return nil, err
			}
		}
	}
	return r.Spec, nil
}

func addOperation(r *openapi3.Reflector, prefix string, route Route) error {
	path := OpenAPIPath(route.FullPath(prefix))
	oc, err := r.NewOperationContext(route.Method, path)
	if err != nil {
		return fmt.Errorf("openapi %s %s: %w", route.Method, path, err)
	}
	oc.SetSummary(route.Summary)
	if route.Tag != "" {
		oc.SetTags(route.Tag)
	}
	oc.SetID(operationID(route.Method, route.FullPath(prefix)))
	if !route.Access.IsPublic() {
		oc.AddSecurity("bearer")
	}
	op := oc.(openapi3.OperationExposer).Operation()
	op.WithMapOfAnythingItem("x-permission", route.Access.String())
	if route.Access.IsPublic() {
		// An explicit empty list: the operation needs no credentials. (The generated Security
		// field is omitempty, so an empty slice would vanish and read as "unspecified".)
		op.WithMapOfAnythingItem("security", []map[string][]string{})
	}
	for _, name := range PathParams(route.Path) {
		op.Parameters = append(op.Parameters, openapi3.ParameterOrRef{Parameter: &openapi3.Parameter{
			Name: name, In: openapi3.ParameterInPath, Required: ptr(true),
			Schema: &openapi3.SchemaOrRef{Schema: (&openapi3.Schema{}).WithType(openapi3.SchemaTypeString)},
		}})
	}
	if route.Query != nil {
		oc.AddReqStructure(route.Query)
	}
	if route.Request != nil {
		oc.AddReqStructure(route.Request, openapi.WithContentType("application/json"))
	}
	if route.Response != nil {
		oc.AddRespStructure(route.Response, openapi.WithHTTPStatus(route.Status))
	} else {
		oc.AddRespStructure(nil, openapi.WithHTTPStatus(route.Status))
	}
	errs := []int{http.StatusBadRequest, http.StatusInternalServerError}
	if !route.Access.IsPublic() {
		errs = append(errs, http.StatusUnauthorized)
	}
	for _, status := range append(errs, route.Errors...) {
		oc.AddRespStructure(ErrorBody{}, openapi.WithHTTPStatus(status))
	}
	if err := r.AddOperation(oc); err != nil {
		return fmt.Errorf("openapi %s %s: %w", route.Method, path, err)
	}
	return nil
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.Split(path, "/") {
		part = strings.TrimPrefix(part, ":")
		if part == "" || part == "api" || part == "v1" {
			continue
		}
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '_' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }
