package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/tenancy"
)

type wfPage struct {
	Items []struct {
		ID     uuid.UUID `json:"id"`
		Name   string    `json:"name"`
		System bool      `json:"system"`
		Tags   []string  `json:"tags"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (p wfPage) has(id uuid.UUID) bool {
	for _, it := range p.Items {
		if it.ID == id {
			return true
		}
	}
	return false
}

func wfList(t *testing.T, env *apptest.Env, token, query string) wfPage {
	t.Helper()
	r := env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/workflows"+query, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, r.Status, r.Body)
	}
	var p wfPage
	r.JSON(t, &p)
	return p
}

// TestWorkflows_privateThumbnailByIDIsNotFound: InvokeAI guarded the workflow but served a
// private workflow's thumbnail to anyone holding its id.
func TestWorkflows_privateThumbnailByIDIsNotFound(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	private := k.create(t, wfSpec{thumbnail: true})
	shared := k.create(t, wfSpec{thumbnail: true, shared: true})
	missing := w.env.Do(http.MethodGet, "/api/v1/workflows/"+uuid.NewString()+"/thumbnail", w.token(wsViewer), nil)
	r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+private.String()+"/thumbnail", w.token(wsViewer), nil)
	if r.Status != http.StatusNotFound || string(r.Body) != strings.Replace(string(missing.Body), "thumbnail", "workflow", 1) {
		t.Fatalf("private thumbnail as a reader: %d %s (missing: %s)", r.Status, r.Body, missing.Body)
	}
	r = w.env.Do(http.MethodGet, "/api/v1/workflows/"+private.String()+"/thumbnail", k.owner.Token, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || len(r.Body) == 0 {
		t.Fatalf("own thumbnail: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+shared.String()+"/thumbnail", w.token(wsViewer), nil); r.Status != http.StatusOK {
		t.Fatalf("shared thumbnail as a reader: %d", r.Status)
	}
}

// TestWorkflows_privateWorkflowNeverInCountsTagsOrSearch: a private workflow must not show up in
// another reader's counts, tag list, name search, tag filter or listing.
func TestWorkflows_privateWorkflowNeverInCountsTagsOrSearch(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	secret := k.create(t, wfSpec{name: "Secret plan", tags: []string{"Classified"}})
	open := k.create(t, wfSpec{name: "Open plan", tags: []string{"public-ish"}, shared: true})
	viewer := w.token(wsViewer)

	var c workflows.Counts
	r := w.env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/workflows/counts", viewer, nil)
	r.JSON(t, &c)
	if c.User != 0 || c.Shared != 1 || c.Default != 3 {
		t.Fatalf("viewer counts %+v, want user 0 shared 1 default 3", c)
	}
	r = w.env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/workflows/counts", k.owner.Token, nil)
	r.JSON(t, &c)
	if c.User != 2 || c.Shared != 1 || c.Default != 3 {
		t.Fatalf("owner counts %+v, want user 2 shared 1 default 3", c)
	}
	r = w.env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/workflows/tags", viewer, nil)
	if r.Status != http.StatusOK || strings.Contains(string(r.Body), "classified") || !strings.Contains(string(r.Body), `"public-ish"`) {
		t.Fatalf("viewer tags: %d %s", r.Status, r.Body)
	}
	r = w.env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/workflows/tags?category=user", k.owner.Token, nil)
	if !strings.Contains(string(r.Body), `{"tag":"classified","count":1}`) {
		t.Fatalf("owner tags: %s", r.Body)
	}
	for _, q := range []string{"", "?q=plan", "?q=SECRET", "?tag=classified", "?category=shared", "?category=user"} {
		if p := wfList(t, w.env, viewer, q); p.has(secret) {
			t.Errorf("viewer listing %q shows the private workflow", q)
		}
	}
	if p := wfList(t, w.env, viewer, "?q=plan"); !p.has(open) || len(p.Items) != 1 {
		t.Errorf("viewer search for plan: %+v, want only the shared one", p.Items)
	}
	if p := wfList(t, w.env, k.owner.Token, "?q=secret"); !p.has(secret) {
		t.Errorf("owner search misses their own workflow")
	}
	// The admin of the workspace reads (and lists) everything in it.
	if p := wfList(t, w.env, w.token(wsAdmin), "?tag=classified"); !p.has(secret) {
		t.Errorf("workspace admin listing misses the private workflow")
	}
}

// TestWorkflows_systemWorkflowsVisibleToEveryUserWhateverTheFilter: InvokeAI's migration made
// pre-existing system workflows vanish from every library; the default category and every filter
// that matches them must show them to any user of the tenant.
func TestWorkflows_systemWorkflowsVisibleToEveryUserWhateverTheFilter(t *testing.T) {
	w := newWorld(t)
	for _, who := range []actor{tenantAdmin, auditor, wsViewer, parentEditor} {
		tok := w.token(who)
		for _, q := range []string{"", "?category=default", "?q=grayscale", "?tag=watermark", "?q=THUMBNAIL"} {
			p := wfList(t, w.env, tok, q)
			found := false
			for _, it := range p.Items {
				found = found || it.System
			}
			if !found {
				t.Errorf("%s: listing %q shows no system workflow", who, q)
			}
		}
		p := wfList(t, w.env, tok, "?category=default")
		if len(p.Items) != 3 {
			t.Errorf("%s: %d default workflows, want 3", who, len(p.Items))
		}
		// Readable by id too, even by a user with no grant at all.
		for _, reader := range []string{tok, w.token(member)} {
			if r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+p.Items[0].ID.String(), reader, nil); r.Status != http.StatusOK {
				t.Errorf("%s: system workflow by id: %d", who, r.Status)
			}
		}
	}
	// The other tenant has its own three, and never sees these.
	other := wfList(t, w.env, w.token(tenantAdmin), "?category=default")
	r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+other.Items[0].ID.String(), w.token(otherTenant), nil)
	if r.Status != http.StatusNotFound {
		t.Errorf("other tenant reads a system workflow of A: %d", r.Status)
	}
}

// TestWorkflows_sharedTagFollowsTheFlag: the shared tag is set and cleared with the flag, in the
// same write, whatever tags the caller sends; tags are trimmed, folded and de-duplicated.
func TestWorkflows_sharedTagFollowsTheFlag(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	id := k.create(t, wfSpec{shared: true, tags: []string{" Portrait ", "portrait", "SHARED"}})
	get := func() []string {
		var v struct {
			Tags   []string `json:"tags"`
			Shared bool     `json:"shared"`
		}
		w.env.Do(http.MethodGet, "/api/v1/workflows/"+id.String(), k.owner.Token, nil).JSON(t, &v)
		return v.Tags
	}
	if got := fmt.Sprint(get()); got != "[portrait shared]" {
		t.Fatalf("tags after create: %s", got)
	}
	patch := func(body map[string]any) {
		if r := w.env.Do(http.MethodPatch, "/api/v1/workflows/"+id.String(), k.owner.Token, body); r.Status != http.StatusOK {
			t.Fatalf("patch %v: %d %s", body, r.Status, r.Body)
		}
	}
	patch(map[string]any{"shared": false})
	if got := fmt.Sprint(get()); got != "[portrait]" {
		t.Fatalf("tags after unsharing: %s", got)
	}
	patch(map[string]any{"tags": []string{"shared", "B", "a"}})
	if got := fmt.Sprint(get()); got != "[a b]" {
		t.Fatalf("a private workflow tagged shared: %s", got)
	}
	patch(map[string]any{"shared": true})
	if got := fmt.Sprint(get()); got != "[a b shared]" {
		t.Fatalf("tags after sharing: %s", got)
	}
	tooMany := make([]string, workflows.MaxTags+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("t%d", i)
	}
	for name, tags := range map[string][]string{"too many": tooMany, "too long": {strings.Repeat("x", 33)}, "empty": {"  "}} {
		r := w.env.Do(http.MethodPatch, "/api/v1/workflows/"+id.String(), k.owner.Token, map[string]any{"tags": tags})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"field":"tags`) {
			t.Errorf("%s tags: %d %s", name, r.Status, r.Body)
		}
	}
	if got := fmt.Sprint(get()); got != "[a b shared]" {
		t.Fatalf("a refused patch changed the tags: %s", got)
	}
}

// TestWorkflows_sharedInAnAncestorReachesItsReaders: a workflow shared in msa shows in msa/suit's
// shared category for readers of msa, not for those who read msa/suit only.
func TestWorkflows_sharedInAnAncestorReachesItsReaders(t *testing.T) {
	w := newWorld(t)
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa/workflows", w.token(parentEditor),
		map[string]any{"name": "from above", "shared": true, "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create in msa: %d %s", r.Status, r.Body)
	}
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	if p := wfList(t, w.env, w.token(parentViewer), "?category=shared"); !p.has(v.ID) {
		t.Errorf("a reader of msa misses the workflow shared in msa")
	}
	if p := wfList(t, w.env, w.token(wsViewer), "?category=shared"); p.has(v.ID) {
		t.Errorf("a reader of msa/suit only sees a workflow shared in msa")
	}
}

// TestWorkflows_badGraphsAreNamed400s: every graph error is a 400 naming the node and field; a
// 5 MB body is a 413; nothing is written.
func TestWorkflows_badGraphsAreNamed400s(t *testing.T) {
	w := newWorld(t)
	tok := w.token(wsEditor)
	node := func(extra string) string {
		return `{"nodes":[{"id":"in","type":"image_input","fields":{"image_id":"` + uuid.NewString() + `"}},` + extra +
			`{"id":"out","type":"output"}],"edges":[`
	}
	cases := []struct{ name, graph, field string }{
		{"unknown node type", node(`{"id":"x","type":"sepia"},`) + `{"from":"in.image","to":"out.image"}],"exposed":[]}`, "graph.nodes[1].type"},
		{"unknown field", node(`{"id":"r","type":"resize","fields":{"depth":1}},`) + `{"from":"in.image","to":"r.image"},{"from":"r.image","to":"out.image"}],"exposed":[]}`, "graph.nodes[1].fields.depth"},
		{"out of range", node(`{"id":"r","type":"resize","fields":{"width":100000}},`) + `{"from":"in.image","to":"r.image"},{"from":"r.image","to":"out.image"}],"exposed":[]}`, "graph.nodes[1].fields.width"},
		{"missing input", node(``) + `],"exposed":[]}`, "graph.nodes[1].inputs.image"},
		{"type mismatch", node(`{"id":"m","type":"measure"},`) + `{"from":"in.image","to":"m.image"},{"from":"m.width","to":"out.image"}],"exposed":[]}`, "graph.edges[1].to"},
		{"two edges into one input", node(``) + `{"from":"in.image","to":"out.image"},{"from":"in.image","to":"out.image"}],"exposed":[]}`, "graph.edges[1].to"},
		{"cycle", node(`{"id":"a","type":"composite"},{"id":"b","type":"blur"},`) + `{"from":"in.image","to":"a.base"},{"from":"b.image","to":"a.overlay"},{"from":"a.image","to":"b.image"},{"from":"a.image","to":"out.image"}],"exposed":[]}`, "graph.edges[1]"},
		{"exposed unknown", node(``) + `{"from":"in.image","to":"out.image"}],"exposed":["in.nope"]}`, "graph.exposed[0]"},
		{"unknown graph key", `{"nodes":[],"edges":[],"exposed":[],"extra":1}`, "graph"},
		{"null graph", `null`, "graph"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/workflows", tok,
				map[string]any{"name": "bad", "graph": rawJSON(c.graph)})
			var e struct {
				Error struct {
					Details []struct{ Field, Reason string } `json:"details"`
				} `json:"error"`
			}
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			r.JSON(t, &e)
			if len(e.Error.Details) != 1 || e.Error.Details[0].Field != c.field {
				t.Fatalf("details %+v, want field %s", e.Error.Details, c.field)
			}
		})
	}
	big := `{"name":"big","graph":{"nodes":[],"edges":[],"exposed":["` + strings.Repeat("x", 5<<20) + `"]}}`
	if r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/workflows", tok, big); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("5 MB graph: %d", r.Status)
	}
	if r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/workflows", tok, `{"name":"x","graph":{},"colour":1}`); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown body field: %d", r.Status)
	}
	var n int64
	err := w.env.App.DB.Tx(tenancy.WithTenant(t.Context(), w.a.ID), func(tx *gorm.DB) error {
		return tx.Model(&workflows.Workflow{}).Where("is_system = ?", false).Count(&n).Error
	})
	if err != nil || n != 0 {
		t.Fatalf("workflows written by refused requests: %d (%v)", n, err)
	}
}

// TestWorkflows_forRunChecksReadAsTheRequester: the queue's entry point answers 404 for a
// workflow the requester may not read, and returns the parsed graph otherwise.
func TestWorkflows_forRunChecksReadAsTheRequester(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	id := k.create(t, wfSpec{})
	as := func(u apptest.User) tenancy.Principal {
		return tenancy.Principal{TenantID: w.a.ID, UserID: u.ID, Kind: tenancy.CredentialSession}
	}
	ctx := tenancy.WithPrincipal(tenancy.WithTenant(t.Context(), w.a.ID), as(k.owner))
	spec, err := w.env.App.Workflows.ForRun(ctx, id)
	if err != nil || spec.ID != id || spec.WorkspaceID != w.node() || len(spec.Graph.Nodes) != 3 {
		t.Fatalf("ForRun as owner: %+v %v", spec, err)
	}
	ctx = tenancy.WithPrincipal(tenancy.WithTenant(t.Context(), w.a.ID), as(w.users[wsViewer]))
	if _, err := w.env.App.Workflows.ForRun(ctx, id); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("ForRun as a reader of a private workflow: %v, want not found", err)
	}
}

// TestWorkflows_workspaceCascadeDeletesItsWorkflows: a workspace deleted with cascade takes its
// workflows (tags and thumbnails by foreign key); without cascade they keep it alive.
func TestWorkflows_workspaceCascadeDeletesItsWorkflows(t *testing.T) {
	w := newWorld(t)
	tok := w.token(tenantAdmin)
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~rocket/workflows", tok,
		map[string]any{"name": "doomed", "tags": []string{"x"}, "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	if r := w.env.Do(http.MethodDelete, "/api/v1/workspaces/msa~rocket", tok, nil); r.Status != http.StatusConflict {
		t.Fatalf("delete a workspace holding a workflow: %d %s", r.Status, r.Body)
	}
	if r := w.env.Do(http.MethodDelete, "/api/v1/workspaces/msa~rocket?cascade=true", tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("cascade delete: %d %s", r.Status, r.Body)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+v.ID.String(), tok, nil); r.Status != http.StatusNotFound {
		t.Fatalf("workflow after cascade: %d", r.Status)
	}
}

// TestWorkflows_nodeTypesListTheRegistry: the registry route shows each field's type, default
// and range.
func TestWorkflows_nodeTypesListTheRegistry(t *testing.T) {
	w := newWorld(t)
	r := w.env.Do(http.MethodGet, "/api/v1/workflow-node-types", w.token(member), nil)
	var v struct {
		Items []struct {
			Type   string            `json:"type"`
			Fields []json.RawMessage `json:"fields"`
		} `json:"items"`
	}
	r.JSON(t, &v)
	if r.Status != http.StatusOK || len(v.Items) < 10 || !strings.Contains(string(r.Body), `"name":"width","type":"int","default":512,"min":0,"max":16384`) {
		t.Fatalf("node types: %d %s", r.Status, truncate(r.Body))
	}
}

// TestWorkflows_embeddedDatabase: the library's statements (visibility, search, tags aggregated
// in the listing, counts, thumbnails) run on the embedded SQLite database too.
func TestWorkflows_embeddedDatabase(t *testing.T) {
	cfg := apptest.Config(t)
	cfg.DatabaseURL = ""
	env := apptest.StartWith(t, cfg)
	tn := env.SignUp(t)
	other := env.NewUser(t, tn, "member")
	tok := tn.Admin.Token
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tok,
		map[string]any{"name": "Night_Shot 100%", "tags": []string{"B", "a"}, "shared": true, "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	mine := env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tok,
		map[string]any{"name": "private one", "graph": rawJSON(wfGraph)})
	if mine.Status != http.StatusCreated {
		t.Fatalf("create private: %d %s", mine.Status, mine.Body)
	}
	list := func(q string) string {
		r := env.Do(http.MethodGet, "/api/v1/workspaces/default/workflows"+q, tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %d %s", q, r.Status, r.Body)
		}
		return string(r.Body)
	}
	if body := list("?q=shot%20100%25"); !strings.Contains(body, `"tags":["a","b","shared"]`) || strings.Contains(body, "private one") {
		t.Fatalf("search: %s", body)
	}
	if body := list("?q=_"); !strings.Contains(body, "Night_Shot") || strings.Contains(body, "private one") {
		t.Fatalf("search for a literal underscore: %s", body)
	}
	if body := list("?tag=shared&category=shared"); !strings.Contains(body, v.ID.String()) {
		t.Fatalf("tag filter: %s", body)
	}
	var c workflows.Counts
	env.Do(http.MethodGet, "/api/v1/workspaces/default/workflows/counts", tok, nil).JSON(t, &c)
	if c != (workflows.Counts{User: 2, Shared: 1, Default: 3}) {
		t.Fatalf("counts %+v", c)
	}
	r = env.Do(http.MethodGet, "/api/v1/workspaces/default/workflows/tags?category=shared", tok, nil)
	if !strings.Contains(string(r.Body), `{"tag":"a","count":1}`) {
		t.Fatalf("tags: %s", r.Body)
	}
	form := apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: "t.png", Data: bdPNG(700, 300)})
	if r := env.Do(http.MethodPut, "/api/v1/workflows/"+v.ID.String()+"/thumbnail", tok, form); r.Status != http.StatusNoContent {
		t.Fatalf("thumbnail: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodGet, "/api/v1/workflows/"+v.ID.String()+"/thumbnail", tok, nil); r.Status != http.StatusOK || len(r.Body) == 0 {
		t.Fatalf("get thumbnail: %d", r.Status)
	}
	if r := env.Do(http.MethodPatch, "/api/v1/workflows/"+v.ID.String(), other.Token, map[string]any{"name": "x"}); r.Status != http.StatusNotFound {
		t.Fatalf("patch by a user who reads nothing: %d", r.Status)
	}
	if r := env.Do(http.MethodDelete, "/api/v1/workflows/"+v.ID.String(), tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
}

// TestWorkflows_badThumbnailsChangeNothing: a file that is no image is a 400, an oversized one a
// 413, and the workflow keeps no thumbnail.
func TestWorkflows_badThumbnailsChangeNothing(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	id := k.create(t, wfSpec{})
	path := "/api/v1/workflows/" + id.String() + "/thumbnail"
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{
		{"not an image", []byte("GIF89a? no, text"), http.StatusBadRequest},
		{"too large", make([]byte, workflows.ThumbnailLimits.MaxBytes+10), http.StatusRequestEntityTooLarge},
	} {
		form := apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: "t.png", Data: c.data})
		if r := w.env.Do(http.MethodPut, path, k.owner.Token, form); r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
		}
	}
	if r := w.env.Do(http.MethodPut, path, k.owner.Token, map[string]any{"file": "x"}); r.Status != http.StatusBadRequest {
		t.Errorf("JSON instead of multipart: %d", r.Status)
	}
	if r := w.env.Do(http.MethodGet, path, k.owner.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("a thumbnail exists after refused uploads: %d", r.Status)
	}
}

// TestWorkflows_readOnlyProfileStopsOwnersAndWorkspaceAdmins: a read_only access profile stops
// the owner's own writes (rights from ownership, not grants) and workspace admins' too; reads go
// on and tenant admins still write.
func TestWorkflows_readOnlyProfileStopsOwnersAndWorkspaceAdmins(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	var v struct{ ID uuid.UUID }
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit~andromeda/workflows", k.owner.Token,
		map[string]any{"name": "frozen", "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &v)
	var p struct{ ID uuid.UUID }
	r = w.env.Do(http.MethodPost, "/api/v1/profiles", w.token(tenantAdmin),
		map[string]any{"type": "access", "name": w.unique(), "settings": map[string]any{"read_only": true}})
	r.JSON(t, &p)
	if r := w.env.Do(http.MethodPut, "/api/v1/workspaces/msa~suit~andromeda/profiles/access", w.token(tenantAdmin),
		map[string]any{"profile_id": p.ID}); r.Status != http.StatusOK {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	path := "/api/v1/workflows/" + v.ID.String()
	thumb := func() any {
		return apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: "t.png", Data: bdPNG(8, 8)})
	}
	for _, tok := range []string{k.owner.Token, w.token(wsAdmin)} {
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPatch, path, map[string]any{"name": "thawed"}},
			{http.MethodPut, path + "/thumbnail", thumb()},
			{http.MethodDelete, path, nil},
		} {
			if r := w.env.Do(c.method, c.path, tok, c.body); r.Status != http.StatusForbidden {
				t.Errorf("%s %s in a read-only workspace: %d %s", c.method, c.path, r.Status, r.Body)
			}
		}
		if r := w.env.Do(http.MethodGet, path, tok, nil); r.Status != http.StatusOK {
			t.Errorf("read in a read-only workspace: %d", r.Status)
		}
	}
	if r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit~andromeda/workflows", k.owner.Token,
		map[string]any{"name": "new", "graph": rawJSON(wfGraph)}); r.Status != http.StatusForbidden {
		t.Errorf("create in a read-only workspace: %d", r.Status)
	}
	if r := w.env.Do(http.MethodPatch, path, w.token(tenantAdmin), map[string]any{"name": "by the tenant admin"}); r.Status != http.StatusOK {
		t.Errorf("tenant admin in a read-only workspace: %d %s", r.Status, r.Body)
	}
}

// TestWorkflows_pagingAndReadTokens: the listing pages by cursor without overlap, and a read-only
// personal access token of the owner lists and reads but changes nothing.
func TestWorkflows_pagingAndReadTokens(t *testing.T) {
	w := newWorld(t)
	k := wfKitOf(t, w)
	made := map[uuid.UUID]bool{}
	for i := 0; i < 5; i++ {
		made[k.create(t, wfSpec{})] = true
	}
	seen := map[uuid.UUID]bool{}
	query := "?category=user&limit=2"
	for pages := 0; ; pages++ {
		p := wfList(t, w.env, k.owner.Token, query)
		for _, it := range p.Items {
			if seen[it.ID] || !made[it.ID] {
				t.Fatalf("page %d: %s repeated or not the owner's", pages, it.ID)
			}
			seen[it.ID] = true
		}
		if p.NextCursor == nil {
			break
		}
		query = "?category=user&limit=2&cursor=" + *p.NextCursor
	}
	if len(seen) != len(made) {
		t.Fatalf("paged through %d of %d", len(seen), len(made))
	}
	r := w.env.Do(http.MethodPost, "/api/v1/me/tokens", k.owner.Token, map[string]any{"name": "ro", "scopes": []string{"read"}, "expires_in_days": 1})
	if r.Status != http.StatusCreated {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	var tok struct{ Token string }
	r.JSON(t, &tok)
	var id uuid.UUID
	for k := range made {
		id = k
		break
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/workflows/"+id.String(), tok.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("read with a read token: %d", r.Status)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPatch, "/api/v1/workflows/" + id.String(), map[string]any{"name": "x"}},
		{http.MethodDelete, "/api/v1/workflows/" + id.String(), nil},
		{http.MethodPost, "/api/v1/workspaces/msa~suit/workflows", map[string]any{"name": "x", "graph": rawJSON(wfGraph)}},
	} {
		if r := w.env.Do(c.method, c.path, tok.Token, c.body); r.Status != http.StatusForbidden {
			t.Errorf("%s %s with a read token: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
}
