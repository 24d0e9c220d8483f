package app_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"
)

// Roles per object type (SPEC §4, issue 14): a tenant admin builds a custom role out of board and
// image actions, grants it on a workspace, and its holder can do exactly those actions on every
// board and image of the subtree, whatever the boards' visibility and membership.

// SPEC §4's own example, refused before ("board:update is an unknown action"): "librarian: create
// and update boards and images, never delete".
func TestRoles_librarianCreatesAndUpdatesBoardsAndImagesButNeverDeletes(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	admin := w.a.Admin.Token
	r := env.Do(http.MethodPost, "/api/v1/roles", admin, map[string]any{
		"name": "librarian", "description": "create and update boards and images, never delete",
		"permissions": []string{"workspace:read", "board:create", "board:update", "image:create", "image:update"}})
	btMust(t, r, http.StatusCreated)
	librarian := env.NewUser(t, w.a, "member")
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa/grants", admin, map[string]any{
		"subject_type": "user", "subject_id": librarian.ID, "role": "librarian"}), http.StatusCreated)
	lib := librarian.Token

	// Someone else's private board and its image in msa/suit, below the grant: the librarian is
	// no member of the board and owns no image on it.
	private := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Archive"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &private, bdPNG(4, 4), nil))
	loose := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(3, 3), nil))

	// Creates boards and images.
	own := btBoard(t, env, lib, "msa/suit", map[string]any{"name": "Catalogue"})
	btImageID(t, btUpload(t, env, lib, "msa/suit", nil, bdPNG(2, 2), nil))
	// Updates any board and image of the subtree: renames, describes, puts images on the board.
	var b btBoardView
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+private.String(), lib, map[string]any{"name": "Archive (sorted)"}), http.StatusOK).JSON(t, &b)
	if b.Name != "Archive (sorted)" {
		t.Errorf("board after the librarian's rename: %+v", b)
	}
	var v btImage
	btMust(t, env.Do(http.MethodPatch, "/api/v1/images/"+img.String(), lib, map[string]any{"name": "plate 1"}), http.StatusOK).JSON(t, &v)
	if v.Name != "plate 1" {
		t.Errorf("image after the librarian's rename: %+v", v)
	}
	btMust(t, env.Do(http.MethodPatch, "/api/v1/images/"+loose.String(), lib, map[string]any{"starred": true}), http.StatusOK)
	btImageID(t, btUpload(t, env, lib, "msa/suit", &private, bdPNG(2, 3), nil))
	// Reads what it updates: the board is listed to it.
	if ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/boards", lib, nil), http.StatusOK)); !slices.Contains(ids, private) || !slices.Contains(ids, own) {
		t.Errorf("librarian's board listing %v lacks %s or %s", ids, private, own)
	}

	// Never deletes: not the board, not an image, not an image off its board.
	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+private.String(), lib, nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), lib, nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/images/"+loose.String(), lib, nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+private.String()+"/images/"+img.String(), lib, nil), http.StatusForbidden, "forbidden", "")
	// Nor does what the role leaves out: publishing, visibility, members.
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+private.String(), lib, map[string]any{"published": true}), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+private.String(), lib, map[string]any{"visibility": "public"}), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodPost, "/api/v1/boards/"+private.String()+"/members", lib,
		map[string]any{"user_id": k.extra.ID, "role": "viewer"}), http.StatusForbidden, "forbidden", "")
	// Everything is still there.
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusOK)
	btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+private.String(), k.owner.Token, nil), http.StatusOK)

	// Outside the subtree the role gives nothing: a board of default is not even visible.
	elsewhere := btBoard(t, env, admin, "default", map[string]any{"name": "Elsewhere"})
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+elsewhere.String(), lib, map[string]any{"name": "x"}), http.StatusNotFound, "not_found", "")

	// An access profile that denies board:update to the librarian role on msa/suit takes it away
	// there, as it does for built-in roles.
	denyProfile(t, w, "msa/suit", "librarian", "board:update", "image:update")
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+private.String(), lib, map[string]any{"name": "again"}), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodPatch, "/api/v1/images/"+loose.String(), lib, map[string]any{"name": "again"}), http.StatusNotFound, "not_found", "")
}

// The other actions one by one: board:delete, board:publish and board:members, image:read and
// image:delete, each granted alone (with workspace:read) on msa, do that and nothing beside.
func TestRoles_eachBoardAndImageActionIsGrantableAlone(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	admin := w.a.Admin.Token
	holder := func(t *testing.T, perm string) string {
		t.Helper()
		name := "only-" + w.unique()
		btMust(t, env.Do(http.MethodPost, "/api/v1/roles", admin, map[string]any{"name": name,
			"permissions": []string{"workspace:read", perm}}), http.StatusCreated)
		u := env.NewUser(t, w.a, "member")
		btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa/grants", admin, map[string]any{
			"subject_type": "user", "subject_id": u.ID, "role": name}), http.StatusCreated)
		return u.Token
	}
	board := func() uuid.UUID {
		return btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "B " + w.unique()})
	}

	t.Run("board:delete", func(t *testing.T) {
		tok := holder(t, "board:delete")
		b := board()
		btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), tok, map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")
		btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), tok, nil), http.StatusNoContent)
	})
	t.Run("board:publish", func(t *testing.T) {
		tok := holder(t, "board:publish")
		b := board()
		btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), tok, map[string]any{"published": true, "visibility": "shared"}), http.StatusOK)
		btMust(t, env.Do(http.MethodGet, "/api/v1/public/boards/"+b.String(), "", nil), http.StatusOK)
		btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), tok, map[string]any{"owner_id": k.extra.ID}), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), tok, nil), http.StatusForbidden, "forbidden", "")
	})
	t.Run("board:members", func(t *testing.T) {
		tok := holder(t, "board:members")
		b := board()
		btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+b.String()+"/members", tok, map[string]any{"user_id": k.extra.ID, "role": "editor"}), http.StatusCreated)
		btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String()+"/members/"+k.extra.ID.String(), tok, map[string]any{"role": "viewer"}), http.StatusOK)
		btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String()+"/members", tok, nil), http.StatusOK)
		// The owner stays: ownership moves only by a transfer.
		btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"/members/"+k.owner.ID.String(), tok, nil), http.StatusForbidden, "forbidden", "")
		btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"/members/"+k.extra.ID.String(), tok, nil), http.StatusNoContent)
		btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), tok, map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")
	})
	t.Run("image:read", func(t *testing.T) {
		tok := holder(t, "image:read")
		b := board()
		img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), nil))
		loose := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(4, 4), nil))
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), tok, nil), http.StatusOK)
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+loose.String()+"/file", tok, nil), http.StatusOK)
		if ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images", tok, nil), http.StatusOK)); !slices.Contains(ids, img) {
			t.Errorf("image:read holder's listing %v lacks %s", ids, img)
		}
		btErr(t, env.Do(http.MethodPatch, "/api/v1/images/"+img.String(), tok, map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), tok, nil), http.StatusForbidden, "forbidden", "")
	})
	t.Run("image:delete", func(t *testing.T) {
		tok := holder(t, "image:delete")
		b := board()
		img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), nil))
		other := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(5, 4), nil))
		btErr(t, env.Do(http.MethodPatch, "/api/v1/images/"+img.String(), tok, map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")
		btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"/images/"+other.String(), tok, nil), http.StatusNoContent)
		btMust(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), tok, nil), http.StatusNoContent)
	})
}

// denyProfile has the tenant admin assign, on the workspace (a path), an access profile that
// takes the actions away from the role.
func denyProfile(t *testing.T, w *world, ws, role string, actions ...string) uuid.UUID {
	t.Helper()
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	btMust(t, w.env.Do(http.MethodPost, "/api/v1/profiles", w.a.Admin.Token, map[string]any{"type": "access", "name": w.unique(),
		"settings": map[string]any{"deny": map[string][]string{role: actions}}}), http.StatusCreated).JSON(t, &p)
	btMust(t, w.env.Do(http.MethodPut, "/api/v1/workspaces/"+bdRef(ws)+"/profiles/access", w.a.Admin.Token,
		map[string]any{"profile_id": p.ID}), http.StatusOK)
	return p.ID
}
