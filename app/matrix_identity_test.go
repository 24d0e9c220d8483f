package app_test

import (
	"net/http"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
)

// Rows for the foundation's routes: operations, docs, sign-up, sessions and users.
func init() {
	all200 := expect(http.StatusOK, nil)
	signedIn := func(status int) map[actor]int {
		return expect(status, map[actor]int{anonymous: http.StatusUnauthorized})
	}
	// adminOnly: tenant A's admin gets ok; other tenant's admin acts in B (okOther); anyone else 403.
	adminOnly := func(ok, okOther int) map[actor]int {
		return expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok, otherTenant: okOther})
	}
	// usersOfA: the tenant's admins and auditors read its users (the target's e-mail among them);
	// nobody else sees a user of tenant A other than themselves, not even in a refusal.
	readsUsers := func(who actor) bool { return who == tenantAdmin || who == auditor }
	usersOfA := func(_ *testing.T, w *world, who actor) []string {
		if readsUsers(who) {
			return []string{w.target.Email}
		}
		return nil
	}
	usersOfAHidden := func(_ *testing.T, w *world, who actor) []string {
		if readsUsers(who) {
			return nil
		}
		return []string{w.target.Email, w.a.Admin.Email}
	}
	registerRows(
		matrixRow{route: "GET /healthz", path: fixed("/healthz"), want: all200},
		matrixRow{route: "GET /readyz", path: fixed("/readyz"), want: all200},
		matrixRow{route: "GET /api/v1/openapi.json", path: fixed("/api/v1/openapi.json"), want: all200},
		matrixRow{route: "GET /api/v1/docs", path: fixed("/api/v1/docs"), want: all200},
		matrixRow{route: "POST /api/v1/tenants", name: "anyone may sign up",
			path: fixed("/api/v1/tenants"),
			body: func(t *testing.T, w *world, _ actor) any {
				slug := apptest.NewSlug("m")
				return map[string]any{"name": "M", "slug": slug, "admin": map[string]string{"email": "a@" + slug + ".test", "password": apptest.Password}}
			},
			want: expect(http.StatusCreated, nil)},
		matrixRow{route: "POST /api/v1/auth/login", name: "wrong password",
			path: fixed("/api/v1/auth/login"),
			body: func(t *testing.T, w *world, who actor) any {
				email := w.a.Admin.Email
				if who != anonymous {
					email = w.users[who].Email
				}
				return map[string]string{"tenant": w.a.Slug, "email": email, "password": "not the password"}
			},
			want: expect(http.StatusUnauthorized, nil)},
		matrixRow{route: "POST /api/v1/auth/refresh", name: "not a refresh token",
			path: fixed("/api/v1/auth/refresh"),
			body: func(*testing.T, *world, actor) any { return map[string]string{"refresh_token": "art_bogus"} },
			want: expect(http.StatusUnauthorized, nil)},
		matrixRow{route: "POST /api/v1/auth/logout", name: "ends a fresh session",
			path: fixed("/api/v1/auth/logout"),
			token: func(t *testing.T, w *world, who actor) string {
				if who == anonymous {
					return ""
				}
				slug := w.a.Slug
				if who == otherTenant {
					slug = w.b.Slug
				}
				return w.env.Login(t, slug, w.users[who].Email, apptest.Password).AccessToken
			},
			want: signedIn(http.StatusNoContent)},
		matrixRow{route: "GET /api/v1/me", path: fixed("/api/v1/me"), want: signedIn(http.StatusOK)},
		matrixRow{route: "GET /api/v1/users", path: fixed("/api/v1/users"),
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: http.StatusOK, auditor: http.StatusOK, otherTenant: http.StatusOK}),
			has:  usersOfA, lacks: usersOfAHidden},
		matrixRow{route: "POST /api/v1/users", path: fixed("/api/v1/users"),
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]string{"email": w.unique() + "@example.test", "password": apptest.Password, "role": "viewer"}
			},
			want: adminOnly(http.StatusCreated, http.StatusCreated)},
		matrixRow{route: "GET /api/v1/users/:id", name: "another user of tenant A",
			path: func(t *testing.T, w *world, _ actor) string { return "/api/v1/users/" + w.target.ID.String() },
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: http.StatusOK, auditor: http.StatusOK, otherTenant: http.StatusNotFound}),
			has:  usersOfA, lacks: usersOfAHidden},
		matrixRow{route: "GET /api/v1/users/:id", name: "oneself",
			path: func(t *testing.T, w *world, who actor) string {
				if who == anonymous {
					return "/api/v1/users/" + w.target.ID.String()
				}
				return "/api/v1/users/" + w.users[who].ID.String()
			},
			want: signedIn(http.StatusOK)},
		matrixRow{route: "PATCH /api/v1/users/:id", name: "rename another user of tenant A",
			path: func(t *testing.T, w *world, _ actor) string { return "/api/v1/users/" + w.target.ID.String() },
			body: func(*testing.T, *world, actor) any { return map[string]string{"display_name": "Renamed"} },
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: http.StatusOK, otherTenant: http.StatusNotFound})},
	)
}
