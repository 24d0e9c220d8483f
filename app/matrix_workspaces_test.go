package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
)

// Rows for the workspace and grant routes. The node is msa/suit; a workspace is visible to whoever
// may read it (grants on it or above), so member, expired and the other tenant's admin get 404 on
// it. Creating needs workspace:create on the parent, deleting workspace:delete on the workspace
// itself, moving workspace:move on the current and the destination parent. `~` on the grant
// routes is the caller's tenant root, visible to every member (403, not 404). Destructive rows
// work on fresh objects made per cell.
func init() {
	const ws = "/api/v1/workspaces"
	// onSuit: ok for the admins of msa/suit and above; 403 for the other roles that see it; 404
	// for those who do not.
	onSuit := func(ok int, except map[actor]int) map[actor]int {
		m := expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok,
			wsAdmin: ok, parentAdmin: ok, member: http.StatusNotFound, otherTenant: http.StatusNotFound,
			expired: http.StatusNotFound})
		for a, s := range except {
			m[a] = s
		}
		return m
	}
	// onRoot: ok for tenant A's admin (okOther for B's admin, acting in B), 403 for the rest of A.
	onRoot := func(ok, okOther int, except map[actor]int) map[actor]int {
		m := expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: ok, otherTenant: okOther})
		for a, s := range except {
			m[a] = s
		}
		return m
	}
	readers := expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized, member: http.StatusNotFound,
		otherTenant: http.StatusNotFound, expired: http.StatusNotFound})
	freshChild := func(t *testing.T, w *world, _ actor) string { return ws + "/" + matrixSuitChild(t, w) }

	registerRows(
		matrixRow{route: "GET " + ws, path: fixed(ws),
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized})},

		matrixRow{route: "POST " + ws, name: "under msa/suit", path: fixed(ws),
			body: func(_ *testing.T, w *world, _ actor) any {
				return map[string]any{"name": "Fresh", "slug": w.unique(), "parent_id": w.node()}
			},
			// A parent the caller cannot see is bad input, as is one of another tenant.
			want: onSuit(http.StatusCreated, map[actor]int{member: http.StatusBadRequest,
				expired: http.StatusBadRequest, otherTenant: http.StatusBadRequest})},
		matrixRow{route: "POST " + ws, name: "at the tenant root", path: fixed(ws),
			body: func(_ *testing.T, w *world, _ actor) any {
				return map[string]any{"name": "Fresh", "slug": w.unique()}
			},
			want: onRoot(http.StatusCreated, http.StatusCreated, nil)},

		matrixRow{route: "GET " + ws + "/:ws", name: "msa/suit", path: fixed(ws + "/msa~suit"), want: readers},
		matrixRow{route: "GET " + ws + "/:ws", name: "msa (grants below do not reach up)", path: fixed(ws + "/msa"),
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized, member: http.StatusNotFound,
				otherTenant: http.StatusNotFound, expired: http.StatusNotFound, wsAdmin: http.StatusNotFound,
				wsEditor: http.StatusNotFound, wsViewer: http.StatusNotFound})},
		matrixRow{route: "GET " + ws + "/:ws", name: "by id", path: func(_ *testing.T, w *world, _ actor) string {
			return ws + "/" + w.node().String()
		}, want: readers},

		matrixRow{route: "PATCH " + ws + "/:ws", name: "describe msa/suit", path: fixed(ws + "/msa~suit"),
			body: func(_ *testing.T, w *world, _ actor) any { return map[string]any{"description": w.unique()} },
			want: onSuit(http.StatusOK, map[actor]int{wsEditor: http.StatusOK, parentEditor: http.StatusOK})},
		matrixRow{route: "PATCH " + ws + "/:ws", name: "move within msa/suit", path: freshChild,
			body: func(_ *testing.T, w *world, _ actor) any {
				return map[string]any{"parent_id": w.ws["msa/suit/andromeda"]}
			},
			want: onSuit(http.StatusOK, nil)},
		matrixRow{route: "PATCH " + ws + "/:ws", name: "new slug (a move in place)", path: freshChild,
			body: func(_ *testing.T, w *world, _ actor) any { return map[string]any{"slug": w.unique()} },
			want: onSuit(http.StatusOK, nil)},
		matrixRow{route: "PATCH " + ws + "/:ws", name: "move to the tenant root (admins of both ends)", path: freshChild,
			body: func(*testing.T, *world, actor) any { return map[string]any{"parent_id": nil} },
			want: onSuit(http.StatusForbidden, map[actor]int{tenantAdmin: http.StatusOK})},

		matrixRow{route: "DELETE " + ws + "/:ws", name: "a fresh leaf under msa/suit", path: freshChild,
			want: onSuit(http.StatusNoContent, nil)},
		matrixRow{route: "DELETE " + ws + "/:ws", name: "the default workspace", path: fixed(ws + "/default"),
			// Only tenant admins and auditors see default; B's admin reaches B's own default.
			want: expect(http.StatusNotFound, map[actor]int{anonymous: http.StatusUnauthorized, tenantAdmin: http.StatusConflict,
				auditor: http.StatusForbidden, otherTenant: http.StatusConflict})},

		matrixRow{route: "GET " + ws + "/:ws/grants", name: "msa/suit", path: fixed(ws + "/msa~suit/grants"),
			want: onSuit(http.StatusOK, map[actor]int{auditor: http.StatusOK})},
		matrixRow{route: "GET " + ws + "/:ws/grants", name: "the tenant root (~)", path: fixed(ws + "/~/grants"),
			want: onRoot(http.StatusOK, http.StatusOK, map[actor]int{auditor: http.StatusOK})},

		matrixRow{route: "POST " + ws + "/:ws/grants", name: "viewer on msa/suit", path: fixed(ws + "/msa~suit/grants"),
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"subject_type": "user", "subject_id": matrixUser(t, w), "role": "viewer"}
			},
			want: onSuit(http.StatusCreated, nil)},
		matrixRow{route: "POST " + ws + "/:ws/grants", name: "viewer on the tenant root (~)", path: fixed(ws + "/~/grants"),
			body: func(t *testing.T, w *world, _ actor) any {
				return map[string]any{"subject_type": "user", "subject_id": matrixUser(t, w), "role": "viewer"}
			},
			// B's admin manages B's root, where tenant A's user does not exist.
			want: onRoot(http.StatusCreated, http.StatusBadRequest, nil)},

		matrixRow{route: "DELETE " + ws + "/:ws/grants/:id", name: "on msa/suit",
			path: func(t *testing.T, w *world, _ actor) string {
				return ws + "/msa~suit/grants/" + matrixGrant(t, w, "msa/suit").String()
			},
			want: onSuit(http.StatusNoContent, nil)},
		matrixRow{route: "DELETE " + ws + "/:ws/grants/:id", name: "on the tenant root (~)",
			path: func(t *testing.T, w *world, _ actor) string {
				return ws + "/~/grants/" + matrixGrant(t, w, "").String()
			},
			// In B's root, tenant A's grant id names nothing.
			want: onRoot(http.StatusNoContent, http.StatusNotFound, nil)},
	)
}

// matrixSuitChild creates a workspace under msa/suit and returns its {ws}.
func matrixSuitChild(t *testing.T, w *world) string {
	t.Helper()
	slug := w.unique()
	w.addWorkspace(t, "msa/suit", slug)
	return strings.ReplaceAll("msa/suit/"+slug, "/", "~")
}

// matrixUser creates a user of tenant A with no tenant-wide role and returns its id.
func matrixUser(t *testing.T, w *world) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/users", w.a.Admin.Token, map[string]any{
		"email": w.unique() + "@matrix.test", "password": "correct horse battery", "role": "member"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	var u struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &u)
	return u.ID
}

// matrixGrant grants viewer to a subject that holds nothing else, on the workspace at path (""
// for the tenant root), and returns the grant's id. The subject need not be a user for a grant
// made below the API.
func matrixGrant(t *testing.T, w *world, path string) uuid.UUID {
	t.Helper()
	g := rbac.Grant{SubjectType: rbac.SubjectUser, SubjectID: uuid.New(), Role: rbac.RoleViewer}
	if path != "" {
		id := w.ws[path]
		g.WorkspaceID = &id
	}
	w.tx(t, func(ctx context.Context, tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		g, err = pol.Grant(g)
		return err
	})
	return g.ID
}
