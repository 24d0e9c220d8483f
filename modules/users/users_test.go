package users_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
)

func TestUsers_userOfAnotherTenantIsIndistinguishableFromNone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	b := env.SignUp(t)
	bUser := env.NewUser(t, b, "editor")

	var reference []byte
	for _, id := range []string{bUser.ID.String(), b.Admin.ID.String(), uuid.NewString(), "not-a-uuid", "1"} {
		for _, req := range []struct {
			method string
			body   any
		}{
			{http.MethodGet, nil},
			{http.MethodPatch, map[string]any{"disabled": true}},
			{http.MethodPatch, map[string]any{"role": "viewer", "display_name": "Owned"}},
		} {
			r := env.Do(req.method, usersPath+"/"+id, a.Admin.Token, req.body)
			apptest.WantError(t, r, http.StatusNotFound, "not_found")
			if reference == nil {
				reference = r.Body
			}
			if !bytes.Equal(r.Body, reference) {
				t.Errorf("%s %s: body %s differs from %s", req.method, id, r.Body, reference)
			}
		}
	}

	// Nothing changed in tenant B: its user still works, unrenamed, with the same role.
	r := env.Do(http.MethodGet, usersPath+"/"+bUser.ID.String(), b.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); v.Disabled || v.DisplayName != "editor" || !slices.Equal(v.Roles, []string{"editor"}) {
		t.Errorf("tenant B's user changed: %+v", v)
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/me", bUser.Token, nil), http.StatusOK)
}

func TestUsers_listNeverShowsAnotherTenantsUsers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	b := env.SignUp(t)
	wantA := map[uuid.UUID]bool{a.Admin.ID: true, env.NewUser(t, a, "editor").ID: true, env.NewUser(t, a, "viewer").ID: true}
	wantB := map[uuid.UUID]bool{b.Admin.ID: true, env.NewUser(t, b, "auditor").ID: true}

	for _, c := range []struct {
		name  string
		token string
		want  map[uuid.UUID]bool
		slug  string
	}{
		{"tenant A", a.Admin.Token, wantA, a.Slug},
		{"tenant B", b.Admin.Token, wantB, b.Slug},
	} {
		got := allUsers(t, env, c.token)
		if len(got) != len(c.want) {
			t.Errorf("%s lists %d users, want %d: %+v", c.name, len(got), len(c.want), got)
		}
		for _, v := range got {
			if !c.want[v.ID] || !strings.HasSuffix(v.Email, "@"+c.slug+".test") {
				t.Errorf("%s lists %+v, not one of its own users", c.name, v)
			}
		}
	}
}

func TestUsers_sameEmailInTwoTenantsIsTwoUnrelatedUsers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	const email = "sam@shared.test"
	const passwordA, passwordB = "password of sam in A", "password of sam in B"

	slugA := apptest.NewSlug("a")
	r := env.Do(http.MethodPost, "/api/v1/tenants", "", map[string]any{"name": "A", "slug": slugA,
		"admin": map[string]string{"email": email, "password": passwordA}})
	apptest.WantStatus(t, r, http.StatusCreated)
	var signUp struct {
		Tenant struct {
			ID uuid.UUID `json:"id"`
		} `json:"tenant"`
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	r.JSON(t, &signUp)

	b := env.SignUp(t)
	inB := create(t, env, b.Admin.Token, map[string]string{"email": email, "password": passwordB, "role": "viewer"})
	if inB.ID == signUp.User.ID {
		t.Fatalf("both tenants' %s share id %s", email, inB.ID)
	}

	for _, c := range []struct {
		slug, password string
		wantID         uuid.UUID
		wantTenant     uuid.UUID
	}{
		{slugA, passwordA, signUp.User.ID, signUp.Tenant.ID},
		{b.Slug, passwordB, inB.ID, b.ID},
	} {
		tok := env.Login(t, c.slug, email, c.password)
		r := env.Do(http.MethodGet, "/api/v1/me", tok.AccessToken, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		if v := userOf(t, r); v.ID != c.wantID || v.TenantID != c.wantTenant {
			t.Errorf("login to %s is %+v, want user %s of tenant %s", c.slug, v, c.wantID, c.wantTenant)
		}
	}
	// Each password opens its own tenant only.
	for _, c := range []struct{ slug, password string }{{slugA, passwordB}, {b.Slug, passwordA}} {
		r := env.Do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"tenant": c.slug, "email": email, "password": c.password})
		apptest.WantError(t, r, http.StatusUnauthorized, "unauthorized")
	}
	// Disabling one leaves the other alone.
	apptest.WantStatus(t, env.Do(http.MethodPatch, usersPath+"/"+inB.ID.String(), b.Admin.Token, map[string]any{"disabled": true}), http.StatusOK)
	env.Login(t, slugA, email, passwordA)
}

func TestUsers_nonAdminsCannotListCreateOrUpdate(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)

	for _, c := range []struct {
		role    string
		canRead bool
	}{
		{"viewer", false},
		{"editor", false},
		{"member", false},
		{"auditor", true},
	} {
		t.Run(c.role, func(t *testing.T) {
			t.Parallel()
			u := env.NewUser(t, tn, c.role)
			wantRoles := []string{c.role}
			if c.role == "member" {
				wantRoles = []string{}
			}

			list := env.Do(http.MethodGet, usersPath, u.Token, nil)
			getAdmin := env.Do(http.MethodGet, usersPath+"/"+tn.Admin.ID.String(), u.Token, nil)
			if c.canRead {
				apptest.WantStatus(t, list, http.StatusOK)
				if !ids(allUsers(t, env, u.Token))[tn.Admin.ID] {
					t.Errorf("the %s's list lacks the admin", c.role)
				}
				apptest.WantStatus(t, getAdmin, http.StatusOK)
			} else {
				apptest.WantError(t, list, http.StatusForbidden, "forbidden")
				apptest.WantError(t, getAdmin, http.StatusForbidden, "forbidden")
			}

			newEmail := "new-by-" + c.role + "@" + tn.Slug + ".test"
			r := env.Do(http.MethodPost, usersPath, u.Token, map[string]string{"email": newEmail, "password": apptest.Password, "role": "admin"})
			apptest.WantError(t, r, http.StatusForbidden, "forbidden")
			for _, v := range allUsers(t, env, tn.Admin.Token) {
				if v.Email == newEmail {
					t.Errorf("the %s's refused create wrote %+v", c.role, v)
				}
			}

			apptest.WantError(t, env.Do(http.MethodPatch, usersPath+"/"+tn.Admin.ID.String(), u.Token, map[string]any{"disabled": true}),
				http.StatusForbidden, "forbidden")
			apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/me", tn.Admin.Token, nil), http.StatusOK)

			// Nobody promotes themselves.
			apptest.WantError(t, env.Do(http.MethodPatch, usersPath+"/"+u.ID.String(), u.Token, map[string]any{"role": "admin"}),
				http.StatusForbidden, "forbidden")

			self := env.Do(http.MethodGet, usersPath+"/"+u.ID.String(), u.Token, nil)
			apptest.WantStatus(t, self, http.StatusOK)
			if v := userOf(t, self); v.ID != u.ID || v.Email != u.Email || !slices.Equal(v.Roles, wantRoles) {
				t.Errorf("the %s reads themselves as %+v, want roles %v", c.role, v, wantRoles)
			}
		})
	}
	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		apptest.WantError(t, env.Do(http.MethodGet, usersPath, "", nil), http.StatusUnauthorized, "unauthorized")
		apptest.WantError(t, env.Do(http.MethodPost, usersPath, "", map[string]string{"email": "x@y.test", "password": apptest.Password}),
			http.StatusUnauthorized, "unauthorized")
	})
}

func TestUsers_adminCannotDisableOrDemoteThemselves(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	self := usersPath + "/" + tn.Admin.ID.String()

	for _, body := range []map[string]any{
		{"disabled": true},
		{"role": "viewer"},
		{"role": "member"},
		{"role": "auditor", "display_name": "Renamed"},
		{"disabled": true, "display_name": "Renamed"},
	} {
		apptest.WantError(t, env.Do(http.MethodPatch, self, tn.Admin.Token, body), http.StatusConflict, "conflict")
	}
	r := env.Do(http.MethodGet, "/api/v1/me", tn.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); v.Disabled || v.DisplayName != "Admin" || !slices.Equal(v.Roles, []string{"admin"}) {
		t.Fatalf("a refused self-change was written: %+v", v)
	}

	// Harmless changes of oneself are fine, and another admin may demote this one.
	r = env.Do(http.MethodPatch, self, tn.Admin.Token, map[string]any{"display_name": "Boss", "role": "admin", "disabled": false})
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); v.DisplayName != "Boss" || !slices.Equal(v.Roles, []string{"admin"}) {
		t.Errorf("rename answered %+v", v)
	}
	second := env.NewUser(t, tn, "admin")
	apptest.WantStatus(t, env.Do(http.MethodPatch, self, second.Token, map[string]any{"role": "viewer"}), http.StatusOK)
	apptest.WantError(t, env.Do(http.MethodGet, usersPath, tn.Admin.Token, nil), http.StatusForbidden, "forbidden")
}

func TestUsers_duplicateEmailInOneTenantIsAConflict(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	email := "Dup@" + tn.Slug + ".test"
	first := create(t, env, tn.Admin.Token, map[string]string{"email": email, "password": apptest.Password})

	for _, e := range []string{email, strings.ToLower(email), strings.ToUpper(email), strings.ToUpper(tn.Admin.Email)} {
		r := env.Do(http.MethodPost, usersPath, tn.Admin.Token, map[string]string{"email": e, "password": "another password"})
		apptest.WantError(t, r, http.StatusConflict, "conflict")
	}
	got := allUsers(t, env, tn.Admin.Token)
	if want := ids([]view{{ID: tn.Admin.ID}, first}); len(got) != 2 || !want[got[0].ID] || !want[got[1].ID] {
		t.Errorf("users after the conflicts: %+v, want the admin and %s", got, first.ID)
	}
	// The first account's password was not replaced.
	env.Login(t, tn.Slug, email, apptest.Password)
}

func TestUsers_roleChangeTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	u := env.NewUser(t, tn, "viewer")
	path := usersPath + "/" + u.ID.String()

	apptest.WantError(t, env.Do(http.MethodGet, usersPath, u.Token, nil), http.StatusForbidden, "forbidden")
	r := env.Do(http.MethodPatch, path, tn.Admin.Token, map[string]any{"role": "auditor"})
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); !slices.Equal(v.Roles, []string{"auditor"}) {
		t.Fatalf("roles after promotion: %v", v.Roles)
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, usersPath, u.Token, nil), http.StatusOK)

	r = env.Do(http.MethodPatch, path, tn.Admin.Token, map[string]any{"role": "member"})
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); len(v.Roles) != 0 {
		t.Fatalf("roles after demotion to member: %v", v.Roles)
	}
	apptest.WantError(t, env.Do(http.MethodGet, usersPath, u.Token, nil), http.StatusForbidden, "forbidden")
}

func TestUsers_pagingVisitsEveryUserExactlyOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	want := map[uuid.UUID]bool{tn.Admin.ID: true}
	for i := range 5 {
		v := create(t, env, tn.Admin.Token, map[string]string{
			"email": "u" + string(rune('e'-i)) + "@" + tn.Slug + ".test", "password": apptest.Password})
		want[v.ID] = true
	}

	seen := map[uuid.UUID]int{}
	var order []uuid.UUID
	var sizes []int
	path := usersPath + "?limit=2"
	for range 10 {
		r := env.Do(http.MethodGet, path, tn.Admin.Token, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var p page
		r.JSON(t, &p)
		sizes = append(sizes, len(p.Items))
		for _, v := range p.Items {
			seen[v.ID]++
			order = append(order, v.ID)
		}
		if p.NextCursor == nil {
			break
		}
		path = usersPath + "?limit=2&cursor=" + *p.NextCursor
	}
	if !slices.Equal(sizes, []int{2, 2, 2}) {
		t.Errorf("page sizes %v, want [2 2 2] and a null cursor on the last", sizes)
	}
	if len(seen) != len(want) {
		t.Errorf("paging saw %d users, want %d", len(seen), len(want))
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Errorf("user %s seen %d times (known: %v)", id, n, want[id])
		}
	}
	if !slices.IsSortedFunc(order, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }) {
		t.Errorf("pages are not in id order: %v", order)
	}
}

func TestUsers_badPagingParametersAre400NamingTheField(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	for _, c := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=500", "limit"},
		{"limit=201", "limit"},
		{"limit=-1", "limit"},
		{"limit=abc", "limit"},
		{"cursor=garbage!", "cursor"},
		{"cursor=YWJj", "cursor"}, // valid base64, but not an id
		{"limit=2&cursor=%25%25", "cursor"},
	} {
		t.Run(c.query, func(t *testing.T) {
			apptest.WantInvalid(t, env.Do(http.MethodGet, usersPath+"?"+c.query, tn.Admin.Token, nil), c.field)
		})
	}
	// The bounds themselves are fine.
	for _, q := range []string{"limit=1", "limit=200"} {
		apptest.WantStatus(t, env.Do(http.MethodGet, usersPath+"?"+q, tn.Admin.Token, nil), http.StatusOK)
	}
}

func TestUsers_badInputIs400AndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	target := env.NewUser(t, tn, "editor")
	email := "fresh@" + tn.Slug + ".test"
	before := len(allUsers(t, env, tn.Admin.Token))

	creates := []struct{ name, body, field string }{
		{"malformed JSON", `{"email":"` + email + `",`, "body"},
		{"empty body", ``, "body"},
		{"JSON array", `[]`, "body"},
		{"trailing data", `{"email":"` + email + `","password":"0123456789"} {}`, "body"},
		{"unknown field", `{"email":"` + email + `","password":"0123456789","is_admin":true}`, "is_admin"},
		{"missing e-mail", `{"password":"0123456789"}`, "email"},
		{"invalid e-mail", `{"email":"not-an-email","password":"0123456789"}`, "email"},
		{"e-mail of wrong type", `{"email":5,"password":"0123456789"}`, "email"},
		{"missing password", `{"email":"` + email + `"}`, "password"},
		{"short password", `{"email":"` + email + `","password":"short"}`, "password"},
		{"unknown role", `{"email":"` + email + `","password":"0123456789","role":"owner"}`, "role"},
		{"display name too long", `{"email":"` + email + `","password":"0123456789","display_name":"` + strings.Repeat("x", 101) + `"}`, "display_name"},
		// PostgreSQL cannot store NUL in text; bad input must be a 400, not a 500.
		{"NUL in display name", `{"email":"` + email + `","password":"0123456789","display_name":"a\u0000b"}`, "display_name"},
	}
	for _, c := range creates {
		t.Run("create "+c.name, func(t *testing.T) {
			apptest.WantInvalid(t, env.Do(http.MethodPost, usersPath, tn.Admin.Token, c.body), c.field)
		})
	}
	if after := len(allUsers(t, env, tn.Admin.Token)); after != before {
		t.Fatalf("refused creates changed the user count from %d to %d", before, after)
	}
	// The e-mail is still free.
	create(t, env, tn.Admin.Token, map[string]string{"email": email, "password": apptest.Password})

	updates := []struct{ name, body, field string }{
		{"nothing to change", `{}`, "body"},
		{"unknown field", `{"email":"other@x.test"}`, "email"},
		{"disabled of wrong type", `{"disabled":"yes"}`, "disabled"},
		{"unknown role", `{"role":"owner"}`, "role"},
		{"display name too long", `{"display_name":"` + strings.Repeat("x", 101) + `"}`, "display_name"},
		{"NUL in display name", `{"display_name":"a\u0000b"}`, "display_name"},
		{"valid change beside an unknown role", `{"disabled":true,"role":"root"}`, "role"},
	}
	for _, c := range updates {
		t.Run("update "+c.name, func(t *testing.T) {
			apptest.WantInvalid(t, env.Do(http.MethodPatch, usersPath+"/"+target.ID.String(), tn.Admin.Token, c.body), c.field)
		})
	}
	r := env.Do(http.MethodGet, usersPath+"/"+target.ID.String(), tn.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	if v := userOf(t, r); v.Disabled || v.DisplayName != "editor" || v.Email != target.Email || !slices.Equal(v.Roles, []string{"editor"}) {
		t.Errorf("refused updates changed the user: %+v", v)
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/me", target.Token, nil), http.StatusOK)
}
