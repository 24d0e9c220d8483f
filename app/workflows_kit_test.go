package app_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/tenancy"
)

// Fixtures for the workflow tests (matrix rows and app/workflows_test.go). Workflows are saved
// through the API by a fixed owner — a user of tenant A no actor is, editor of msa/suit — so
// that every actor stands to them as "someone else".

// wfGraph is a small valid graph: an exposed image input, a resize, an output.
const wfGraph = `{"nodes":[{"id":"in","type":"image_input"},{"id":"r","type":"resize","fields":{"width":64}},{"id":"out","type":"output"}],` +
	`"edges":[{"from":"in.image","to":"r.image"},{"from":"r.image","to":"out.image"}],"exposed":["in.image_id"]}`

type wfKit struct {
	w     *world
	owner apptest.User
	mu    sync.Mutex
	cache map[string]uuid.UUID
}

var (
	wfKitsMu sync.Mutex
	wfKits   = map[*world]*wfKit{}
)

func wfKitOf(t *testing.T, w *world) *wfKit {
	t.Helper()
	wfKitsMu.Lock()
	defer wfKitsMu.Unlock()
	if k, ok := wfKits[w]; ok {
		return k
	}
	k := &wfKit{w: w, cache: map[string]uuid.UUID{}}
	k.owner = w.env.NewUser(t, w.a, "member")
	w.grant(t, k.owner.ID, "editor", "msa/suit", nil)
	wfKits[w] = k
	return k
}

// wfSpec describes a fixture workflow.
type wfSpec struct {
	shared    bool
	system    bool
	thumbnail bool
	name      string
	tags      []string
}

// create saves a fresh workflow per the spec and returns its id.
func (k *wfKit) create(t *testing.T, s wfSpec) uuid.UUID {
	t.Helper()
	name := s.name
	if name == "" {
		name = "workflow " + k.w.unique()
	}
	if s.system {
		return wfSystem(t, k.w.env, k.w.a.ID, name)
	}
	body := map[string]any{"name": name, "shared": s.shared, "graph": rawJSON(wfGraph)}
	if s.tags != nil {
		body["tags"] = s.tags
	}
	r := k.w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/workflows", k.owner.Token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: create workflow: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	if s.thumbnail {
		form := apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: "t.png", Data: bdPNG(40, 30)})
		if r := k.w.env.Do(http.MethodPut, "/api/v1/workflows/"+v.ID.String()+"/thumbnail", k.owner.Token, form); r.Status != http.StatusNoContent {
			t.Fatalf("fixture: thumbnail: %d %s", r.Status, r.Body)
		}
	}
	return v.ID
}

// cached makes one workflow per key for rows that change nothing.
func (k *wfKit) cached(t *testing.T, key string, s wfSpec) uuid.UUID {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if id, ok := k.cache[key]; ok {
		return id
	}
	id := k.create(t, s)
	k.cache[key] = id
	return id
}

// wfSystem inserts a system workflow of the tenant directly (as sign-up does).
func wfSystem(t *testing.T, env *apptest.Env, tenantID uuid.UUID, name string) uuid.UUID {
	t.Helper()
	id, _ := uuid.NewV7()
	ctx := tenancyCtx(tenantID)
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Create(&workflows.Workflow{ID: id, IsSystem: true, Name: name, Graph: wfGraph}).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// rawJSON is a JSON document sent as is inside a body.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func tenancyCtx(id uuid.UUID) context.Context { return tenancy.WithTenant(context.Background(), id) }
