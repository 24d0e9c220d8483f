package app_test

import (
	"net/http"
	"testing"
)

// Restrictions that hold (issue 14).

// Issue 14: an access profile that denied actions to a role on a workspace was removed by the
// very workspace admin it restricted (DELETE …/profiles/access → 204), and the denied action
// worked again. Whoever a profile restricts on a node cannot lift it there; rights from above
// can.
func TestProfiles_regression_restrictedWorkspaceAdminCannotLiftTheProfile(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Kept"})
	denyProfile(t, w, "msa/suit", "admin", "board:admin", "board:delete")
	suit := "/api/v1/workspaces/msa~suit/profiles/access"
	admin := w.token(wsAdmin)

	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), admin, nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, suit, admin, nil), http.StatusForbidden, "forbidden", "")
	// Nor weakened by putting a milder profile in its place.
	btErr(t, env.Do(http.MethodPut, suit, admin, map[string]any{"profile_id": matrixProfile(t, w, "access")}), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), admin, nil), http.StatusForbidden, "forbidden", "")
	// Below the node, the same admin still manages profiles, and may add restrictions on its
	// own node (which it then cannot lift either).
	child := matrixChild(t, w)
	btMust(t, env.Do(http.MethodPut, "/api/v1/workspaces/"+child+"/profiles/access", admin,
		map[string]any{"profile_id": matrixProfile(t, w, "access")}), http.StatusOK)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/workspaces/"+child+"/profiles/access", admin, nil), http.StatusNoContent)

	// A profile that restricts only editors there is the admin's to change.
	denyProfile(t, w, "msa/suit", "editor", "board:create")
	btMust(t, env.Do(http.MethodDelete, suit, admin, nil), http.StatusNoContent)

	// The admin of the parent lifts a profile that restricts the admin of msa/suit.
	denyProfile(t, w, "msa/suit", "admin", "board:delete")
	btMust(t, env.Do(http.MethodDelete, suit, w.token(parentAdmin), nil), http.StatusNoContent)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), admin, nil), http.StatusNoContent)
}

// Issue 14: GET /workspaces listed a workspace that GET /workspaces/{id} then refused, when an
// access profile took workspace:read away from a role in a branch. Listing agrees with reading:
// the branch leaves the listing, down to where a nearer profile gives reading back.
func TestWorkspaces_regression_listingAgreesWithReadingUnderAccessProfiles(t *testing.T) {
	w := newWorld(t)
	env := w.env
	w.addWorkspace(t, "msa/suit/andromeda", "vault")
	w.addWorkspace(t, "msa/suit/andromeda", "lobby")
	denyProfile(t, w, "msa/suit/andromeda", "viewer", "workspace:read")
	// A nearer profile on lobby takes nothing away: reading comes back there.
	denyProfile(t, w, "msa/suit/andromeda/lobby", "viewer", "board:create")

	listed := func(who actor) map[string]bool {
		out := map[string]bool{}
		after := ""
		for {
			var page struct {
				Items []struct {
					Path string `json:"path"`
				} `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces?limit=2"+after, w.token(who), nil), http.StatusOK).JSON(t, &page)
			for _, it := range page.Items {
				out[it.Path] = true
			}
			if page.NextCursor == nil {
				return out
			}
			after = "&cursor=" + *page.NextCursor
		}
	}
	for _, who := range []actor{wsViewer, parentViewer, wsEditor, tenantAdmin} {
		got := listed(who)
		for _, path := range []string{"msa/suit", "msa/suit/andromeda", "msa/suit/andromeda/vault", "msa/suit/andromeda/lobby"} {
			read := env.Do(http.MethodGet, "/api/v1/workspaces/"+bdRef(path), w.token(who), nil).Status == http.StatusOK
			if got[path] != read {
				t.Errorf("%s: %s listed %v, readable %v", who, path, got[path], read)
			}
		}
		// The children listing of msa/suit agrees too.
		var kids struct {
			Items []struct {
				Path string `json:"path"`
			} `json:"items"`
		}
		r := env.Do(http.MethodGet, "/api/v1/workspaces?parent=msa~suit", w.token(who), nil)
		if r.Status == http.StatusOK {
			r.JSON(t, &kids)
			for _, k := range kids.Items {
				if k.Path == "msa/suit/andromeda" && (who == wsViewer || who == parentViewer) {
					t.Errorf("%s: the children of msa/suit list andromeda", who)
				}
			}
		}
	}
	// The control: viewers lost andromeda and vault, kept lobby; editors kept everything.
	if g := listed(wsViewer); g["msa/suit/andromeda"] || g["msa/suit/andromeda/vault"] || !g["msa/suit/andromeda/lobby"] || !g["msa/suit"] {
		t.Errorf("viewer's listing: %v", g)
	}
	if g := listed(wsEditor); !g["msa/suit/andromeda/vault"] {
		t.Errorf("editor's listing lost vault: %v", g)
	}
}
