package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
)

// The isolation suite, after Ory Keto's IsolationTest(t, m0, m1): for every store that keeps
// tenant data, the same objects are made in tenant A and in tenant B, and every read, listing,
// change and removal through the API in A's scope — as A's admin, whom only the tenant boundary
// stops — must neither see nor touch B's. It runs on both backends: PostgreSQL, where forced
// row-level security backs the scoped data layer up, and the embedded SQLite, where the scoped
// data layer is all there is.

// isoObject is one object of a store as the API reaches it. Paths are complete; "" means the
// store has no such route.
type isoObject struct {
	id string
	// reads are paths that show the object (the first is how its owner checks it afterwards).
	reads []string
	// list is a listing in the object's tenant that holds it.
	list string
	// change is a request that would change the object; its body carries isoMarker.
	change *isoRequest
	// remove deletes the object.
	remove string
}

type isoRequest struct {
	method, path string
	body         any
}

// isoMarker is what a cross-tenant change would write; the victim's object must never show it.
const isoMarker = "isolation-breach"

// isoStore makes one object of the store in a tenant, as that tenant's admin.
type isoStore struct {
	name   string
	create func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject
}

var isoStores = []isoStore{
	{"users", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		u := env.NewUser(t, tn, "member")
		p := "/api/v1/users/" + u.ID.String()
		return isoObject{id: u.ID.String(), reads: []string{p}, list: "/api/v1/users",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"display_name": isoMarker}}, remove: p}
	}},
	{"groups", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoCreate(t, env, tn, "/api/v1/groups", map[string]any{"name": "group " + uuid.NewString()[:8]}, http.StatusCreated)
		p := "/api/v1/groups/" + id
		// The change adds the caller (A's admin) to the group: B's group must not gain a
		// member, whose id would then show in it.
		return isoObject{id: id, reads: []string{p}, list: "/api/v1/groups",
			change: &isoRequest{http.MethodPost, p + "/members", map[string]any{"user_id": "$caller"}}, remove: p}
	}},
	{"roles", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoCreate(t, env, tn, "/api/v1/roles", map[string]any{"name": "r" + strings.ReplaceAll(uuid.NewString()[:8], "-", ""),
			"permissions": []string{"workspace:read"}}, http.StatusCreated)
		p := "/api/v1/roles/" + id
		return isoObject{id: id, list: "/api/v1/roles",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"description": isoMarker}}, remove: p}
	}},
	{"workspaces", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoWorkspace(t, env, tn)
		p := "/api/v1/workspaces/" + id
		return isoObject{id: id, reads: []string{p, p + "/effective-profiles"}, list: "/api/v1/workspaces",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"name": isoMarker}}, remove: p}
	}},
	{"grants", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		ws := isoWorkspace(t, env, tn)
		u := env.NewUser(t, tn, "member")
		id := isoCreate(t, env, tn, "/api/v1/workspaces/"+ws+"/grants",
			map[string]any{"subject_type": "user", "subject_id": u.ID, "role": "viewer"}, http.StatusCreated)
		return isoObject{id: id, list: "/api/v1/workspaces/" + ws + "/grants",
			remove: "/api/v1/workspaces/" + ws + "/grants/" + id}
	}},
	{"profiles", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoCreate(t, env, tn, "/api/v1/profiles",
			map[string]any{"type": "quota", "name": "quota " + uuid.NewString()[:8], "settings": map[string]any{}}, http.StatusCreated)
		p := "/api/v1/profiles/" + id
		return isoObject{id: id, list: "/api/v1/profiles",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"name": isoMarker}}, remove: p}
	}},
	{"boards", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoBoard(t, env, tn)
		p := "/api/v1/boards/" + id
		return isoObject{id: id, reads: []string{p, p + "/members", p + "/images"}, list: "/api/v1/workspaces/default/boards",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"name": isoMarker}}, remove: p}
	}},
	{"images", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := bdUpload(t, env, tn.Admin.Token, "default", nil, bdPNG(4, 4)).String()
		p := "/api/v1/images/" + id
		return isoObject{id: id, reads: []string{p, p + "/file", p + "/thumbnail"}, list: "/api/v1/workspaces/default/images",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"name": isoMarker}}, remove: p}
	}},
	{"workflows", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoCreate(t, env, tn, "/api/v1/workspaces/default/workflows",
			map[string]any{"name": "workflow " + uuid.NewString()[:8], "graph": rawJSON(wfGraph)}, http.StatusCreated)
		p := "/api/v1/workflows/" + id
		return isoObject{id: id, reads: []string{p}, list: "/api/v1/workspaces/default/workflows?category=user",
			change: &isoRequest{http.MethodPatch, p, map[string]any{"name": isoMarker}}, remove: p}
	}},
	{"queue", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		wf := wfSystem(t, env, tn.ID, "queue "+uuid.NewString()[:8])
		board := isoBoard(t, env, tn)
		b := uuid.MustParse(board)
		img := bdUpload(t, env, tn.Admin.Token, "default", &b, bdPNG(4, 4))
		id := isoCreate(t, env, tn, "/api/v1/workspaces/default/queue",
			map[string]any{"workflow_id": wf, "board_id": board, "field_values": map[string]any{"in.image_id": img}}, http.StatusCreated)
		p := "/api/v1/queue/" + id
		// A cancel would show as the status "canceled" on B's item.
		return isoObject{id: id, reads: []string{p}, list: "/api/v1/workspaces/default/queue",
			change: &isoRequest{http.MethodPost, p + "/cancel", nil}, remove: p}
	}},
	{"downloads", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		img := bdUpload(t, env, tn.Admin.Token, "default", nil, bdPNG(4, 4))
		id := isoCreate(t, env, tn, "/api/v1/downloads", map[string]any{"image_ids": []uuid.UUID{img}}, http.StatusAccepted)
		p := "/api/v1/downloads/" + id
		return isoObject{id: id, reads: []string{p, p + "/file"}, list: "/api/v1/downloads",
			change: &isoRequest{http.MethodPost, p + "/link", nil}, remove: p}
	}},
	{"tokens", func(t *testing.T, env *apptest.Env, tn apptest.Tenant) isoObject {
		id := isoCreate(t, env, tn, "/api/v1/me/tokens", map[string]any{"name": "token " + uuid.NewString()[:8]}, http.StatusCreated)
		return isoObject{id: id, reads: []string{"/api/v1/me/tokens/" + id + "/access-log"}, list: "/api/v1/admin/tokens",
			remove: "/api/v1/admin/tokens/" + id}
	}},
	// The audit log has no object of its own: what B's admin did above is B's, and A's log
	// must not show B's admin (its id) anywhere.
	{"audit", func(_ *testing.T, _ *apptest.Env, tn apptest.Tenant) isoObject {
		return isoObject{id: tn.Admin.ID.String(), list: "/api/v1/audit?limit=100"}
	}},
}

// TestIsolation_everyStoreOnBothBackends: for each store, A's admin reads, lists, changes and
// removes B's object through every route there is and gets 404 or nothing; B's object is then
// still there, unchanged, and each tenant's listing holds its own object and not the other's.
func TestIsolation_everyStoreOnBothBackends(t *testing.T) {
	backends := []struct {
		name string
		opts []apptest.Option
	}{
		{"postgres", nil},
		{"sqlite", []apptest.Option{func(c *configs.Config) { c.DatabaseURL = "" }}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			env := apptest.Start(t, be.opts...)
			isolateQueue(t, env)
			a, b := env.SignUp(t), env.SignUp(t)
			for _, s := range isoStores {
				t.Run(s.name, func(t *testing.T) {
					mine, theirs := s.create(t, env, a), s.create(t, env, b)
					isoCheck(t, env, a, mine, theirs)
					isoCheck(t, env, b, theirs, mine)
					isoIntact(t, env, b, theirs)
				})
			}
		})
	}
}

// isoCheck: the caller's tenant lists its own object and not the other's, and every route to
// the other's answers 404.
func isoCheck(t *testing.T, env *apptest.Env, caller apptest.Tenant, own, other isoObject) {
	t.Helper()
	tok := caller.Admin.Token
	if own.list != "" {
		r := env.Do(http.MethodGet, own.list, tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", own.list, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), other.id) {
			t.Errorf("LEAK: GET %s lists the other tenant's %s: %s", own.list, other.id, truncate(r.Body))
		}
		if own.id != caller.Admin.ID.String() && !strings.Contains(string(r.Body), own.id) {
			t.Errorf("GET %s does not list the tenant's own %s, the check would prove nothing: %s", own.list, own.id, truncate(r.Body))
		}
	}
	for _, p := range other.reads {
		isoWant404(t, env, tok, http.MethodGet, p, nil)
	}
	if other.change != nil {
		body := other.change.body
		if m, ok := body.(map[string]any); ok && m["user_id"] == "$caller" {
			body = map[string]any{"user_id": caller.Admin.ID}
		}
		isoWant404(t, env, tok, other.change.method, other.change.path, body)
	}
	if other.remove != "" {
		isoWant404(t, env, tok, http.MethodDelete, other.remove, nil)
	}
}

// isoIntact: after A's attempts, B's object is still there and shows none of them.
func isoIntact(t *testing.T, env *apptest.Env, owner apptest.Tenant, obj isoObject) {
	t.Helper()
	var body string
	if len(obj.reads) > 0 {
		r := env.Do(http.MethodGet, obj.reads[0], owner.Admin.Token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("the owner's GET %s after the other tenant's attempts: %d %s", obj.reads[0], r.Status, r.Body)
		}
		body = string(r.Body)
	} else if obj.list != "" {
		r := env.Do(http.MethodGet, obj.list, owner.Admin.Token, nil)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), obj.id) {
			t.Fatalf("the owner's GET %s after the other tenant's attempts: %d, lacks %s: %s", obj.list, r.Status, obj.id, truncate(r.Body))
		}
		body = string(r.Body)
	}
	for _, leak := range []string{isoMarker, `"canceled"`} {
		if strings.Contains(body, leak) {
			t.Errorf("the other tenant changed %s: %s", obj.id, truncate([]byte(body)))
		}
	}
}

func isoWant404(t *testing.T, env *apptest.Env, token, method, path string, body any) {
	t.Helper()
	if r := env.Do(method, path, token, body); r.Status != http.StatusNotFound {
		t.Errorf("LEAK: %s %s on the other tenant's object: %d, want 404 (%s)", method, path, r.Status, truncate(r.Body))
	}
}

// isoCreate posts body as the tenant's admin and returns the new object's id.
func isoCreate(t *testing.T, env *apptest.Env, tn apptest.Tenant, path string, body any, status int) string {
	t.Helper()
	r := env.Do(http.MethodPost, path, tn.Admin.Token, body)
	if r.Status != status {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	return idOf(t, r).String()
}

func isoWorkspace(t *testing.T, env *apptest.Env, tn apptest.Tenant) string {
	t.Helper()
	slug := "w" + strings.ReplaceAll(uuid.NewString(), "-", "")[:10]
	return isoCreate(t, env, tn, "/api/v1/workspaces", map[string]any{"name": slug, "slug": slug}, http.StatusCreated)
}

func isoBoard(t *testing.T, env *apptest.Env, tn apptest.Tenant) string {
	t.Helper()
	return isoCreate(t, env, tn, "/api/v1/workspaces/default/boards", map[string]any{"name": "board " + uuid.NewString()[:8]}, http.StatusCreated)
}
