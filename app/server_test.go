package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/web"
)

// Every route the server registers is in the OpenAPI document with the permission it was
// registered with, and in the docs page; a route added without documentation fails here.
func TestServer_everyRouteIsDocumentedWithItsPermission(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	r := env.Do(http.MethodGet, "/api/v1/openapi.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("openapi.json: %d", r.Status)
	}
	var doc struct {
		OpenAPI string                                       `json:"openapi"`
		Paths   map[string]map[string]map[string]interface{} `json:"paths"`
	}
	r.JSON(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	page := env.Do(http.MethodGet, "/api/v1/docs", "", nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("docs page: %d %s", page.Status, page.Header.Get("Content-Type"))
	}
	n := 0
	for _, router := range env.Server.Routers {
		for _, rt := range router.Routes() {
			n++
			path := web.OpenAPIPath(rt.FullPath(router.Prefix()))
			op, ok := doc.Paths[path][strings.ToLower(rt.Method)]
			if !ok {
				t.Errorf("%s %s is not in the OpenAPI document", rt.Method, path)
				continue
			}
			if got := op["x-permission"]; got != rt.Access.String() {
				t.Errorf("%s %s: x-permission %v, want %s", rt.Method, path, got, rt.Access)
			}
			if rt.Access.String() == "unset" {
				t.Errorf("%s %s declares no access requirement", rt.Method, path)
			}
			if !strings.Contains(string(page.Body), "<code>"+path+"</code>") {
				t.Errorf("%s %s is not on the docs page", rt.Method, path)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d routes registered", n)
	}
}

func TestServer_unknownRoutesAnswerTheErrorShape(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/nope"},
		{http.MethodDelete, "/api/v1/me"},
		{http.MethodGet, "/../../etc/passwd"},
	} {
		r := env.Do(c.method, c.path, "", nil)
		if r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
			t.Errorf("%s %s: %d %s, want 404 not_found", c.method, c.path, r.Status, r.Body)
		}
	}
}

func TestServer_requestIDsAndMetrics(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	r := env.Do(http.MethodGet, "/healthz", "", nil)
	if r.Status != http.StatusOK || r.Header.Get(web.RequestIDHeader) == "" {
		t.Fatalf("healthz: %d, request id %q", r.Status, r.Header.Get(web.RequestIDHeader))
	}
	ready := env.Do(http.MethodGet, "/readyz", "", nil)
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	ready.JSON(t, &body)
	if ready.Status != http.StatusOK || body.Checks["database"] != "ok" || body.Checks["redis"] != "ok" {
		t.Fatalf("readyz: %d %s", ready.Status, ready.Body)
	}
	env.Do(http.MethodGet, "/api/v1/me", "", nil)
	// Metrics are not on the API port, for anyone: they have their own listener (METRICS_ADDR).
	if m := env.Do(http.MethodGet, "/metrics", "", nil); m.Status != http.StatusNotFound || m.ErrorCode() != "not_found" {
		t.Fatalf("metrics on the API port: %d %s, want 404", m.Status, m.Body)
	}
	rec := httptest.NewRecorder()
	env.Server.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d", rec.Code)
	}
	want := `http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="401"}`
	if !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

func TestServer_readyzReportsADownDependency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	if err := env.App.DB.Close(); err != nil {
		t.Fatal(err)
	}
	r := env.Do(http.MethodGet, "/readyz", "", nil)
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusServiceUnavailable || body.Checks["database"] != "unreachable" {
		t.Fatalf("readyz with the database closed: %d %s", r.Status, r.Body)
	}
}
