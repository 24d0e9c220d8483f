package workflows_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/tenancy"
)

const smallGraph = `{"nodes":[{"id":"in","type":"image_input"},{"id":"g","type":"grayscale"},{"id":"out","type":"output"}],` +
	`"edges":[{"from":"in.image","to":"g.image"},{"from":"g.image","to":"out.image"}],"exposed":["in.image_id"]}`

type raw string

func (r raw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestStore_writeByNonOwnerChangesNothing: the write statements carry the owner, so a write that
// skipped every rule above the store — as InvokeAI's route checks could be skipped — still cannot
// touch another user's workflow.
func TestStore_writeByNonOwnerChangesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.NewUser(t, tn, "member")
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tn.Admin.Token,
		map[string]any{"name": "mine", "tags": []string{"keep"}, "graph": raw(smallGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	ctx := tenancy.WithTenant(context.Background(), tn.ID)
	tx := func(fn func(tx *gorm.DB) error) {
		t.Helper()
		if err := env.App.DB.Tx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	tx(func(tx *gorm.DB) error {
		ok, err := workflows.StoreUpdate(tx, v.ID, &other.ID, map[string]any{"name": "hijacked", "shared": true})
		if err != nil || ok {
			t.Errorf("update as another user: matched=%v err=%v", ok, err)
		}
		ok, err = workflows.StoreDelete(tx, v.ID, &other.ID)
		if err != nil || ok {
			t.Errorf("delete as another user: matched=%v err=%v", ok, err)
		}
		return nil
	})
	var w workflows.Workflow
	tx(func(tx *gorm.DB) error { return tx.Where("id = ?", v.ID).Take(&w).Error })
	if w.Name != "mine" || w.Shared {
		t.Fatalf("the row changed: %+v", w)
	}
	// The same statements with the owner (or none, as for admins) do match: the test above
	// failed to write for the right reason.
	tx(func(tx *gorm.DB) error {
		ok, err := workflows.StoreUpdate(tx, v.ID, &tn.Admin.ID, map[string]any{"name": "renamed"})
		if err != nil || !ok {
			t.Errorf("update as the owner: matched=%v err=%v", ok, err)
		}
		ok, err = workflows.StoreDelete(tx, v.ID, nil)
		if err != nil || !ok {
			t.Errorf("delete as an admin: matched=%v err=%v", ok, err)
		}
		return nil
	})
}

// TestService_writeAsNonOwnerThroughTheServiceIsRefused: the service itself (no route in front)
// answers 404 for someone else's private workflow and leaves it as it was.
func TestService_writeAsNonOwnerThroughTheServiceIsRefused(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.NewUser(t, tn, "member")
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tn.Admin.Token,
		map[string]any{"name": "mine", "graph": raw(smallGraph)})
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	ctx := tenancy.WithPrincipal(tenancy.WithTenant(context.Background(), tn.ID),
		tenancy.Principal{TenantID: tn.ID, UserID: other.ID, Kind: tenancy.CredentialSession})
	name := "hijacked"
	if _, err := env.App.Workflows.Update(ctx, v.ID, workflows.UpdateInput{Name: &name}); err == nil {
		t.Fatal("update as another user succeeded")
	}
	if err := env.App.Workflows.Delete(ctx, v.ID); err == nil {
		t.Fatal("delete as another user succeeded")
	}
	if err := env.App.Workflows.PutThumbnail(ctx, v.ID, []byte("not even an image")); err == nil {
		t.Fatal("thumbnail as another user succeeded")
	}
	var w workflows.Workflow
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tn.ID), func(tx *gorm.DB) error {
		return tx.Where("id = ?", v.ID).Take(&w).Error
	})
	if err != nil || w.Name != "mine" || w.HasThumbnail {
		t.Fatalf("the row changed: %+v %v", w, err)
	}
}

// TestStore_tenantIsolation: tenant B's scope finds, changes and deletes nothing of tenant A's,
// even with no owner in the statement (as for admins).
func TestStore_tenantIsolation(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", a.Admin.Token,
		map[string]any{"name": "of A", "tags": []string{"a"}, "graph": raw(smallGraph)})
	var v struct{ ID uuid.UUID }
	r.JSON(t, &v)
	ctxB := tenancy.WithTenant(context.Background(), b.ID)
	err := env.App.DB.Tx(ctxB, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&workflows.Workflow{}).Where("id = ?", v.ID).Count(&n).Error; err != nil || n != 0 {
			t.Errorf("tenant B counts A's workflow: %d %v", n, err)
		}
		if err := tx.Model(&workflows.Tag{}).Where("workflow_id = ?", v.ID).Count(&n).Error; err != nil || n != 0 {
			t.Errorf("tenant B counts A's tags: %d %v", n, err)
		}
		if ok, err := workflows.StoreUpdate(tx, v.ID, nil, map[string]any{"name": "of B"}); ok || err != nil {
			t.Errorf("tenant B updates A's workflow: %v %v", ok, err)
		}
		if ok, err := workflows.StoreDelete(tx, v.ID, nil); ok || err != nil {
			t.Errorf("tenant B deletes A's workflow: %v %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// B's own listing holds B's three system workflows and nothing of A.
	r = env.Do(http.MethodGet, "/api/v1/workspaces/default/workflows", b.Admin.Token, nil)
	var page struct {
		Items []struct{ ID uuid.UUID } `json:"items"`
	}
	r.JSON(t, &page)
	if len(page.Items) != 3 {
		t.Fatalf("tenant B lists %d workflows, want its 3 system ones", len(page.Items))
	}
	if r := env.Do(http.MethodGet, "/api/v1/workflows/"+v.ID.String(), a.Admin.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("A's workflow after B's attempts: %d", r.Status)
	}
}
