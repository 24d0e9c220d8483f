package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
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
	// Denying board:admin takes the per-object board actions with it (as before they existed).
	denyProfile(t, w, "msa/suit", "admin", "board:admin")
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

// Issue 14: a board member with no role on the board's workspace could open the board but no
// listing showed it, and uploads into it through /workspaces/{ws}/images answered 404. The
// boards "shared with me" are listed across workspaces, and board add rights decide uploads.
func TestBoards_regression_membersWithoutAWorkspaceRoleFindAndUploadIntoTheirBoards(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	guest := env.NewUser(t, w.a, "member") // no role anywhere
	var boardsOf []uuid.UUID
	for _, c := range []struct{ ws, role string }{{"msa/suit", "editor"}, {"msa/rocket", "viewer"}, {"msa/suit", "editor"}} {
		b := btBoard(t, env, k.owner.Token, c.ws, map[string]any{"name": "For the guest"})
		btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+b.String()+"/members", k.owner.Token,
			map[string]any{"user_id": guest.ID, "role": c.role}), http.StatusCreated)
		boardsOf = append(boardsOf, b)
	}
	btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Not shared with the guest"})
	editorOf, viewerOf := boardsOf[0], boardsOf[1]

	// The workspace listing stays closed; "shared with me" lists exactly the three, paged.
	btErr(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/boards", guest.Token, nil), http.StatusNotFound, "not_found", "")
	var page struct {
		Items      []btBoardView `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/me/boards?limit=2", guest.Token, nil), http.StatusOK).JSON(t, &page)
	got := []uuid.UUID{}
	roles := map[uuid.UUID]string{}
	for _, b := range page.Items {
		got, roles[b.ID] = append(got, b.ID), b.MyRole
	}
	if page.NextCursor == nil || len(page.Items) != 2 {
		t.Fatalf("first page: %+v", page)
	}
	page.Items = nil
	btMust(t, env.Do(http.MethodGet, "/api/v1/me/boards?limit=2&cursor="+*page.NextCursor, guest.Token, nil), http.StatusOK).JSON(t, &page)
	for _, b := range page.Items {
		got, roles[b.ID] = append(got, b.ID), b.MyRole
	}
	slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	want := slices.Clone(boardsOf)
	slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(got, want) || page.NextCursor != nil || roles[viewerOf] != "viewer" || roles[editorOf] != "editor" {
		t.Errorf("shared with me: %v (roles %v), want %v", got, roles, want)
	}
	// Nobody else's memberships leak into it: the owner's list is theirs, the other tenant's empty.
	var other struct {
		Items []btBoardView `json:"items"`
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/me/boards", w.token(otherTenant), nil), http.StatusOK).JSON(t, &other)
	if len(other.Items) != 0 {
		t.Errorf("other tenant's list: %+v", other.Items)
	}

	// Uploads: the board's add rights decide, not a role on the workspace.
	btImageID(t, btUpload(t, env, guest.Token, "msa/suit", &editorOf, bdPNG(3, 3), nil))
	btErr(t, btUpload(t, env, guest.Token, "msa/rocket", &viewerOf, bdPNG(3, 3), nil), http.StatusForbidden, "forbidden", "")
	// Naming another workspace than the board's, or none, still finds nothing.
	btErr(t, btUpload(t, env, guest.Token, "msa/rocket", &editorOf, bdPNG(3, 3), nil), http.StatusNotFound, "not_found", "")
	btErr(t, btUpload(t, env, guest.Token, "msa/suit", nil, bdPNG(3, 3), nil), http.StatusNotFound, "not_found", "")
	stranger := uuid.New()
	btErr(t, btUpload(t, env, guest.Token, "msa/suit", &stranger, bdPNG(3, 3), nil), http.StatusNotFound, "not_found", "")
	// A workspace editor who is no member of a private board may not upload into it.
	btErr(t, btUpload(t, env, w.token(wsEditor), "msa/suit", &editorOf, bdPNG(3, 3), nil), http.StatusBadRequest, "invalid", "board_id")
	if n := bdCount(t, env, w.a.ID, `SELECT count(*) FROM images WHERE owner_id = ?`, guest.ID); n != 1 {
		t.Errorf("guest's images: %d, want 1", n)
	}
}

// Issue 14: a workspace admin deleted (with ?cascade=true or not) the very workspace their admin
// grant sat on. Decided: an admin granted on a node administers what is in and below it, never
// the node's own place in the tree — deleting it, like moving it, is decided on its parent.
func TestWorkspaces_regression_anAdminCannotDeleteOrMoveTheWorkspaceTheirGrantSitsOn(t *testing.T) {
	w := newWorld(t)
	env := w.env
	for _, q := range []string{"", "?cascade=true"} {
		btErr(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit"+q, w.token(wsAdmin), nil), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa"+q, w.token(parentAdmin), nil), http.StatusForbidden, "forbidden", "")
	}
	btErr(t, env.Do(http.MethodPatch, "/api/v1/workspaces/msa~suit", w.token(wsAdmin), map[string]any{"parent_id": nil}), http.StatusForbidden, "forbidden", "")
	btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit", w.token(wsAdmin), nil), http.StatusOK)
	// Below their node they delete: a child of msa/suit, and the admin of msa deletes msa/suit's
	// sibling.
	child := matrixChild(t, w)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/workspaces/"+child, w.token(wsAdmin), nil), http.StatusNoContent)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~rocket?cascade=true", w.token(parentAdmin), nil), http.StatusNoContent)
	// A root workspace is the tenant admins' to delete.
	w.addWorkspace(t, "", "toplevel")
	btMust(t, env.Do(http.MethodDelete, "/api/v1/workspaces/toplevel", w.token(tenantAdmin), nil), http.StatusNoContent)
}

// Issue 14: suspending a tenant refused its users at once but left its published boards on the
// anonymous public endpoint. They go offline at once, files included, and come back with the
// tenant.
func TestBoards_regression_suspendingATenantTakesItsPublishedBoardsOffline(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "On show"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), nil))
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"published": true}), http.StatusOK)
	public := "/api/v1/public/boards/" + b.String()
	file := public + "/images/" + img.String() + "/file"
	btMust(t, env.Do(http.MethodGet, public, "", nil), http.StatusOK)
	btMust(t, env.Do(http.MethodGet, file, "", nil), http.StatusOK)

	if err := env.App.Tenants.SetStatus(t.Context(), w.a.Slug, "suspended"); err != nil {
		t.Fatal(err)
	}
	none := env.Do(http.MethodGet, "/api/v1/public/boards/"+uuid.NewString(), "", nil)
	for _, p := range []string{public, file, public + "/images/" + img.String() + "/thumbnail"} {
		r := env.Do(http.MethodGet, p, "", nil)
		if r.Status != http.StatusNotFound || (p == public && string(r.Body) != string(none.Body)) {
			t.Errorf("GET %s of a suspended tenant: %d %s, want 404 like no board", p, r.Status, truncate(r.Body))
		}
	}
	if err := env.App.Tenants.SetStatus(t.Context(), w.a.Slug, "active"); err != nil {
		t.Fatal(err)
	}
	btMust(t, env.Do(http.MethodGet, public, "", nil), http.StatusOK)
}

// Issue 14: re-enabling a disabled user silently revived the personal access tokens that were
// valid when they were disabled. Decided: disabling revokes them for good (as it ends the
// user's sessions); after re-enabling, the owner makes new ones.
func TestUsers_regression_reEnablingAUserDoesNotReviveTheirTokens(t *testing.T) {
	w := newWorld(t)
	env := w.env
	u := env.NewUser(t, w.a, "member")
	var tok struct {
		ID    uuid.UUID `json:"id"`
		Token string    `json:"token"`
	}
	btMust(t, env.Do(http.MethodPost, "/api/v1/me/tokens", u.Token, map[string]any{"name": "script", "expires_in_days": 30}), http.StatusCreated).JSON(t, &tok)
	btMust(t, env.Do(http.MethodGet, "/api/v1/me", tok.Token, nil), http.StatusOK)

	btMust(t, env.Do(http.MethodPatch, "/api/v1/users/"+u.ID.String(), w.a.Admin.Token, map[string]any{"disabled": true}), http.StatusOK)
	btErr(t, env.Do(http.MethodGet, "/api/v1/me", tok.Token, nil), http.StatusUnauthorized, "unauthorized", "")
	btMust(t, env.Do(http.MethodPatch, "/api/v1/users/"+u.ID.String(), w.a.Admin.Token, map[string]any{"disabled": false}), http.StatusOK)
	btErr(t, env.Do(http.MethodGet, "/api/v1/me", tok.Token, nil), http.StatusUnauthorized, "unauthorized", "")

	// The owner, signed in again, sees it revoked and makes a new one that works.
	fresh := env.Login(t, w.a.Slug, u.Email, apptest.Password)
	var list struct {
		Items []struct {
			ID      uuid.UUID `json:"id"`
			Revoked bool      `json:"revoked"`
		} `json:"items"`
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/me/tokens", fresh.AccessToken, nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != tok.ID || !list.Items[0].Revoked {
		t.Errorf("tokens after re-enabling: %+v", list.Items)
	}
	btMust(t, env.Do(http.MethodPost, "/api/v1/me/tokens", fresh.AccessToken, map[string]any{"name": "again", "expires_in_days": 30}), http.StatusCreated).JSON(t, &tok)
	btMust(t, env.Do(http.MethodGet, "/api/v1/me", tok.Token, nil), http.StatusOK)
}

// Issue 14: a personal access token ended its owner's interactive sessions (logout with all).
// Sessions are a person's: a token may end none of them, nor mint tokens; it may revoke itself.
func TestAuth_regression_aTokenCannotEndItsOwnersSessions(t *testing.T) {
	w := newWorld(t)
	env := w.env
	u := env.NewUser(t, w.a, "member")
	var pat struct {
		ID    uuid.UUID `json:"id"`
		Token string    `json:"token"`
	}
	btMust(t, env.Do(http.MethodPost, "/api/v1/me/tokens", u.Token, map[string]any{"name": "ci", "scopes": []string{"read", "write"},
		"expires_in_days": 30}), http.StatusCreated).JSON(t, &pat)
	for _, body := range []any{map[string]any{"all": true}, map[string]any{"refresh_token": u.RefreshToken}, nil} {
		btErr(t, env.Do(http.MethodPost, "/api/v1/auth/logout", pat.Token, body), http.StatusForbidden, "forbidden", "")
	}
	btErr(t, env.Do(http.MethodPost, "/api/v1/me/tokens", pat.Token, map[string]any{"name": "child", "expires_in_days": 30}), http.StatusForbidden, "forbidden", "")
	// The owner's session and refresh token are untouched.
	btMust(t, env.Do(http.MethodGet, "/api/v1/me", u.Token, nil), http.StatusOK)
	btMust(t, env.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": u.RefreshToken}), http.StatusOK)
	// The token revokes itself.
	btMust(t, env.Do(http.MethodDelete, "/api/v1/me/tokens/"+pat.ID.String(), pat.Token, nil), http.StatusNoContent)
	btErr(t, env.Do(http.MethodGet, "/api/v1/me", pat.Token, nil), http.StatusUnauthorized, "unauthorized", "")
}
