package web_test

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

func TestRouter_refusesRouteWithoutAccessRequirement(t *testing.T) {
	r := web.NewRouter(fiber.New().Group("/api"), "/api", func(c *fiber.Ctx) error { return c.Next() })
	defer func() {
		if recover() == nil {
			t.Fatal("a route without an access requirement was registered")
		}
	}()
	r.Handle(web.Route{Method: "GET", Path: "/x", Handler: func(c *fiber.Ctx) error { return nil }})
}

// A typo in a literal action converts silently to rbac.Action; the router still refuses it at
// start, since no role could ever hold it.
func TestRouter_refusesAnActionRbacDoesNotDefine(t *testing.T) {
	r := web.NewRouter(fiber.New().Group("/api"), "/api", func(c *fiber.Ctx) error { return c.Next() })
	ok := func(c *fiber.Ctx) error { return nil }
	r.Handle(web.Route{Method: "GET", Path: "/known", Access: web.Perm(rbac.BoardRead), Handler: ok})
	defer func() {
		if recover() == nil {
			t.Fatal("a route requiring an unknown action was registered")
		}
		if n := len(r.Routes()); n != 1 {
			t.Fatalf("%d routes registered, want only the known one", n)
		}
	}()
	r.Handle(web.Route{Method: "GET", Path: "/typo", Access: web.Perm("board:raed"), Handler: ok})
}

func TestRouter_nonPublicRoutesRunAuthenticationFirst(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	deny := func(c *fiber.Ctx) error { return apierr.Unauthorized() }
	r := web.NewRouter(f.Group("/api"), "/api", deny)
	ok := func(c *fiber.Ctx) error { return c.SendString("reached") }
	r.Handle(web.Route{Method: "GET", Path: "/open", Access: web.Public(), Handler: ok})
	r.Handle(web.Route{Method: "GET", Path: "/auth", Access: web.AuthOnly(), Handler: ok})
	r.Handle(web.Route{Method: "GET", Path: "/perm", Access: web.Perm(rbac.UserRead), Handler: ok})
	cases := []struct {
		path string
		want int
	}{{"/api/open", 200}, {"/api/auth", 401}, {"/api/perm", 401}}
	for _, tc := range cases {
		resp, err := f.Test(httptest.NewRequest("GET", tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
}

func TestOpenAPI_documentsEveryRouteWithItsPermission(t *testing.T) {
	r := web.NewRouter(fiber.New().Group("/api/v1"), "/api/v1", func(c *fiber.Ctx) error { return c.Next() })
	h := func(c *fiber.Ctx) error { return nil }
	type body struct {
		Name string `json:"name"`
	}
	r.Handle(web.Route{Method: "GET", Path: "/things/:id", Access: web.Perm(rbac.ImageRead), Response: body{}, Handler: h})
	r.Handle(web.Route{Method: "POST", Path: "/things", Access: web.AuthOnly(), Request: body{}, Status: 201, Handler: h})
	r.Handle(web.Route{Method: "GET", Path: "/open", Access: web.Public(), Handler: h})
	spec, err := web.OpenAPI("t", "1", r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GET /api/v1/things/{id}": "image:read",
		"POST /api/v1/things":     "authenticated",
		"GET /api/v1/open":        "public",
	}
	for key, perm := range want {
		method, path, _ := strings.Cut(key, " ")
		item, ok := spec.Paths.MapOfPathItemValues[path]
		if !ok {
			t.Fatalf("%s missing from the document", path)
		}
		op, ok := item.MapOfOperationValues[strings.ToLower(method)]
		if !ok {
			t.Fatalf("%s missing from the document", key)
		}
		if got := op.MapOfAnything["x-permission"]; got != perm {
			t.Errorf("%s x-permission = %v, want %s", key, got, perm)
		}
	}
}

func TestDecode_rejectsBadInputNamingTheField(t *testing.T) {
	type input struct {
		Name  string `json:"name" validate:"required,max=5"`
		Count int    `json:"count" validate:"gte=0"`
	}
	cases := []struct {
		name, body, field string
	}{
		{"empty body", ``, "body"},
		{"malformed", `{"name":`, "body"},
		{"not an object", `[1,2]`, "body"},
		{"unknown field", `{"name":"a","extra":1}`, "extra"},
		{"wrong type", `{"name":"a","count":"many"}`, "count"},
		{"trailing data", `{"name":"a"} {"name":"b"}`, "body"},
		{"missing required", `{"count":1}`, "name"},
		{"too long", `{"name":"abcdefgh"}`, "name"},
		{"out of range", `{"name":"a","count":-1}`, "count"},
		{"lone low surrogate", `{"name":"a\udcff"}`, "body"},
		{"lone high surrogate", `{"name":"\ud800x"}`, "body"},
		{"high surrogate at the end", `{"name":"\uD83D"}`, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
			f.Post("/", func(c *fiber.Ctx) error {
				var in input
				if err := web.Decode(c, &in); err != nil {
					return err
				}
				return c.SendStatus(204)
			})
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := f.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d (%s), want 400", resp.StatusCode, b)
			}
			if !strings.Contains(string(b), `"code":"invalid"`) || !strings.Contains(string(b), `"field":"`+tc.field+`"`) {
				t.Fatalf("body %s does not name field %q", b, tc.field)
			}
		})
	}
}

func TestRender_neverLeaksInternalErrors(t *testing.T) {
	secret := errors.New(`pq: relation "users" does not exist at /srv/app/store.go:42`)
	cases := []error{
		secret,
		fmt.Errorf("load board: %w", secret),
		&apierr.Error{Code: apierr.CodeInternal, Message: "SELECT * FROM secrets"},
		fiber.NewError(500, "panic: runtime error"),
	}
	for _, err := range cases {
		status, body := web.Render(err)
		if status != 500 || body.Error.Code != apierr.CodeInternal || body.Error.Message != "internal error" || body.Error.Details != nil {
			t.Errorf("Render(%v) = %d %+v, want a bare 500", err, status, body)
		}
	}
}

func TestRender_mapsEveryCategory(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{apierr.Invalid("f", "bad"), 400},
		{apierr.Unauthorized(), 401},
		{apierr.Forbidden(""), 403},
		{apierr.NotFound("board"), 404},
		{apierr.Conflict("taken"), 409},
		{apierr.TooLarge("big"), 413},
		{apierr.RateLimited(3), 429},
		{apierr.Unavailable("redis", errors.New("dial tcp")), 503},
		{apierr.Busy("decoding", 5), 503},
		{fmt.Errorf("wrapped: %w", apierr.NotFound("user")), 404},
		{fiber.ErrRequestEntityTooLarge, 413},
		{fiber.ErrNotFound, 404},
	}
	for _, tc := range cases {
		if status, _ := web.Render(tc.err); status != tc.want {
			t.Errorf("Render(%v) status %d, want %d", tc.err, status, tc.want)
		}
	}
	if _, body := web.Render(apierr.Unavailable("redis", errors.New("dial tcp 10.0.0.1"))); strings.Contains(body.Error.Message, "10.0.0.1") {
		t.Errorf("unavailable leaks its cause: %q", body.Error.Message)
	}
}

func TestHasLoneSurrogate(t *testing.T) {
	cases := []struct {
		raw  string
		want bool
	}{
		{`"plain"`, false},
		{`"\ud83d\ude00"`, false}, // a proper pair (an emoji)
		{`"\u00e9\u0041"`, false},
		{`"\\udcff"`, false}, // an escaped backslash, then text
		{`"\udcff"`, true},
		{`"\ud83d"`, true},
		{`"\ud83d\u0041"`, true},
		{`"\ud83dx\ude00"`, true},
		{`"\ude00\ud83d"`, true},
	}
	for _, c := range cases {
		if got := web.HasLoneSurrogate([]byte(c.raw)); got != c.want {
			t.Errorf("%s: %v, want %v", c.raw, got, c.want)
		}
	}
}

// JSON routes take JSON: a body sent as another media type (or none) is 415 in the error shape.
func TestDecode_refusesBodiesThatAreNotJSONWith415(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	f.Post("/", func(c *fiber.Ctx) error {
		var in struct {
			Name string `json:"name"`
		}
		if err := web.Decode(c, &in); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
	for _, c := range []struct {
		ctype string
		want  int
	}{
		{"", 415}, {"text/plain", 415}, {"application/x-www-form-urlencoded", 415},
		{"application/json", 204}, {"application/json; charset=utf-8", 204}, {"Application/JSON", 204}, {"application/merge-patch+json", 204},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"a"}`))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := f.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.want || (c.want == 415 && !strings.Contains(string(b), `"code":"unsupported_media_type"`)) {
			t.Errorf("Content-Type %q: %d %s, want %d", c.ctype, resp.StatusCode, b, c.want)
		}
	}
}

func TestSafeName_oneRuleForEveryName(t *testing.T) {
	for _, c := range []struct {
		s          string
		name, text bool
	}{
		{"Andromeda", true, true},
		{"Ünïcödé 名前 🚀", true, true},
		{"tab\tseparated", true, true},
		{"two\nlines", false, true},
		{"   ", false, true},
		{"\u00a0\u3000", false, true}, // only (non-breaking, ideographic) spaces
		{"bell\a", false, false},
		{"nul\x00", false, false},
		{"del\x7f", false, false},
		{"c1\u0085", false, false},
		{"c1\u009b[2J", false, false},
		{"invoice\u202egpj.exe", false, false}, // right-to-left override
		{"iso\u2066late", false, false},
		{"mark\u200f", false, false},
		{"line\u2028sep", false, true},
		{"bad\xffutf8", false, false},
	} {
		if got := web.SafeName(c.s); got != c.name {
			t.Errorf("SafeName(%q) = %v, want %v", c.s, got, c.name)
		}
		if got := web.SafeText(c.s); got != c.text {
			t.Errorf("SafeText(%q) = %v, want %v", c.s, got, c.text)
		}
	}
}

// Issue 14: a bad expires_at answered "malformed JSON" about the body, and a wrong type named
// the Go type ("must be a int"). The field at fault is named and the reason speaks JSON.
func TestDecode_badValuesNameTheirFieldNeverAGoType(t *testing.T) {
	type input struct {
		ExpiresAt *time.Time  `json:"expires_at"`
		ID        uuid.UUID   `json:"id"`
		Count     int         `json:"count"`
		Tags      []string    `json:"tags"`
		IDs       []uuid.UUID `json:"ids"`
	}
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	f.Post("/", func(c *fiber.Ctx) error {
		var in input
		if err := web.Decode(c, &in); err != nil {
			return err
		}
		return c.SendStatus(204)
	})
	for _, c := range []struct{ body, field, reason string }{
		{`{"expires_at":"tomorrow"}`, "expires_at", "RFC 3339"},
		{`{"id":"nope"}`, "id", "a UUID"},
		{`{"count":"many"}`, "count", "a whole number"},
		{`{"count":1.5}`, "count", "a whole number"},
		{`{"tags":"a"}`, "tags", "an array whose items are each a string"},
		{`{"ids":["x"]}`, "ids", "an array whose items are each a UUID"},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := f.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"`+c.field+`"`) || !strings.Contains(string(b), c.reason) ||
			strings.Contains(string(b), "time.Time") || strings.Contains(string(b), "int\"") || strings.Contains(string(b), "parsing") {
			t.Errorf("%s: %d %s, want 400 naming %s (%s)", c.body, resp.StatusCode, b, c.field, c.reason)
		}
	}
}

// A server at capacity (apierr.Busy) answers 503 with Retry-After, like a rate limit's 429.
func TestErrorHandler_busyAnswers503WithRetryAfter(t *testing.T) {
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	f.Get("/busy", func(c *fiber.Ctx) error { return fmt.Errorf("upload: %w", apierr.Busy("decoding", 5)) })
	f.Get("/down", func(c *fiber.Ctx) error { return apierr.Unavailable("redis", errors.New("dial")) })
	for _, tc := range []struct {
		path, retry string
	}{{"/busy", "5"}, {"/down", ""}} {
		resp, err := f.Test(httptest.NewRequest("GET", tc.path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != tc.retry {
			t.Errorf("%s: %d Retry-After %q, want 503 and %q", tc.path, resp.StatusCode, resp.Header.Get("Retry-After"), tc.retry)
		}
	}
}
