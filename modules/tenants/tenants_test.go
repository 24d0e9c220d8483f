package tenants_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/modules/tenants"
)

func TestSignUp_createsTheTenantItsAdminAndTheDefaultWorkspace(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	slug := apptest.NewSlug("acme")
	body := signUpBody(slug)
	body["name"] = "  Acme Corp  "

	r := env.Do(http.MethodPost, tenantsPath, "", body)
	apptest.WantStatus(t, r, http.StatusCreated)
	// Exactly the documented shape: nothing else about the admin (no hash, no roles).
	var shape map[string]map[string]any
	r.JSON(t, &shape)
	if got := slices.Sorted(maps.Keys(shape)); !slices.Equal(got, []string{"tenant", "user"}) {
		t.Fatalf("answer keys %v", got)
	}
	if got := slices.Sorted(maps.Keys(shape["tenant"])); !slices.Equal(got, []string{"id", "name", "slug"}) {
		t.Errorf("tenant keys %v", got)
	}
	if got := slices.Sorted(maps.Keys(shape["user"])); !slices.Equal(got, []string{"email", "id"}) {
		t.Errorf("user keys %v", got)
	}
	var res struct {
		Tenant struct {
			ID   uuid.UUID `json:"id"`
			Slug string    `json:"slug"`
			Name string    `json:"name"`
		} `json:"tenant"`
		User struct {
			ID    uuid.UUID `json:"id"`
			Email string    `json:"email"`
		} `json:"user"`
	}
	r.JSON(t, &res)
	email := "ann@" + slug + ".test"
	if res.Tenant.Slug != slug || res.Tenant.Name != "Acme Corp" || res.User.Email != email ||
		res.Tenant.ID == uuid.Nil || res.User.ID == uuid.Nil {
		t.Errorf("sign-up answered %s", r.Body)
	}

	tok := env.Login(t, slug, email, apptest.Password)
	me := env.Do(http.MethodGet, "/api/v1/me", tok.AccessToken, nil)
	apptest.WantStatus(t, me, http.StatusOK)
	var v struct {
		ID          uuid.UUID `json:"id"`
		TenantID    uuid.UUID `json:"tenant_id"`
		DisplayName string    `json:"display_name"`
		Roles       []string  `json:"roles"`
	}
	me.JSON(t, &v)
	if v.ID != res.User.ID || v.TenantID != res.Tenant.ID || v.DisplayName != "Ann" || !slices.Equal(v.Roles, []string{"admin"}) {
		t.Errorf("/me of the first admin: %+v", v)
	}
	if n := tenantRows(t, env, res.Tenant.ID, "workspaces", "path = ? AND parent_id IS NULL", "default"); n != 1 {
		t.Errorf("%d root workspaces named default, want 1", n)
	}
	if n := tenantCount(t, env); n != 1 {
		t.Errorf("%d tenants, want 1", n)
	}
}

func TestSignUp_badInputIs400NamingTheFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)

	type change func(slug string, b map[string]any)
	admin := func(k string, v any) change {
		return func(_ string, b map[string]any) { b["admin"].(map[string]any)[k] = v }
	}
	top := func(k string, v any) change {
		return func(_ string, b map[string]any) {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
	}
	cases := []struct {
		name  string
		raw   func(slug string) string // a body that cannot be built from a map
		edit  change
		field string
		// slugFree says the request named a valid slug that must stay free.
		slugFree bool
	}{
		{name: "malformed JSON", raw: func(s string) string { return `{"name":"Acme","slug":"` + s + `",` }, field: "body", slugFree: true},
		{name: "empty body", raw: func(string) string { return `` }, field: "body"},
		{name: "JSON array", raw: func(string) string { return `[1,2]` }, field: "body"},
		{name: "trailing data", raw: func(s string) string { b, _ := json.Marshal(signUpBody(s)); return string(b) + `{}` }, field: "body", slugFree: true},
		{name: "unknown field", edit: top("plan", "pro"), field: "plan", slugFree: true},
		{name: "slug with a space and capitals", edit: top("slug", "Bad Slug"), field: "slug"},
		{name: "slug starting with a dash", edit: top("slug", "-x"), field: "slug"},
		{name: "slug of one character", edit: top("slug", "a"), field: "slug"},
		{name: "slug of 64 characters", edit: top("slug", strings.Repeat("a", 64)), field: "slug"},
		{name: "slug of wrong type", edit: top("slug", 5), field: "slug"},
		{name: "missing slug", edit: top("slug", nil), field: "slug"},
		{name: "missing name", edit: top("name", nil), field: "name", slugFree: true},
		{name: "blank name", edit: top("name", "   "), field: "name", slugFree: true},
		{name: "name too long", edit: top("name", strings.Repeat("n", 201)), field: "name", slugFree: true},
		// PostgreSQL refuses NUL in text: bad input must be a 400, never a 500.
		{name: "NUL in name", edit: top("name", "Ac\x00me"), field: "name", slugFree: true},
		{name: "missing admin", edit: top("admin", nil), field: "admin", slugFree: true},
		{name: "admin of wrong type", edit: top("admin", "ann"), field: "admin", slugFree: true},
		{name: "short password", edit: admin("password", "short"), field: "admin.password", slugFree: true},
		{name: "missing password", edit: func(_ string, b map[string]any) { delete(b["admin"].(map[string]any), "password") }, field: "admin.password", slugFree: true},
		{name: "invalid e-mail", edit: admin("email", "not-an-email"), field: "admin.email", slugFree: true},
		{name: "e-mail of wrong type", edit: admin("email", true), field: "admin.email", slugFree: true},
		{name: "display name too long", edit: admin("display_name", strings.Repeat("d", 101)), field: "admin.display_name", slugFree: true},
		{name: "NUL in display name", edit: admin("display_name", "A\x00nn"), field: "admin.display_name", slugFree: true},
	}
	before := tenantCount(t, env)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			slug := apptest.NewSlug("bad")
			var body any
			if c.raw != nil {
				body = c.raw(slug)
			} else {
				b := signUpBody(slug)
				c.edit(slug, b)
				body = b
			}
			r := env.Do(http.MethodPost, tenantsPath, "", body)
			apptest.WantError(t, r, http.StatusBadRequest, "invalid")
			var e struct {
				Error struct {
					Details []struct {
						Field string `json:"field"`
					} `json:"details"`
				} `json:"error"`
			}
			r.JSON(t, &e)
			if len(e.Error.Details) == 0 || e.Error.Details[0].Field != c.field {
				t.Fatalf("details %s, want field %q first", r.Body, c.field)
			}
			if c.slugFree {
				// Nothing was written: the slug is still free for a valid sign-up.
				apptest.WantStatus(t, env.Do(http.MethodPost, tenantsPath, "", signUpBody(slug)), http.StatusCreated)
			}
		})
	}
	var freed int64
	for _, c := range cases {
		if c.slugFree {
			freed++
		}
	}
	if after := tenantCount(t, env); after != before+freed {
		t.Errorf("%d tenants after the refused sign-ups and %d valid ones, want %d", after, freed, before+freed)
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/me", tn.Admin.Token, nil), http.StatusOK)
}

func TestSignUp_takenSlugIsAConflictThatRevealsNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	suspended := env.SignUp(t)
	if err := env.App.Tenants.SetStatus(context.Background(), suspended.Slug, tenants.StatusSuspended); err != nil {
		t.Fatal(err)
	}

	for _, slug := range []string{tn.Slug, suspended.Slug} {
		b := signUpBody(slug)
		b["admin"].(map[string]any)["email"] = "intruder@evil.test"
		r := env.Do(http.MethodPost, tenantsPath, "", b)
		apptest.WantError(t, r, http.StatusConflict, "conflict")
		if bytes.Contains(r.Body, []byte("@")) || bytes.Contains(r.Body, []byte(tn.ID.String())) {
			t.Errorf("conflict answer %s reveals the existing tenant", r.Body)
		}
		apptest.WantError(t, env.Do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{
			"tenant": slug, "email": "intruder@evil.test", "password": apptest.Password}), http.StatusUnauthorized, "unauthorized")
	}
	if n := tenantCount(t, env); n != 2 {
		t.Errorf("%d tenants, want 2", n)
	}
	if n := tenantRows(t, env, tn.ID, "users", "true"); n != 1 {
		t.Errorf("tenant has %d users after a refused sign-up, want 1", n)
	}
	// The existing tenant is untouched.
	env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password)
}

func TestSignUp_oversizeBodyIs413AndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	addr := serve(t, env)
	limit := env.Cfg.BodyLimitBytes
	if limit <= 0 {
		t.Fatalf("body limit %d", limit)
	}
	usersBefore := tenantRows(t, env, tn.ID, "users", "true")

	// Valid JSON padded with whitespace past the limit: only the size is wrong.
	pad := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return append(b, bytes.Repeat([]byte(" "), limit+1-len(b))...)
	}
	for _, chunked := range []bool{false, true} {
		slug := apptest.NewSlug("big")
		r := rawPost(t, addr, tenantsPath, "", pad(signUpBody(slug)), chunked)
		if r.Status != http.StatusRequestEntityTooLarge || r.ErrorCode() != "too_large" {
			t.Errorf("sign-up (chunked %v): got %d %s, want 413 too_large", chunked, r.Status, r.Body)
		}
		r = rawPost(t, addr, "/api/v1/users", tn.Admin.Token,
			pad(map[string]string{"email": "big@" + tn.Slug + ".test", "password": apptest.Password}), chunked)
		if r.Status != http.StatusRequestEntityTooLarge || r.ErrorCode() != "too_large" {
			t.Errorf("create user (chunked %v): got %d %s, want 413 too_large", chunked, r.Status, r.Body)
		}
		apptest.WantStatus(t, env.Do(http.MethodPost, tenantsPath, "", signUpBody(slug)), http.StatusCreated)
	}
	if n := tenantRows(t, env, tn.ID, "users", "true"); n != usersBefore {
		t.Errorf("users went from %d to %d", usersBefore, n)
	}
	// A body at the limit is not refused for its size.
	slug := apptest.NewSlug("edge")
	b, _ := json.Marshal(signUpBody(slug))
	atLimit := append(b, bytes.Repeat([]byte(" "), limit-len(b))...)
	apptest.WantStatus(t, rawPost(t, addr, tenantsPath, "", atLimit, false), http.StatusCreated)
}

func TestSignUp_disabledDeploymentAnswers403(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.SignupEnabled = false })
	slug := apptest.NewSlug("closed")

	apptest.WantError(t, env.Do(http.MethodPost, tenantsPath, "", signUpBody(slug)), http.StatusForbidden, "forbidden")
	if n := tenantCount(t, env); n != 0 {
		t.Fatalf("%d tenants after a refused sign-up", n)
	}
	// Operators still create tenants, and their admins log in over HTTP.
	in := tenants.SignUpInput{Name: "Acme", Slug: slug,
		Admin: tenants.AdminInput{Email: "ann@" + slug + ".test", Password: apptest.Password}}
	if _, err := env.App.Tenants.Create(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	env.Login(t, slug, in.Admin.Email, apptest.Password)
}

func TestPublicEndpoints_revealNoUsersIdentity(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	hidden := env.NewUser(t, tn, "viewer")
	secrets := []string{tn.Admin.Email, hidden.Email, tn.Admin.ID.String(), hidden.ID.String()}

	reqs := []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/healthz", nil},
		{http.MethodGet, "/readyz", nil},
		{http.MethodGet, "/metrics", nil},
		{http.MethodGet, "/api/v1/openapi.json", nil},
		{http.MethodGet, "/api/v1/docs", nil},
		{http.MethodGet, "/api/v1/me", nil},
		{http.MethodGet, "/api/v1/users", nil},
		{http.MethodGet, "/api/v1/users/" + hidden.ID.String(), nil},
		{http.MethodPost, "/api/v1/auth/logout", nil},
		{http.MethodPost, "/api/v1/auth/refresh", map[string]string{"refresh_token": "art_x"}},
		{http.MethodPost, "/api/v1/auth/login", map[string]string{"tenant": tn.Slug, "email": tn.Admin.Email, "password": "wrong password"}},
		{http.MethodPost, "/api/v1/auth/login", map[string]string{"tenant": tn.Slug, "email": "nobody@x.test", "password": "wrong password"}},
		{http.MethodPost, tenantsPath, signUpBody(tn.Slug)},
	}
	for _, q := range reqs {
		r := env.Do(q.method, q.path, "", q.body)
		if r.Status >= 500 {
			t.Errorf("%s %s: %d %s", q.method, q.path, r.Status, r.Body)
		}
		for _, s := range secrets {
			if bytes.Contains(bytes.ToLower(r.Body), []byte(strings.ToLower(s))) {
				t.Errorf("%s %s reveals %s: %s", q.method, q.path, s, r.Body)
			}
			for k, vs := range r.Header {
				for _, v := range vs {
					if strings.Contains(strings.ToLower(v), strings.ToLower(s)) {
						t.Errorf("%s %s reveals %s in header %s", q.method, q.path, s, k)
					}
				}
			}
		}
	}

	// Signing up with an e-mail that exists in another tenant shows only what the caller sent,
	// and a new, unrelated user.
	slug := apptest.NewSlug("again")
	b := signUpBody(slug)
	b["admin"].(map[string]any)["email"] = tn.Admin.Email
	r := env.Do(http.MethodPost, tenantsPath, "", b)
	apptest.WantStatus(t, r, http.StatusCreated)
	var res struct {
		User struct {
			ID    uuid.UUID `json:"id"`
			Email string    `json:"email"`
		} `json:"user"`
	}
	r.JSON(t, &res)
	if res.User.ID == tn.Admin.ID || res.User.Email != tn.Admin.Email ||
		bytes.Contains(r.Body, []byte(hidden.Email)) || bytes.Contains(r.Body, []byte(tn.Admin.ID.String())) {
		t.Errorf("sign-up answered %s", r.Body)
	}
}

// Issue 14: anonymous sign-up cost an argon2id hash and a tenant's rows, unlimited. It is limited
// per client address; another address is not affected.
func TestSignUp_regression_limitedPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.SignupLimitPerAddress = 2 })
	body := func() map[string]any {
		slug := apptest.NewSlug("lim")
		return map[string]any{"name": "Limited", "slug": slug,
			"admin": map[string]string{"email": "a@" + slug + ".test", "password": apptest.Password}}
	}
	for range 2 {
		if r := env.Do(http.MethodPost, "/api/v1/tenants", "", body()); r.Status != http.StatusCreated {
			t.Fatalf("sign-up within the limit: %d %s", r.Status, r.Body)
		}
	}
	r := env.Do(http.MethodPost, "/api/v1/tenants", "", body())
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third sign-up from one address: %d %s (Retry-After %q)", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	id := uuid.New() // a fresh address: the limiter's Redis outlives test runs
	env.ClientIP = net.IPv4(10, id[0], id[1], id[2]).String()
	if r := env.Do(http.MethodPost, "/api/v1/tenants", "", body()); r.Status != http.StatusCreated {
		t.Fatalf("sign-up from another address: %d %s", r.Status, r.Body)
	}
}
