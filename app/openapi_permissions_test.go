package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Issue 14: the OpenAPI document named actions (board:update, image:delete, …) no role could
// hold. Every route's x-permission is now an action a role can hold — one a tenant admin can put
// in a custom role — or one of the documented non-role rules, public and authenticated.
func TestServer_everyXPermissionIsARoleActionOrADocumentedRule(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	r := env.Do(http.MethodGet, "/api/v1/openapi.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("openapi.json: %d", r.Status)
	}
	var doc struct {
		Info struct {
			Description string `json:"description"`
		} `json:"info"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.JSON(t, &doc)
	rules := map[string]bool{"public": true, "authenticated": true}
	for rule := range rules {
		if !strings.Contains(doc.Info.Description, "`"+rule+"`") {
			t.Errorf("the document does not explain the rule %q", rule)
		}
	}
	// A role may hold exactly the known actions: defining a role with one of them works.
	holdable := map[string]bool{}
	for _, a := range rbac.AllActions {
		holdable[string(a)] = true
	}
	n := 0
	for _, router := range env.Server.Routers {
		for _, rt := range router.Routes() {
			n++
			path := web.OpenAPIPath(rt.FullPath(router.Prefix()))
			var op struct {
				Permission string `json:"x-permission"`
			}
			if err := json.Unmarshal(doc.Paths[path][strings.ToLower(rt.Method)], &op); err != nil {
				t.Fatalf("%s %s: %v", rt.Method, path, err)
			}
			if !holdable[op.Permission] && !rules[op.Permission] {
				t.Errorf("%s %s: x-permission %q is neither an action a role can hold nor a documented rule", rt.Method, path, op.Permission)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d routes walked", n)
	}
	// And a role can indeed hold each: a tenant admin defines one with every action.
	tn := env.SignUp(t)
	all := make([]string, 0, len(holdable))
	for a := range holdable {
		all = append(all, a)
	}
	r = env.Do(http.MethodPost, "/api/v1/roles", tn.Admin.Token, map[string]any{"name": "everything", "permissions": all})
	if r.Status != http.StatusCreated {
		t.Fatalf("a role with every action: %d %s", r.Status, r.Body)
	}
}
