package app_test

import (
	"net/http"
	"testing"
)

// Rows for restrictions that hold (issue 14): an access profile on msa/suit that restricts its
// admins (it denies admin an action there) is replaced or removed only by rights from above
// msa/suit — the tenant admin, the admin of msa — never by the admin of msa/suit it restricts.
// The action denied, audit:read, is decided on the tenant root only, so the profile left on
// msa/suit by the last cell changes no other row.
func init() {
	const suit = "/api/v1/workspaces/msa~suit/profiles/access"
	restricting := func(t *testing.T, w *world, _ actor) string {
		denyProfile(t, w, "msa/suit", "admin", "audit:read")
		return suit
	}
	fromAbove := func(ok int) map[actor]int {
		return expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok,
			parentAdmin: ok, member: http.StatusNotFound, otherTenant: http.StatusNotFound, expired: http.StatusNotFound})
	}
	registerRows(
		matrixRow{route: "DELETE /api/v1/workspaces/:ws/profiles/:type", name: "an access profile restricting the node's own admin",
			path: restricting, want: fromAbove(http.StatusNoContent)},
		matrixRow{route: "PUT /api/v1/workspaces/:ws/profiles/:type", name: "replacing an access profile restricting the node's own admin",
			path: restricting,
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"profile_id": matrixProfile(t, w, "access")}
			},
			want: fromAbove(http.StatusOK)},
	)
}

func init() {
	registerRows(matrixRow{route: "GET /api/v1/me/boards", path: fixed("/api/v1/me/boards"),
		// Everyone signed in has a list of their own (the other tenant's admin: theirs).
		want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized})})
}

func init() {
	registerRows(matrixRow{route: "POST /api/v1/auth/logout", name: "a write token cannot end its owner's sessions",
		path: fixed("/api/v1/auth/logout"),
		body: func(*testing.T, *world, actor) any { return map[string]any{"all": true} },
		token: func(t *testing.T, w *world, who actor) string {
			if who == anonymous {
				return ""
			}
			return matrixMint(t, w, w.token(who), "read", "write").secret
		},
		want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized})})
}

// Explain on boards and images (issue 14): the caller asks about themselves; the object is looked
// up as the caller, so whoever cannot read it gets 404 like for none, and the other tenant too.
func init() {
	privateBoard := func(t *testing.T, w *world, _ actor) string {
		k := bdKitOf(t, w)
		b := k.cached("explain-private", func() any { return k.board(t, anonymous, bdSpec{}) }).(bdBoard)
		return matrixExplain("", "board:update", "board:"+b.ID.String())
	}
	sharedImage := func(t *testing.T, w *world, _ actor) string {
		k := bdKitOf(t, w)
		b := k.cached("explain-shared", func() any { return k.board(t, anonymous, bdSpec{visibility: "shared", images: true}) }).(bdBoard)
		return matrixExplain("", "image:delete", "image:"+b.CreatorImage.String())
	}
	registerRows(
		matrixRow{route: "GET /api/v1/authz/explain", name: "oneself on a private board of msa/suit (its readers: admins, the auditor)",
			path: privateBoard,
			want: expect(http.StatusNotFound, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: http.StatusOK,
				wsAdmin: http.StatusOK, parentAdmin: http.StatusOK, auditor: http.StatusOK})},
		matrixRow{route: "GET /api/v1/authz/explain", name: "oneself on an image of a shared board of msa/suit (its readers)",
			path: sharedImage,
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized, member: http.StatusNotFound,
				otherTenant: http.StatusNotFound, expired: http.StatusNotFound})},
	)
}
