package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/web"
)

// The edge a security review expects (issue 14): no 500 and no plain-text answer for bad input,
// whatever part of the request is bad, and the default security headers.

func TestEdge_badRequestsAnswerTheErrorShapeNeverA500(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	do := func(req *http.Request) apptest.Response {
		req.Header.Set("X-Forwarded-For", env.ClientIP)
		return env.DoRequest(req)
	}
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"a JSON route given a form body", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/workspaces", strings.NewReader(`{"name":"x","slug":"x1"}`))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "Bearer "+tn.Admin.Token)
			return r
		}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a JSON route given no content type", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(`{"tenant":"a","email":"b","password":"c"}`))
			return r
		}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"a lone surrogate escape in profile settings (jsonb)", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/profiles",
				strings.NewReader(`{"type":"access","name":"p\udcff","settings":{"read_only":true}}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+tn.Admin.Token)
			return r
		}, http.StatusBadRequest, "invalid"},
		{"a lone surrogate escape in a workspace name", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/workspaces", strings.NewReader(`{"name":"\ud800","slug":"sur"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+tn.Admin.Token)
			return r
		}, http.StatusBadRequest, "invalid"},
		{"an unknown HTTP method", func() *http.Request {
			return httptest.NewRequest("BREW", "/api/v1/me", nil)
		}, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"an unknown HTTP method on no route", func() *http.Request {
			return httptest.NewRequest("PROPFIND", "/nowhere", nil)
		}, http.StatusMethodNotAllowed, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(c.req())
			if r.Status != c.status || r.ErrorCode() != c.code || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%d %s (%s), want %d %s in the error shape", r.Status, truncate(r.Body), r.Header.Get("Content-Type"), c.status, c.code)
			}
			if strings.Contains(string(r.Body), "error when reading") || strings.Contains(string(r.Body), "fasthttp") {
				t.Errorf("the answer leaks the parser: %s", r.Body)
			}
		})
	}
	if r := do(httptest.NewRequest("BREW", "/api/v1/me", nil)); !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Errorf("405 without Allow: %v", r.Header)
	}
}

// Headers over the server's read buffer fail before any route runs; the answer is still 431 in
// the error shape, without the parser's text. (Over a real connection: the in-process test
// transport reports the parse error instead of an answer.)
func TestEdge_headersTooLargeAnswer431InTheErrorShape(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- env.Server.Fiber.Listener(ln) }()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/api/v1/me", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 16<<10))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e web.ErrorBody
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || json.Unmarshal(body, &e) != nil || e.Error.Code != "header_too_large" ||
		strings.Contains(string(body), "buffer") {
		t.Errorf("%d %s, want 431 header_too_large in the error shape", resp.StatusCode, truncate(body))
	}
}

func TestEdge_requestIDsAreKeptOnlyWhenShortAndSafe(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	for _, c := range []struct {
		sent string
		kept bool
	}{
		{"abc-123", true},
		{"01J5Z7.trace:42_x", true},
		{strings.Repeat("a", 65), false},
		{`"><script>alert(1)</script>`, false},
		{"two words", false},
		{"ünïcode", false},
	} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header.Set(web.RequestIDHeader, c.sent)
		got := env.DoRequest(req).Header.Get(web.RequestIDHeader)
		if (got == c.sent) != c.kept || got == "" {
			t.Errorf("sent %q, answered %q (kept: want %v)", c.sent, got, c.kept)
		}
	}
}

func TestEdge_securityHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	for _, c := range []struct {
		path, token string
		noStore     bool
	}{
		{"/healthz", "", false},
		{"/api/v1/docs", "", false},
		{"/api/v1/openapi.json", "", false},
		{"/api/v1/me", tn.Admin.Token, true},
		{"/api/v1/me", "", false}, // a 401
		{"/api/v1/workspaces", tn.Admin.Token, true},
	} {
		r := env.Do(http.MethodGet, c.path, c.token, nil)
		h := r.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers missing: %v", c.path, h)
		}
		if (h.Get("Cache-Control") == "no-store") != c.noStore {
			t.Errorf("GET %s (token %v): Cache-Control %q", c.path, c.token != "", h.Get("Cache-Control"))
		}
	}
}

// Issue 14: names took control characters and bidirectional overrides (a board called
// "invoice\u202egpj.exe" reads as "invoiceexe.jpg"), and board names of only white space. One
// rule now refuses them in every name, display name and description, naming the field.
func TestEdge_everyNameRefusesControlAndBidiCharacters(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	admin := w.a.Admin.Token
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(3, 3), nil))
	const rlo, esc, c1 = "\u202e", "\u001b[31m", "\u0085"
	cases := []struct {
		name, method, path, token string
		body                      any
		field                     string
	}{
		{"workspace name", http.MethodPost, "/api/v1/workspaces", admin, map[string]any{"name": "a" + rlo + "b", "slug": "bidi"}, "name"},
		{"workspace short name", http.MethodPatch, "/api/v1/workspaces/msa", admin, map[string]any{"short_name": "x" + esc}, "short_name"},
		{"workspace description", http.MethodPatch, "/api/v1/workspaces/msa", admin, map[string]any{"description": "x" + c1}, "description"},
		{"board name of white space", http.MethodPost, "/api/v1/workspaces/msa~suit/boards", admin, map[string]any{"name": " \t "}, "name"},
		{"board name", http.MethodPost, "/api/v1/workspaces/msa~suit/boards", admin, map[string]any{"name": "invoice" + rlo + "gpj.exe"}, "name"},
		{"board description", http.MethodPost, "/api/v1/workspaces/msa~suit/boards", admin, map[string]any{"name": "ok", "description": esc}, "description"},
		{"image name", http.MethodPatch, "/api/v1/images/" + img.String(), admin, map[string]any{"name": "a" + rlo}, "name"},
		{"image name of white space", http.MethodPatch, "/api/v1/images/" + img.String(), admin, map[string]any{"name": "   "}, "name"},
		{"group name", http.MethodPost, "/api/v1/groups", admin, map[string]any{"name": "g" + c1}, "name"},
		{"role description", http.MethodPost, "/api/v1/roles", admin, map[string]any{"name": "bidi", "description": rlo, "permissions": []string{"workspace:read"}}, "description"},
		{"profile name", http.MethodPost, "/api/v1/profiles", admin, map[string]any{"type": "quota", "name": "p" + rlo, "settings": map[string]any{}}, "name"},
		{"token name", http.MethodPost, "/api/v1/me/tokens", admin, map[string]any{"name": "t" + esc}, "name"},
		{"user display name", http.MethodPost, "/api/v1/users", admin, map[string]any{"email": "bidi@x.test", "password": apptest.Password, "display_name": "\u2066Ann"}, "display_name"},
		{"user display name change", http.MethodPatch, "/api/v1/users/" + w.target.ID.String(), admin, map[string]any{"display_name": "Ann" + c1}, "display_name"},
		{"tenant name", http.MethodPost, "/api/v1/tenants", "", map[string]any{"name": "Acme" + rlo, "slug": apptest.NewSlug("b"),
			"admin": map[string]any{"email": "a@b.test", "password": apptest.Password}}, "name"},
		{"tenant admin display name", http.MethodPost, "/api/v1/tenants", "", map[string]any{"name": "Acme", "slug": apptest.NewSlug("b"),
			"admin": map[string]any{"email": "a@b.test", "password": apptest.Password, "display_name": "A" + esc}}, "admin.display_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			btErr(t, env.Do(c.method, c.path, c.token, c.body), http.StatusBadRequest, "invalid", c.field)
		})
	}
	// The upload's name field (multipart) follows the same rule.
	r := env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/images", k.owner.Token,
		btFormOf("x.png", bdPNG(3, 3), map[string]string{"name": "photo" + rlo + "gnp.exe"}))
	btErr(t, r, http.StatusBadRequest, "invalid", "name")
	// Ordinary names in any script, with a tab where one may be, still go through.
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/boards", admin, map[string]any{"name": "Ünïcödé 名前 🚀",
		"description": "two\nlines"}), http.StatusCreated)
}

// The case: a 20 MiB unauthenticated multipart POST to /api/v1/me (a JSON route, and no
// POST there at all), to a JSON route, and to the upload route is answered from its headers and
// first few KiB; the server never waits for the other 20 MiB.
func TestEdge_largeBodiesAreRefusedBeforeTheyAreRead(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	addr := strings.TrimPrefix(env.URL(), "http://")
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/me", "", http.StatusNotFound},
		{"/api/v1/workspaces", "", http.StatusRequestEntityTooLarge},
		{"/api/v1/workspaces", tn.Admin.Token, http.StatusRequestEntityTooLarge},
		{"/api/v1/workspaces/" + uuid.NewString() + "/images", "", http.StatusUnauthorized},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		auth := ""
		if tc.token != "" {
			auth = "Authorization: Bearer " + tc.token + "\r\n"
		}
		// The headers and the 8 KiB the server reads ahead with them; 20 MiB are announced.
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: multipart/form-data; boundary=b\r\n"+
			"Content-Length: %d\r\n\r\n%s", tc.path, auth, 20<<20, strings.Repeat("-", 8<<10))
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: no answer before the body was sent: %v", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = conn.Close()
		var e web.ErrorBody
		if resp.StatusCode != tc.want || json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			t.Errorf("%s: %d %s, want %d in the error shape", tc.path, resp.StatusCode, truncate(body), tc.want)
		}
	}
}
