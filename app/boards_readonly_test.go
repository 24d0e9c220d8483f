package app_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// A `read_only` access profile on msa/suit/andromeda stops every write there and below, also the
// writes that rights from outside the grants would allow — board ownership and membership,
// owning an image — while reads go on, msa/suit stays writable, and tenant admins still write.
func TestBoards_readOnlyProfileStopsWritesFromMembershipAndOwnership(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	frozen := btBoard(t, env, k.owner.Token, "msa/suit/andromeda", map[string]any{"name": "Archive", "visibility": "public"})
	onBoard := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit/andromeda", &frozen, bdPNG(4, 4), nil))
	loose := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit/andromeda", nil, bdPNG(4, 4), nil))
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+frozen.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[wsViewer].ID, "role": "editor"}), http.StatusCreated)
	open := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Open"})

	var p struct {
		ID uuid.UUID `json:"id"`
	}
	btMust(t, env.Do(http.MethodPost, "/api/v1/profiles", w.token(tenantAdmin),
		map[string]any{"type": "access", "name": w.unique(), "settings": map[string]any{"read_only": true}}), http.StatusCreated).JSON(t, &p)
	btMust(t, env.Do(http.MethodPut, "/api/v1/workspaces/msa~suit~andromeda/profiles/access", w.token(tenantAdmin),
		map[string]any{"profile_id": p.ID}), http.StatusOK)

	board, img, uncat := "/api/v1/boards/"+frozen.String(), "/api/v1/images/"+onBoard.String(), "/api/v1/images/"+loose.String()
	for _, who := range []struct {
		name  string
		token string
	}{{"board owner", k.owner.Token}, {"board editor", w.token(wsViewer)}, {"workspace admin", w.token(wsAdmin)}} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPatch, board, map[string]any{"name": "Renamed"}},
			{http.MethodPatch, img, map[string]any{"starred": true}},
			{http.MethodDelete, img, nil},
			{http.MethodPatch, uncat, map[string]any{"starred": true}},
			{http.MethodDelete, uncat, nil},
			{http.MethodPost, board + "/members", map[string]any{"user_id": k.extra.ID, "role": "viewer"}},
		} {
			r := env.Do(c.method, c.path, who.token, c.body)
			if who.name == "board editor" && (c.path == uncat) {
				// The uncategorised image is the owner's alone: invisible to the editor.
				btErr(t, r, http.StatusNotFound, "not_found", "")
				continue
			}
			btErr(t, r, http.StatusForbidden, "forbidden", "")
		}
		r := env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit~andromeda/images", who.token, bdForm(&frozen, "x.png", bdPNG(3, 3)))
		btErr(t, r, http.StatusForbidden, "forbidden", "")
		// Reads go on.
		btMust(t, env.Do(http.MethodGet, board, who.token, nil), http.StatusOK)
		btMust(t, env.Do(http.MethodGet, img+"/file", who.token, nil), http.StatusOK)
	}
	if n := bdCount(t, env, w.a.ID, `SELECT count(*) FROM images WHERE id IN (?, ?) AND NOT starred`, onBoard, loose); n != 2 {
		t.Errorf("%d of the two images left unchanged, want 2", n)
	}
	// Outside the read-only subtree the owner still writes; inside it the tenant admin does.
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+open.String(), k.owner.Token, map[string]any{"name": "Still open"}), http.StatusOK)
	btMust(t, env.Do(http.MethodPatch, board, w.token(tenantAdmin), map[string]any{"name": "By the admin"}), http.StatusOK)
	btMust(t, env.Do(http.MethodDelete, img, w.token(tenantAdmin), nil), http.StatusNoContent)
}

// The board list carries the caller's own role on each board, from the same query.
func TestBoards_listCarriesTheCallersRole(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	mine := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Mine", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+mine.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[wsEditor].ID, "role": "viewer"}), http.StatusCreated)
	other := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Other", "visibility": "shared"})
	roles := func(token string) map[uuid.UUID]string {
		t.Helper()
		var page struct {
			Items []btBoardView `json:"items"`
		}
		btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/boards", token, nil), http.StatusOK).JSON(t, &page)
		out := map[uuid.UUID]string{}
		for _, b := range page.Items {
			out[b.ID] = b.MyRole
		}
		return out
	}
	if got := roles(k.owner.Token); got[mine] != "owner" || got[other] != "owner" {
		t.Errorf("owner's roles: %v", got)
	}
	got := roles(w.token(wsEditor))
	if r, ok := got[mine]; !ok || r != "viewer" {
		t.Errorf("member's role on Mine: %q (listed %v), want viewer", r, ok)
	}
	if r, ok := got[other]; !ok || r != "" {
		t.Errorf("non-member's role on a shared board: %q (listed %v), want none", r, ok)
	}
}

// A read_only access profile at either end stops a board move by workspace admins; the tenant
// admin still moves it.
func TestBoards_readOnlyProfileStopsMovesByWorkspaceAdmins(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit/andromeda", map[string]any{"name": "Archive"})
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	btMust(t, env.Do(http.MethodPost, "/api/v1/profiles", w.token(tenantAdmin),
		map[string]any{"type": "access", "name": w.unique(), "settings": map[string]any{"read_only": true}}), http.StatusCreated).JSON(t, &p)
	btMust(t, env.Do(http.MethodPut, "/api/v1/workspaces/msa~suit~andromeda/profiles/access", w.token(tenantAdmin),
		map[string]any{"profile_id": p.ID}), http.StatusOK)
	move := "/api/v1/boards/" + b.String() + "/move"
	btErr(t, env.Do(http.MethodPost, move, w.token(parentAdmin), map[string]any{"workspace_id": "msa~rocket"}), http.StatusForbidden, "forbidden", "")
	if n := bdCount(t, env, w.a.ID, `SELECT count(*) FROM boards WHERE id = ? AND workspace_id = ?`, b, w.ws["msa/suit/andromeda"]); n != 1 {
		t.Errorf("the refused move moved the board")
	}
	btMust(t, env.Do(http.MethodPost, move, w.token(tenantAdmin), map[string]any{"workspace_id": "msa~rocket"}), http.StatusOK)
}
