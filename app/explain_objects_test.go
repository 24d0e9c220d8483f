package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Explain for boards and images (SPEC §5, §12; issue 14): `object=board:<id>` and
// `object=image:<id>` are explained by the objects' own rules — the grant and role, the board
// membership and visibility, the ownership — and the profile that decided; the verdict always
// agrees with what the routes do.

type explainAnswer struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Node    string `json:"node"`
	Path    []struct {
		Kind   string `json:"kind"`
		Node   string `json:"node"`
		Role   string `json:"role"`
		Detail string `json:"detail"`
	} `json:"path"`
}

// explainAs asks, with the tenant admin's token, about the subject.
func explainAs(t *testing.T, w *world, subject uuid.UUID, action, object string) explainAnswer {
	t.Helper()
	q := url.Values{"subject": {subject.String()}, "action": {action}, "object": {object}}
	var a explainAnswer
	btMust(t, w.env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.a.Admin.Token, nil), http.StatusOK).JSON(t, &a)
	return a
}

func (a explainAnswer) has(kind, role, detail string) bool {
	for _, s := range a.Path {
		if s.Kind == kind && (role == "" || s.Role == role) && strings.Contains(s.Detail, detail) {
			return true
		}
	}
	return false
}

func TestExplain_boardsNameMembershipVisibilityGrantAndProfile(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	private := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Private"})
	shared := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+private.String()+"/members", k.owner.Token,
		map[string]any{"user_id": k.extra.ID, "role": "editor"}), http.StatusCreated)
	board := func(id uuid.UUID) string { return "board:" + id.String() }

	cases := []struct {
		name           string
		subject        uuid.UUID
		action, object string
		allowed        bool
		kind, role     string
		detail         string
	}{
		{"the owner updates through membership", k.owner.ID, "board:update", board(private), true, "membership", "owner", "member of the board as owner"},
		{"a board editor updates through membership", k.extra.ID, "board:update", board(private), true, "membership", "editor", ""},
		{"a board editor may not delete", k.extra.ID, "board:delete", board(private), false, "membership", "editor", "does not allow it"},
		{"a workspace viewer reads a shared board through visibility", w.users[wsViewer].ID, "board:read", board(shared), true, "visibility", "", "shared"},
		{"a workspace viewer may not update a shared board", w.users[wsViewer].ID, "board:update", board(shared), false, "node", "", ""},
		{"a workspace viewer does not read a private board", w.users[wsViewer].ID, "board:read", board(private), false, "board", "", "private"},
		{"a parent admin deletes through a grant on msa", w.users[parentAdmin].ID, "board:delete", board(private), true, "grant", "admin", ""},
		{"the auditor reads through the auditor role", w.users[auditor].ID, "board:read", board(private), true, "role", "auditor", "board:read"},
		{"other actions are explained on the board's workspace", w.users[wsEditor].ID, "workspace:update", board(private), true, "grant", "editor", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := explainAs(t, w, c.subject, c.action, c.object)
			if a.Allowed != c.allowed || !a.has(c.kind, c.role, c.detail) || a.Node != "ws:"+w.node().String() {
				t.Errorf("explain %s on %s: %+v; want allowed=%v with a %s step (role %q, %q)", c.action, c.object, a, c.allowed, c.kind, c.role, c.detail)
			}
		})
	}

	// A custom role: the grant and the role are named; a profile that denies the action to the
	// role is named when it decides.
	btMust(t, env.Do(http.MethodPost, "/api/v1/roles", w.a.Admin.Token, map[string]any{"name": "curator",
		"permissions": []string{"workspace:read", "board:update"}}), http.StatusCreated)
	curator := env.NewUser(t, w.a, "member")
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa/grants", w.a.Admin.Token, map[string]any{
		"subject_type": "user", "subject_id": curator.ID, "role": "curator"}), http.StatusCreated)
	a := explainAs(t, w, curator.ID, "board:update", board(private))
	if !a.Allowed || !a.has("grant", "curator", "") || !a.has("role", "curator", "board:update") {
		t.Errorf("curator's board:update: %+v", a)
	}
	denyProfile(t, w, "msa/suit", "curator", "board:update")
	a = explainAs(t, w, curator.ID, "board:update", board(private))
	if a.Allowed || !a.has("profile", "", "denied for role curator") {
		t.Errorf("curator's board:update under a deny profile: %+v", a)
	}
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+private.String(), curator.Token, map[string]any{"name": "x"}), http.StatusNotFound, "not_found", "")

	// Asking about oneself works for anyone; a board the caller cannot see is 404 like none, and
	// a malformed id names the field.
	q := url.Values{"action": {"board:read"}, "object": {board(private)}}
	btErr(t, env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.token(wsViewer), nil), http.StatusNotFound, "not_found", "")
	q.Set("object", "board:"+uuid.NewString())
	btErr(t, env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.token(wsViewer), nil), http.StatusNotFound, "not_found", "")
	q.Set("object", "board:nope")
	btErr(t, env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.token(wsViewer), nil), http.StatusBadRequest, "invalid", "object")
	q.Set("object", board(shared))
	var self explainAnswer
	btMust(t, env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.token(wsViewer), nil), http.StatusOK).JSON(t, &self)
	if !self.Allowed {
		t.Errorf("viewer asking about a shared board: %+v", self)
	}
	// Another tenant's board is 404 for its admin.
	q.Set("object", board(private))
	btErr(t, env.Do(http.MethodGet, "/api/v1/authz/explain?"+q.Encode(), w.token(otherTenant), nil), http.StatusNotFound, "not_found", "")
}

func TestExplain_imagesNameOwnershipBoardAndRole(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	public := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Public", "visibility": "public"})
	mine := btImageID(t, btUpload(t, env, w.token(wsViewer), "msa/suit", &public, bdPNG(3, 3), nil))
	theirs := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &public, bdPNG(4, 3), nil))
	loose := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(4, 4), nil))
	image := func(id uuid.UUID) string { return "image:" + id.String() }

	cases := []struct {
		name    string
		subject uuid.UUID
		action  string
		id      uuid.UUID
		allowed bool
		kind    string
		role    string
	}{
		{"the uploader deletes an uncategorised image", k.owner.ID, "image:delete", loose, true, "ownership", ""},
		{"a viewer does not see another's uncategorised image", w.users[wsViewer].ID, "image:read", loose, false, "image", ""},
		{"a workspace member updates their own image on a public board", w.users[wsViewer].ID, "image:update", mine, true, "visibility", ""},
		{"a workspace member may not update another's image there", w.users[wsViewer].ID, "image:update", theirs, false, "image", ""},
		{"a workspace member reads a public board's image through the board", w.users[wsViewer].ID, "image:read", theirs, true, "visibility", ""},
		{"the board's owner deletes any image on it", k.owner.ID, "image:delete", mine, true, "membership", "owner"},
		{"the workspace admin deletes through a grant", w.users[wsAdmin].ID, "image:delete", loose, true, "grant", "admin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := explainAs(t, w, c.subject, c.action, image(c.id))
			if a.Allowed != c.allowed || !a.has(c.kind, c.role, "") {
				t.Errorf("explain %s on image %s: %+v; want allowed=%v with a %s step", c.action, c.id, a, c.allowed, c.kind)
			}
		})
	}
}

// The verdict agrees with the routes: for every actor of tenant A and boards of each visibility,
// explain's board:read and image:read answer allowed exactly when GET answers 200.
func TestExplain_agreesWithTheRoutesForEveryActor(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	for _, vis := range []string{"private", "shared", "public"} {
		b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": vis, "visibility": vis})
		img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(3, 3), nil))
		for _, who := range allActors {
			if !inA(who) || who == tenantAdmin {
				continue
			}
			for _, c := range []struct{ action, object, path string }{
				{"board:read", "board:" + b.String(), "/api/v1/boards/" + b.String()},
				{"image:read", "image:" + img.String(), "/api/v1/images/" + img.String()},
			} {
				a := explainAs(t, w, w.users[who].ID, c.action, c.object)
				got := env.Do(http.MethodGet, c.path, w.token(who), nil).Status == http.StatusOK
				if a.Allowed != got {
					t.Errorf("%s on a %s board as %s: explain says %v (%s), GET says %v", c.action, vis, who, a.Allowed, a.Reason, got)
				}
			}
		}
	}
}
