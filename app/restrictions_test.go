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
