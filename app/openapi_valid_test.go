package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/atelier-hq/atelier/app/apptest"
)

// The served document is valid OpenAPI 3 for a standard validator, so clients generate from
// it: public operations declare an empty security list, no empty servers list.
func TestServer_openAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	r := env.Do(http.MethodGet, "/api/v1/openapi.json", "", nil)
	apptest.WantStatus(t, r, http.StatusOK)
	doc, err := openapi3.NewLoader().LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	if doc.Servers != nil && len(doc.Servers) == 0 {
		t.Error("openapi.json has an empty servers list")
	}
	public := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security == nil {
				t.Errorf("%s %s declares no security (public operations need an explicit empty list)", method, path)
				continue
			}
			if len(*op.Security) == 0 {
				public++
				if op.Extensions["x-permission"] != "public" {
					t.Errorf("%s %s has no security but x-permission %v", method, path, op.Extensions["x-permission"])
				}
			}
		}
	}
	if public == 0 {
		t.Error("no public operation found: the check above proves nothing")
	}
}
