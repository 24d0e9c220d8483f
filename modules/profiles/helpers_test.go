package profiles_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
)

const (
	profilesPath = "/api/v1/profiles"
	wsPath       = "/api/v1/workspaces"
)

// profile is a profile as the API answers it.
type profile struct {
	ID          uuid.UUID       `json:"id"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Settings    json.RawMessage `json:"settings"`
	OwnerID     *uuid.UUID      `json:"owner_id"`
}

type origin struct {
	Node        string     `json:"node"`
	WorkspaceID *uuid.UUID `json:"workspace_id"`
	Path        string     `json:"path"`
}

type effective struct {
	Type      string          `json:"type"`
	Settings  json.RawMessage `json:"settings"`
	Profile   *profile        `json:"profile"`
	Inherited bool            `json:"inherited"`
	From      *origin         `json:"from"`
}

type effectiveView struct {
	origin
	Profiles []effective `json:"profiles"`
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// wantInvalid fails unless r is a 400 invalid whose first detail names the field.
// ref writes a path as a route's {ws}.
func ref(path string) string { return strings.ReplaceAll(path, "/", "~") }

// world is tenant A with a tree made through the API, and the people the tests need.
type world struct {
	env *apptest.Env
	a   apptest.Tenant
	ws  map[string]uuid.UUID // by path
}

func newWorld(t *testing.T, paths ...string) *world {
	t.Helper()
	env := apptest.Start(t)
	w := &world{env: env, a: env.SignUp(t), ws: map[string]uuid.UUID{}}
	for _, p := range paths {
		w.mkdir(t, p)
	}
	return w
}

// mkdir creates the workspace at path (its parent must exist) as the tenant admin.
func (w *world) mkdir(t *testing.T, path string) uuid.UUID {
	t.Helper()
	body := map[string]any{"name": path, "slug": path[strings.LastIndex(path, "/")+1:]}
	if i := strings.LastIndex(path, "/"); i > 0 {
		body["parent_id"] = w.ws[path[:i]]
	}
	r := w.env.Do(http.MethodPost, wsPath, w.a.Admin.Token, body)
	apptest.WantStatus(t, r, http.StatusCreated)
	var v struct {
		ID   uuid.UUID `json:"id"`
		Path string    `json:"path"`
	}
	r.JSON(t, &v)
	if v.Path != path {
		t.Fatalf("created %q, want %q", v.Path, path)
	}
	w.ws[path] = v.ID
	return v.ID
}

// member creates a user with no tenant-wide role and grants them the role on the workspace.
func (w *world) member(t *testing.T, role, path string) apptest.User {
	t.Helper()
	u := w.env.NewUser(t, w.a, "member")
	if role != "" {
		r := w.env.Do(http.MethodPost, wsPath+"/"+ref(path)+"/grants", w.a.Admin.Token,
			map[string]any{"subject_type": "user", "subject_id": u.ID, "role": role})
		apptest.WantStatus(t, r, http.StatusCreated)
	}
	return u
}

// create makes a profile as the caller, failing unless it is created.
func (w *world) create(t *testing.T, token, typ, name string, settings any) profile {
	t.Helper()
	r := w.env.Do(http.MethodPost, profilesPath, token, map[string]any{"type": typ, "name": name, "settings": settings})
	apptest.WantStatus(t, r, http.StatusCreated)
	var p profile
	r.JSON(t, &p)
	return p
}

// assign puts the profile on the workspace at path ("" for the tenant root).
func (w *world) assign(token, path, typ string, id uuid.UUID) apptest.Response {
	return w.env.Do(http.MethodPut, w.profilesOf(path)+"/"+typ, token, map[string]any{"profile_id": id})
}

func (w *world) unassign(token, path, typ string) apptest.Response {
	return w.env.Do(http.MethodDelete, w.profilesOf(path)+"/"+typ, token, nil)
}

func (w *world) profilesOf(path string) string {
	if path == "" {
		return wsPath + "/~/profiles"
	}
	return wsPath + "/" + ref(path) + "/profiles"
}

// effective reads the effective profiles on the workspace at path ("" for the tenant root), by
// type.
func (w *world) effective(t *testing.T, token, path string) map[string]effective {
	t.Helper()
	at := "~"
	if path != "" {
		at = ref(path)
	}
	r := w.env.Do(http.MethodGet, wsPath+"/"+at+"/effective-profiles", token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var v effectiveView
	r.JSON(t, &v)
	out := map[string]effective{}
	for _, e := range v.Profiles {
		out[e.Type] = e
	}
	return out
}

// node is the policy node of the workspace at path ("" for the tenant root).
func (w *world) node(path string) string {
	if path == "" {
		return rbac.Root
	}
	return rbac.WorkspaceNode(w.ws[path])
}

// allowed asks the enforcer directly.
func (w *world) allowed(t *testing.T, user uuid.UUID, path string, action rbac.Action) bool {
	t.Helper()
	ok, err := w.env.App.Enforcer.Allowed(context.Background(), w.a.ID, user, w.node(path), action)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// describe renames the workspace's description over HTTP and returns the status.
func (w *world) describe(token, path string) int {
	return w.env.Do(http.MethodPatch, wsPath+"/"+ref(path), token,
		map[string]any{"description": "touched " + time.Now().Format(time.RFC3339Nano)}).Status
}

// sameJSON reports whether two JSON documents are equal as values.
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
