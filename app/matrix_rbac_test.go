package app_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
)

// Rows for roles, groups, the audit log and explain. Roles and groups are tenant objects managed
// on the tenant root: tenant admins manage them, auditors read them, grants on workspaces give
// nothing there (403). The services decide the permission before they look an id up, so an id
// of tenant A is 404 only to the other tenant's admin, who passes the check in tenant B and then
// finds nothing. The audit log is read by tenant admins and auditors. Explain: anyone about
// themselves, tenant admins and auditors about anyone of their tenant; a subject of another
// tenant is 404. Rows that change things work on objects made fresh per cell.
func init() {
	// onRoot: tenant A's admin gets ok (the auditor auditorOK), B's admin acts in B (okOther),
	// the rest of A 403.
	onRoot := func(ok, auditorOK, okOther int) map[actor]int {
		return expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized,
			tenantAdmin: ok, auditor: auditorOK, otherTenant: okOther})
	}
	readers := onRoot(http.StatusOK, http.StatusOK, http.StatusOK)
	// byID: an object of tenant A addressed by id; B's admin cannot tell it exists.
	byID := func(ok, auditorOK int) map[actor]int { return onRoot(ok, auditorOK, http.StatusNotFound) }

	freshRole := func(t *testing.T, w *world, _ actor) string {
		return "/api/v1/roles/" + matrixRole(t, w).String()
	}
	builtinRole := func(t *testing.T, w *world, _ actor) string {
		return "/api/v1/roles/" + matrixBuiltinRole(t, w, rbac.RoleViewer).String()
	}
	freshGroup := func(t *testing.T, w *world, _ actor) string {
		return "/api/v1/groups/" + matrixGroup(t, w, w.a.Admin.Token).String()
	}

	registerRows(
		matrixRow{route: "GET /api/v1/roles", path: fixed("/api/v1/roles"), want: readers},
		matrixRow{route: "POST /api/v1/roles", name: "a custom role", path: fixed("/api/v1/roles"),
			body: func(_ *testing.T, w *world, _ actor) any {
				return map[string]any{"name": w.unique(), "permissions": []string{"workspace:read", "board:create"}}
			},
			want: onRoot(http.StatusCreated, http.StatusForbidden, http.StatusCreated)},
		matrixRow{route: "PATCH /api/v1/roles/:id", name: "a custom role", path: freshRole,
			body: func(*testing.T, *world, actor) any {
				return map[string]any{"description": "changed", "permissions": []string{"workspace:read"}}
			},
			want: byID(http.StatusOK, http.StatusForbidden)},
		matrixRow{route: "PATCH /api/v1/roles/:id", name: "a built-in role", path: builtinRole,
			body: func(*testing.T, *world, actor) any { return map[string]any{"permissions": []string{"tenant:read"}} },
			want: byID(http.StatusConflict, http.StatusForbidden)},
		matrixRow{route: "DELETE /api/v1/roles/:id", name: "a custom role nobody holds", path: freshRole,
			want: byID(http.StatusNoContent, http.StatusForbidden)},
		matrixRow{route: "DELETE /api/v1/roles/:id", name: "a built-in role", path: builtinRole,
			want: byID(http.StatusConflict, http.StatusForbidden)},

		matrixRow{route: "GET /api/v1/groups", path: fixed("/api/v1/groups"), want: readers},
		matrixRow{route: "POST /api/v1/groups", path: fixed("/api/v1/groups"),
			body: func(_ *testing.T, w *world, _ actor) any { return map[string]any{"name": "Group " + w.unique()} },
			want: onRoot(http.StatusCreated, http.StatusForbidden, http.StatusCreated)},
		matrixRow{route: "GET /api/v1/groups/:id", name: "a group of tenant A", path: freshGroup,
			want: byID(http.StatusOK, http.StatusOK)},
		matrixRow{route: "DELETE /api/v1/groups/:id", name: "a group of tenant A", path: freshGroup,
			want: byID(http.StatusNoContent, http.StatusForbidden)},
		matrixRow{route: "POST /api/v1/groups/:id/members", name: "a user of tenant A into a group of tenant A",
			path: func(t *testing.T, w *world, who actor) string { return freshGroup(t, w, who) + "/members" },
			body: func(_ *testing.T, w *world, _ actor) any { return map[string]any{"user_id": w.target.ID} },
			want: byID(http.StatusCreated, http.StatusForbidden)},
		matrixRow{route: "POST /api/v1/groups/:id/members", name: "a user of another tenant into the caller's group",
			path: func(t *testing.T, w *world, who actor) string {
				token := w.a.Admin.Token
				if who == otherTenant {
					token = w.b.Admin.Token
				}
				return "/api/v1/groups/" + matrixGroup(t, w, token).String() + "/members"
			},
			body: func(_ *testing.T, w *world, who actor) any {
				if who == otherTenant {
					return map[string]any{"user_id": w.target.ID}
				}
				return map[string]any{"user_id": w.b.Admin.ID}
			},
			// No such user in the caller's tenant: bad input, and nothing is written.
			want: onRoot(http.StatusBadRequest, http.StatusForbidden, http.StatusBadRequest)},
		matrixRow{route: "DELETE /api/v1/groups/:id/members/:user_id", name: "a member of a group of tenant A",
			path: func(t *testing.T, w *world, _ actor) string {
				g := matrixGroup(t, w, w.a.Admin.Token)
				matrixAddMember(t, w, g, w.target.ID)
				return "/api/v1/groups/" + g.String() + "/members/" + w.target.ID.String()
			},
			want: byID(http.StatusNoContent, http.StatusForbidden)},

		matrixRow{route: "GET /api/v1/audit", path: fixed("/api/v1/audit"), want: readers},
		matrixRow{route: "GET /api/v1/audit", name: "filtered on denials", path: fixed("/api/v1/audit?result=deny&limit=5"),
			want: readers},

		matrixRow{route: "GET /api/v1/authz/explain", name: "oneself on the tenant",
			path: func(_ *testing.T, w *world, who actor) string {
				subject := w.target.ID
				if who != anonymous {
					subject = w.users[who].ID
				}
				return matrixExplain(subject.String(), "workspace:update", "tenant")
			},
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized}), lacksEmail: true},
		matrixRow{route: "GET /api/v1/authz/explain", name: "oneself on msa/suit (seen only by its readers)",
			path: fixed(matrixExplain("", "workspace:delete", "workspace:msa~suit")),
			want: expect(http.StatusOK, map[actor]int{anonymous: http.StatusUnauthorized, member: http.StatusNotFound,
				otherTenant: http.StatusNotFound, expired: http.StatusNotFound}), lacksEmail: true},
		matrixRow{route: "GET /api/v1/authz/explain", name: "another user of tenant A",
			path: func(_ *testing.T, w *world, _ actor) string {
				return matrixExplain(w.target.ID.String(), "workspace:read", "tenant")
			},
			want: byID(http.StatusOK, http.StatusOK), lacksEmail: true},
		matrixRow{route: "GET /api/v1/authz/explain", name: "a user of another tenant",
			path: func(_ *testing.T, w *world, who actor) string {
				subject := w.b.Admin.ID
				if who == otherTenant {
					subject = w.target.ID
				}
				return matrixExplain(subject.String(), "workspace:read", "tenant")
			},
			want: onRoot(http.StatusNotFound, http.StatusNotFound, http.StatusNotFound), lacksEmail: true},
	)
}

// matrixExplain is the explain path for the question; the query is escaped (`:` as %3A), which
// also keeps the harness from taking `:update` for a route parameter.
func matrixExplain(subject, action, object string) string {
	q := url.Values{"action": {action}, "object": {object}}
	if subject != "" {
		q.Set("subject", subject)
	}
	return "/api/v1/authz/explain?" + q.Encode()
}

// matrixRole has tenant A's admin define a fresh custom role that nobody holds.
func matrixRole(t *testing.T, w *world) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/roles", w.a.Admin.Token,
		map[string]any{"name": w.unique(), "permissions": []string{"workspace:read"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("define role: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	return v.ID
}

// matrixBuiltinRole returns the id of tenant A's built-in role of that name.
func matrixBuiltinRole(t *testing.T, w *world, name string) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodGet, "/api/v1/roles", w.a.Admin.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list roles: %d %s", r.Status, r.Body)
	}
	var p struct {
		Items []struct {
			ID      uuid.UUID `json:"id"`
			Name    string    `json:"name"`
			Builtin bool      `json:"builtin"`
		} `json:"items"`
	}
	r.JSON(t, &p)
	for _, v := range p.Items {
		if v.Name == name && v.Builtin {
			return v.ID
		}
	}
	t.Fatalf("no built-in role %q in %s", name, r.Body)
	return uuid.Nil
}

// matrixGroup has the holder of the admin session create a fresh group in their tenant.
func matrixGroup(t *testing.T, w *world, adminToken string) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/groups", adminToken, map[string]any{"name": "Group " + w.unique()})
	if r.Status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	return v.ID
}

// matrixAddMember has tenant A's admin add the user to the group.
func matrixAddMember(t *testing.T, w *world, group, user uuid.UUID) {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/groups/"+group.String()+"/members", w.a.Admin.Token,
		map[string]any{"user_id": user})
	if r.Status != http.StatusCreated {
		t.Fatalf("add member: %d %s", r.Status, r.Body)
	}
}
