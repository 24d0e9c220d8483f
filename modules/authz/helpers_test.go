package authz_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// answer is the explain endpoint's answer.
type answer struct {
	Subject string      `json:"subject"`
	Action  string      `json:"action"`
	Object  string      `json:"object"`
	Node    string      `json:"node"`
	Allowed bool        `json:"allowed"`
	Reason  string      `json:"reason"`
	Path    []rbac.Step `json:"path"`
}

// world is tenant A with the tree msa, msa/suit, msa/suit/andromeda and rocket.
type world struct {
	env *apptest.Env
	a   apptest.Tenant
	ws  map[string]uuid.UUID // by path
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := apptest.Start(t)
	w := &world{env: env, a: env.SignUp(t), ws: map[string]uuid.UUID{}}
	for _, p := range []struct{ parent, slug string }{{"", "msa"}, {"msa", "suit"}, {"msa/suit", "andromeda"}, {"", "rocket"}} {
		w.mkdir(t, p.parent, p.slug)
	}
	return w
}

// mkdir creates a workspace under parent ("" for the root) through the data layer.
func (w *world) mkdir(t *testing.T, parent, slug string) {
	t.Helper()
	id, _ := uuid.NewV7()
	row := workspaces.Workspace{ID: id, Slug: slug, Name: slug, Path: slug}
	if parent != "" {
		pid := w.ws[parent]
		row.ParentID, row.Path = &pid, parent+"/"+slug
	}
	ctx := tenancy.WithTenant(context.Background(), w.a.ID)
	err := w.env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.LinkWorkspace(row.ID, row.ParentID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.env.App.Enforcer.Changed(ctx, w.a.ID); err != nil {
		t.Fatal(err)
	}
	w.ws[row.Path] = id
}

// node is the policy node of the workspace at path.
func (w *world) node(path string) string { return rbac.WorkspaceNode(w.ws[path]) }

// member is a fresh user of tenant A with no tenant-wide role.
func (w *world) member(t *testing.T) apptest.User {
	t.Helper()
	return w.env.NewUser(t, w.a, "member")
}

// grant has tenant A's admin grant the role to the subject on {ws} through the API.
func (w *world) grant(t *testing.T, ws, subjectType string, subject uuid.UUID, role string) {
	t.Helper()
	apptest.WantStatus(t, w.env.Do(http.MethodPost, "/api/v1/workspaces/"+ws+"/grants", w.a.Admin.Token,
		map[string]any{"subject_type": subjectType, "subject_id": subject, "role": role}), http.StatusCreated)
}

// profile has tenant A's admin create an access profile and returns its id.
func (w *world) profile(t *testing.T, name string, settings map[string]any) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/profiles", w.a.Admin.Token, map[string]any{"type": "access", "name": name, "settings": settings})
	apptest.WantStatus(t, r, http.StatusCreated)
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &p)
	return p.ID
}

// explainPath is the explain route for the question ("" subject: the caller).
func explainPath(subject, action, object string) string {
	q := url.Values{"action": {action}, "object": {object}}
	if subject != "" {
		q.Set("subject", subject)
	}
	return "/api/v1/authz/explain?" + q.Encode()
}

// explain asks the question as the holder of token, failing unless it is answered.
func (w *world) explain(t *testing.T, token, subject, action, object string) answer {
	t.Helper()
	r := w.env.Do(http.MethodGet, explainPath(subject, action, object), token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var a answer
	r.JSON(t, &a)
	return a
}

// wantPath fails unless the answer's path is want, step by step (details aside).
func wantPath(t *testing.T, a answer, want []rbac.Step) {
	t.Helper()
	if len(a.Path) != len(want) {
		t.Fatalf("path %+v, want %+v", a.Path, want)
	}
	for i := range want {
		if !sameStep(a.Path[i], want[i]) {
			t.Fatalf("step %d of %+v is %+v, want %+v", i, a.Path, a.Path[i], want[i])
		}
	}
}

// sameStep compares the kind, node, role and group of two steps; a detail counts when want has one.
func sameStep(got, want rbac.Step) bool {
	return got.Kind == want.Kind && got.Node == want.Node && got.Role == want.Role && got.Via == want.Via &&
		(want.Detail == "" || got.Detail == want.Detail)
}

func hasStep(a answer, want rbac.Step) bool {
	for _, s := range a.Path {
		if sameStep(s, want) {
			return true
		}
	}
	return false
}

func hasKind(a answer, kind string) bool {
	for _, s := range a.Path {
		if s.Kind == kind {
			return true
		}
	}
	return false
}

// isInvalid reports whether r is a 400 invalid whose first detail names the field.
func isInvalid(t *testing.T, r apptest.Response, field string) bool {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Details []struct {
				Field string `json:"field"`
			} `json:"details"`
		} `json:"error"`
	}
	r.JSON(t, &e)
	return r.Status == http.StatusBadRequest && e.Error.Code == "invalid" && len(e.Error.Details) > 0 && e.Error.Details[0].Field == field
}
