package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Rows for the profile routes. Profiles are tenant objects managed on the tenant root
// (profile:read / profile:manage there); a profile id is visible to whoever may read profiles on
// the root, so others get 404. Assignments are managed on their node (profile:manage there:
// workspace admins in their subtree); effective profiles are shown to whoever may read the
// workspace. `~` is the tenant root, which every member of the tenant can see (403, not 404).
// The rows never assign an access profile, and on the root only a privacy profile with the
// defaults, so they change no other row's decisions.
func init() {
	signedIn := expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized})
	// onRoot: tenant A's admin gets ok, B's admin acts in B (okOther), the rest of A 403.
	onRoot := func(ok, okOther int, except map[actor]int) map[actor]int {
		m := expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok, otherTenant: okOther})
		for a, s := range except {
			m[a] = s
		}
		return m
	}
	// profileByID: only those who may read profiles on the root can tell a profile exists.
	profileByID := func(ok int) map[actor]int {
		return expect(http.StatusNotFound, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok, auditor: http.StatusForbidden})
	}
	// manageOnNode: profile:manage on a workspace under msa/suit; actors who cannot read it get 404.
	manageOnNode := func(ok int) map[actor]int {
		return expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok, wsAdmin: ok,
			parentAdmin: ok, member: http.StatusNotFound, otherTenant: http.StatusNotFound, expired: http.StatusNotFound})
	}
	registerRows(
		matrixRow{route: "GET /api/v1/profile-types", path: fixed("/api/v1/profile-types"), want: signedIn},
		matrixRow{route: "GET /api/v1/profiles", path: fixed("/api/v1/profiles"),
			want: onRoot(http.StatusOK, http.StatusOK, map[actor]int{auditor: http.StatusOK})},
		matrixRow{route: "POST /api/v1/profiles", path: fixed("/api/v1/profiles"),
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"type": "quota", "name": w.unique(), "settings": map[string]any{}}
			},
			want: onRoot(http.StatusCreated, http.StatusCreated, nil)},
		matrixRow{route: "PATCH /api/v1/profiles/:id", name: "a profile of tenant A",
			path: func(t *testing.T, w *world, _ actor) string {
				return "/api/v1/profiles/" + matrixProfile(t, w, "quota").String()
			},
			body: func(*testing.T, *world, actor) any {
				return map[string]any{"description": "changed", "settings": map[string]any{"max_bulk_download_bytes": 1}}
			},
			want: profileByID(http.StatusOK)},
		matrixRow{route: "DELETE /api/v1/profiles/:id", name: "a profile of tenant A",
			path: func(t *testing.T, w *world, _ actor) string {
				return "/api/v1/profiles/" + matrixProfile(t, w, "quota").String()
			},
			want: profileByID(http.StatusNoContent)},
		matrixRow{route: "PUT /api/v1/workspaces/:ws/profiles/:type", name: "on a fresh workspace under msa/suit",
			path: func(t *testing.T, w *world, _ actor) string {
				return "/api/v1/workspaces/" + matrixChild(t, w) + "/profiles/quota"
			},
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"profile_id": matrixProfile(t, w, "quota")}
			},
			want: manageOnNode(http.StatusOK)},
		matrixRow{route: "PUT /api/v1/workspaces/:ws/profiles/:type", name: "on the tenant root (~)",
			path: fixed("/api/v1/workspaces/~/profiles/privacy"),
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"profile_id": matrixProfile(t, w, "privacy")}
			},
			// B's admin manages B's root, where tenant A's profile is not found.
			want: onRoot(http.StatusOK, http.StatusNotFound, nil)},
		matrixRow{route: "DELETE /api/v1/workspaces/:ws/profiles/:type", name: "on a fresh workspace under msa/suit",
			path: func(t *testing.T, w *world, _ actor) string {
				at := matrixChild(t, w)
				matrixAssign(t, w, at, "quota")
				return "/api/v1/workspaces/" + at + "/profiles/quota"
			},
			want: manageOnNode(http.StatusNoContent)},
		matrixRow{route: "DELETE /api/v1/workspaces/:ws/profiles/:type", name: "on the tenant root (~)",
			path: func(t *testing.T, w *world, _ actor) string {
				matrixAssign(t, w, "~", "privacy")
				return "/api/v1/workspaces/~/profiles/privacy"
			},
			// B's root has no privacy profile to unassign.
			want: onRoot(http.StatusNoContent, http.StatusNotFound, nil)},
		matrixRow{route: "GET /api/v1/workspaces/:ws/effective-profiles", name: "msa/suit",
			path: fixed("/api/v1/workspaces/msa~suit/effective-profiles"),
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized, member: http.StatusNotFound,
				otherTenant: http.StatusNotFound, expired: http.StatusNotFound})},
		matrixRow{route: "GET /api/v1/workspaces/:ws/effective-profiles", name: "the tenant root (~)",
			path: fixed("/api/v1/workspaces/~/effective-profiles"),
			want: onRoot(http.StatusOK, http.StatusOK, map[actor]int{auditor: http.StatusOK})},
	)
}

// matrixProfile creates a profile of the type in tenant A, with the type's defaults.
func matrixProfile(t *testing.T, w *world, typ string) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/profiles", w.a.Admin.Token,
		map[string]any{"type": typ, "name": w.unique(), "settings": map[string]any{}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create %s profile: %d %s", typ, r.Status, r.Body)
	}
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &p)
	return p.ID
}

// matrixChild creates a workspace under msa/suit and returns its {ws}.
func matrixChild(t *testing.T, w *world) string {
	t.Helper()
	slug := w.unique()
	w.addWorkspace(t, "msa/suit", slug)
	return strings.ReplaceAll("msa/suit/"+slug, "/", "~")
}

// matrixAssign assigns a fresh profile of the type on {ws} as tenant A's admin.
func matrixAssign(t *testing.T, w *world, at, typ string) {
	t.Helper()
	r := w.env.Do(http.MethodPut, "/api/v1/workspaces/"+at+"/profiles/"+typ, w.a.Admin.Token,
		map[string]any{"profile_id": matrixProfile(t, w, typ)})
	if r.Status != http.StatusOK {
		t.Fatalf("assign %s on %s: %d %s", typ, at, r.Status, r.Body)
	}
}
