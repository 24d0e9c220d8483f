package authz_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
)

// A user asks about themselves: the answer is the decision point's, with the path that decided
// it — the object's node and its ancestors, the grant (made on an ancestor, or through a group),
// the role that carries the action, and the access profile that had the last word.
func TestExplain_aUserAsksAboutThemselvesAndSeesThePathThatDecided(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	editor := w.member(t)
	w.grant(t, "msa", "user", editor.ID, rbac.RoleEditor)
	andromeda := "workspace:msa~suit~andromeda"

	// Allowed through a grant on an ancestor.
	ans := w.explain(t, editor.Token, "", "workspace:update", andromeda)
	if !ans.Allowed || ans.Subject != rbac.UserSubject(editor.ID) || ans.Node != w.node("msa/suit/andromeda") ||
		ans.Object != andromeda || ans.Action != "workspace:update" {
		t.Fatalf("answer %+v", ans)
	}
	wantPath(t, ans, []rbac.Step{
		{Kind: "node", Node: w.node("msa/suit/andromeda")}, {Kind: "node", Node: w.node("msa/suit")}, {Kind: "node", Node: w.node("msa")},
		{Kind: "grant", Node: w.node("msa"), Role: rbac.RoleEditor}, {Kind: "role", Role: rbac.RoleEditor},
	})
	if !strings.Contains(ans.Reason, "editor") || !strings.Contains(ans.Reason, "inherited") {
		t.Errorf("reason %q", ans.Reason)
	}

	// Denied: no grant on the node or above carries the action; the path lists what was searched.
	ans = w.explain(t, editor.Token, "", "workspace:delete", andromeda)
	if ans.Allowed || !strings.HasPrefix(ans.Reason, "no grant") {
		t.Fatalf("answer %+v", ans)
	}
	wantPath(t, ans, []rbac.Step{
		{Kind: "node", Node: w.node("msa/suit/andromeda")}, {Kind: "node", Node: w.node("msa/suit")},
		{Kind: "node", Node: w.node("msa")}, {Kind: "node", Node: rbac.Root},
	})

	// Allowed through a group's grant: the path names the group.
	r := w.env.Do(http.MethodPost, "/api/v1/groups", w.a.Admin.Token, map[string]any{"name": "Suit admins"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var group struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &group)
	apptest.WantStatus(t, w.env.Do(http.MethodPost, "/api/v1/groups/"+group.ID.String()+"/members", w.a.Admin.Token,
		map[string]any{"user_id": editor.ID}), http.StatusCreated)
	w.grant(t, "msa~suit", "group", group.ID, rbac.RoleAdmin)
	ans = w.explain(t, editor.Token, "", "workspace:delete", andromeda)
	if !ans.Allowed {
		t.Fatalf("answer %+v", ans)
	}
	wantPath(t, ans, []rbac.Step{
		{Kind: "node", Node: w.node("msa/suit/andromeda")}, {Kind: "node", Node: w.node("msa/suit")},
		{Kind: "grant", Node: w.node("msa/suit"), Role: rbac.RoleAdmin, Via: "group:" + group.ID.String()},
		{Kind: "role", Role: rbac.RoleAdmin},
	})

	// A read-only access profile on andromeda refuses the editor's grant there, and says so; the
	// tenant admin's own question passes the same profile.
	archived := w.profile(t, "Archived", map[string]any{"read_only": true})
	apptest.WantStatus(t, w.env.Do(http.MethodPut, "/api/v1/workspaces/msa~suit~andromeda/profiles/access", w.a.Admin.Token,
		map[string]any{"profile_id": archived}), http.StatusOK)
	ans = w.explain(t, editor.Token, "", "workspace:update", andromeda)
	if ans.Allowed || !strings.Contains(ans.Reason, "access profile") {
		t.Fatalf("answer %+v", ans)
	}
	if !hasStep(ans, rbac.Step{Kind: "profile", Node: w.node("msa/suit/andromeda")}) ||
		!hasStep(ans, rbac.Step{Kind: "grant", Node: w.node("msa"), Role: rbac.RoleEditor}) {
		t.Errorf("the path %+v does not show the refused grant and the profile", ans.Path)
	}
	if ans := w.explain(t, editor.Token, "", "workspace:update", "workspace:msa~suit"); !ans.Allowed {
		t.Errorf("above the profile: %+v", ans)
	}
	ans = w.explain(t, w.a.Admin.Token, "", "workspace:update", andromeda)
	if !ans.Allowed || !hasStep(ans, rbac.Step{Kind: "grant", Node: rbac.Root, Role: rbac.RoleAdmin}) ||
		!hasStep(ans, rbac.Step{Kind: "profile", Node: w.node("msa/suit/andromeda")}) {
		t.Errorf("tenant admin under the profile: %+v", ans)
	}

	// An unknown action is denied, whoever asks.
	for _, token := range []string{editor.Token, w.a.Admin.Token} {
		if ans := w.explain(t, token, "", "board:explode", "tenant"); ans.Allowed || !strings.Contains(ans.Reason, "unknown action") {
			t.Errorf("unknown action: %+v", ans)
		}
	}
}

// Anyone asks about themselves; only tenant admins and auditors about another user of their
// tenant (a workspace admin is not enough: 403); a subject or object of another tenant is not
// found, with the same body as one that does not exist.
func TestExplain_onlyTenantAdminsAndAuditorsAskAboutOthers(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.env.SignUp(t)
	bUser := w.env.NewUser(t, b, "member")
	editor, wsAdmin, aud := w.member(t), w.member(t), w.env.NewUser(t, w.a, "auditor")
	w.grant(t, "msa", "user", editor.ID, rbac.RoleEditor)
	w.grant(t, "msa", "user", wsAdmin.ID, rbac.RoleAdmin)
	q := func(subject string) string { return explainPath(subject, "workspace:update", "workspace:msa~suit") }

	apptest.WantStatus(t, w.env.Do(http.MethodGet, q(editor.ID.String()), editor.Token, nil), http.StatusOK)
	apptest.WantStatus(t, w.env.Do(http.MethodGet, q("user:"+editor.ID.String()), editor.Token, nil), http.StatusOK)
	for _, c := range []struct {
		name  string
		token string
	}{{"editor", editor.Token}, {"workspace admin", wsAdmin.Token}} {
		r := w.env.Do(http.MethodGet, q(aud.ID.String()), c.token, nil)
		if r.Status != http.StatusForbidden || r.ErrorCode() != "forbidden" {
			t.Errorf("%s about another user: %d %s, want 403", c.name, r.Status, r.Body)
		}
	}
	apptest.WantStatus(t, w.env.Do(http.MethodGet, "/api/v1/authz/explain?action=workspace%3Aread&object=tenant", "", nil), http.StatusUnauthorized)

	for _, c := range []struct {
		name  string
		token string
	}{{"tenant admin", w.a.Admin.Token}, {"auditor", aud.Token}} {
		ans := w.explain(t, c.token, editor.ID.String(), "workspace:update", "workspace:msa~suit")
		if !ans.Allowed || ans.Subject != rbac.UserSubject(editor.ID) || !hasStep(ans, rbac.Step{Kind: "grant", Node: w.node("msa"), Role: rbac.RoleEditor}) {
			t.Errorf("%s about the editor: %+v", c.name, ans)
		}
		ans = w.explain(t, c.token, editor.ID.String(), "workspace:delete", "workspace:msa~suit")
		if ans.Allowed {
			t.Errorf("%s about the editor deleting: %+v", c.name, ans)
		}
	}

	// Another tenant's user, from either side, is no user here.
	missing := w.env.Do(http.MethodGet, q(uuid.NewString()), w.a.Admin.Token, nil)
	apptest.WantError(t, missing, http.StatusNotFound, "not_found")
	for _, c := range []struct {
		name  string
		token string
		path  string
	}{
		{"A's admin about B's user", w.a.Admin.Token, explainPath(bUser.ID.String(), "workspace:read", "tenant")},
		{"A's auditor about B's admin", aud.Token, explainPath(b.Admin.ID.String(), "workspace:read", "tenant")},
		{"B's admin about A's user", b.Admin.Token, explainPath(editor.ID.String(), "workspace:read", "tenant")},
	} {
		r := w.env.Do(http.MethodGet, c.path, c.token, nil)
		if r.Status != http.StatusNotFound || string(r.Body) != string(missing.Body) {
			t.Errorf("%s: %d %s, want the missing user's 404 %s", c.name, r.Status, r.Body, missing.Body)
		}
	}
	// Objects of another tenant are not found either.
	apptest.WantError(t, w.env.Do(http.MethodGet, explainPath("", "workspace:read", "workspace:msa~suit"), b.Admin.Token, nil), http.StatusNotFound, "not_found")
	apptest.WantError(t, w.env.Do(http.MethodGet, explainPath("", "workspace:read", "workspace:"+w.ws["msa"].String()), b.Admin.Token, nil), http.StatusNotFound, "not_found")
	apptest.WantError(t, w.env.Do(http.MethodGet, explainPath("", "tenant:read", "tenant:"+w.a.ID.String()), b.Admin.Token, nil), http.StatusNotFound, "not_found")
	if ans := w.explain(t, b.Admin.Token, "", "tenant:read", "tenant:"+b.ID.String()); !ans.Allowed || ans.Node != rbac.Root {
		t.Errorf("B's admin about B's own tenant: %+v", ans)
	}

	// A disabled user is refused before any decision, and the answer says so.
	apptest.WantStatus(t, w.env.Do(http.MethodPatch, "/api/v1/users/"+editor.ID.String(), w.a.Admin.Token, map[string]any{"disabled": true}), http.StatusOK)
	if ans := w.explain(t, w.a.Admin.Token, editor.ID.String(), "workspace:update", "workspace:msa~suit"); ans.Allowed || !strings.Contains(ans.Reason, "disabled") {
		t.Errorf("about a disabled user: %+v", ans)
	}
}

// Explain never disagrees with the decision point: for every action, several kinds of subject
// and nodes of the tree, its verdict is Allowed's.
func TestExplain_agreesWithTheDecisionPointOnEveryAction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	editor, viaGroup, nobody := w.member(t), w.member(t), w.member(t)
	aud := w.env.NewUser(t, w.a, "auditor")
	w.grant(t, "msa", "user", editor.ID, rbac.RoleEditor)
	r := w.env.Do(http.MethodPost, "/api/v1/groups", w.a.Admin.Token, map[string]any{"name": "Viewers"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var group struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &group)
	apptest.WantStatus(t, w.env.Do(http.MethodPost, "/api/v1/groups/"+group.ID.String()+"/members", w.a.Admin.Token,
		map[string]any{"user_id": viaGroup.ID}), http.StatusCreated)
	w.grant(t, "msa~suit", "group", group.ID, rbac.RoleAdmin)

	subjects := map[string]uuid.UUID{"tenant admin": w.a.Admin.ID, "auditor": aud.ID, "editor on msa": editor.ID,
		"admin on msa/suit through a group": viaGroup.ID, "member": nobody.ID}
	objects := map[string]string{"tenant": rbac.Root, "workspace:msa": w.node("msa"),
		"workspace:msa~suit~andromeda": w.node("msa/suit/andromeda"), "workspace:rocket": w.node("rocket")}
	var allowedSeen, deniedSeen int
	for name, id := range subjects {
		for object, node := range objects {
			for _, a := range append(rbac.AllActions, "board:explode") {
				ans := w.explain(t, w.a.Admin.Token, id.String(), string(a), object)
				ok, err := w.env.App.Enforcer.Allowed(context.Background(), w.a.ID, id, node, a)
				if err != nil {
					t.Fatal(err)
				}
				if ans.Allowed != ok {
					t.Errorf("%s %s on %s: explain %v, decision point %v (%s)", name, a, object, ans.Allowed, ok, ans.Reason)
				}
				if ans.Allowed {
					allowedSeen++
					if !hasKind(ans, "grant") || !hasKind(ans, "role") {
						t.Errorf("%s %s on %s: allowed without a grant and a role in %+v", name, a, object, ans.Path)
					}
				} else {
					deniedSeen++
				}
			}
		}
	}
	if allowedSeen == 0 || deniedSeen == 0 {
		t.Errorf("allowed %d, denied %d: the table does not exercise both", allowedSeen, deniedSeen)
	}
}

// Bad questions are refused with the field at fault; nothing is guessed.
func TestExplain_badInputNamesTheField(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range []struct {
		name  string
		query url.Values
		field string
	}{
		{"no action", url.Values{"object": {"tenant"}}, "action"},
		{"action without a type", url.Values{"action": {"update"}, "object": {"tenant"}}, "action"},
		{"action in capitals", url.Values{"action": {"Workspace:Update"}, "object": {"tenant"}}, "action"},
		{"no object", url.Values{"action": {"workspace:read"}}, "object"},
		{"unknown object kind", url.Values{"action": {"workspace:read"}, "object": {"planet:earth"}}, "object"},
		{"object with a slash", url.Values{"action": {"workspace:read"}, "object": {"workspace:msa/suit"}}, "object"},
		{"workspace without a ref", url.Values{"action": {"workspace:read"}, "object": {"workspace"}}, "object"},
		{"tenant with a bad id", url.Values{"action": {"workspace:read"}, "object": {"tenant:acme"}}, "object"},
		{"subject not a user id", url.Values{"action": {"workspace:read"}, "object": {"tenant"}, "subject": {"bob"}}, "subject"},
		{"subject a group", url.Values{"action": {"workspace:read"}, "object": {"tenant"}, "subject": {"group:" + uuid.NewString()}}, "subject"},
	} {
		r := w.env.Do(http.MethodGet, "/api/v1/authz/explain?"+c.query.Encode(), w.a.Admin.Token, nil)
		if !isInvalid(t, r, c.field) {
			t.Errorf("%s: %d %s, want 400 invalid on %q", c.name, r.Status, r.Body, c.field)
		}
	}
	apptest.WantError(t, w.env.Do(http.MethodGet, explainPath("", "workspace:read", "workspace:msa~nowhere"), w.a.Admin.Token, nil), http.StatusNotFound, "not_found")
}
