package groups_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

const groupsPath = "/api/v1/groups"

// view is a group as lists show it.
type view struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int64     `json:"member_count"`
}

// detail is a group with its members.
type detail struct {
	view
	Members []struct {
		UserID      uuid.UUID `json:"user_id"`
		DisplayName string    `json:"display_name"`
		AddedAt     time.Time `json:"added_at"`
	} `json:"members"`
}

type page struct {
	Items      []view  `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type auditEntry struct {
	Subject string         `json:"subject"`
	Action  string         `json:"action"`
	Object  string         `json:"object"`
	Result  string         `json:"result"`
	Reason  map[string]any `json:"reason"`
}

// wantInvalid fails unless r is a 400 invalid whose first detail names the field.
// create has the caller create a group, failing unless it answers 201.
func create(t *testing.T, env *apptest.Env, token, name string) view {
	t.Helper()
	r := env.Do(http.MethodPost, groupsPath, token, map[string]any{"name": name})
	apptest.WantStatus(t, r, http.StatusCreated)
	var v view
	r.JSON(t, &v)
	return v
}

// get reads a group as the caller.
func get(t *testing.T, env *apptest.Env, token string, id uuid.UUID) detail {
	t.Helper()
	r := env.Do(http.MethodGet, groupsPath+"/"+id.String(), token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var d detail
	r.JSON(t, &d)
	return d
}

func addMember(env *apptest.Env, token string, group, user uuid.UUID) apptest.Response {
	return env.Do(http.MethodPost, groupsPath+"/"+group.String()+"/members", token, map[string]any{"user_id": user})
}

func removeMember(env *apptest.Env, token string, group, user uuid.UUID) apptest.Response {
	return env.Do(http.MethodDelete, groupsPath+"/"+group.String()+"/members/"+user.String(), token, nil)
}

// grantGroup has the caller grant the role to the group on {ws} ("~" for the tenant root).
func grantGroup(t *testing.T, env *apptest.Env, token, ws string, group uuid.UUID, role string) uuid.UUID {
	t.Helper()
	r := env.Do(http.MethodPost, "/api/v1/workspaces/"+ws+"/grants", token,
		map[string]any{"subject_type": "group", "subject_id": group, "role": role})
	apptest.WantStatus(t, r, http.StatusCreated)
	var g struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &g)
	return g.ID
}

// addWorkspace creates a workspace under parent (nil: at the root) through the data layer.
func addWorkspace(t *testing.T, env *apptest.Env, tenantID uuid.UUID, parent *workspaces.Workspace, slug string) workspaces.Workspace {
	t.Helper()
	id, _ := uuid.NewV7()
	w := workspaces.Workspace{ID: id, Slug: slug, Name: slug, Path: slug}
	if parent != nil {
		w.ParentID, w.Path = &parent.ID, parent.Path+"/"+slug
	}
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&w).Error; err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.LinkWorkspace(w.ID, w.ParentID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.App.Enforcer.Changed(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
	return w
}

// allowed asks the decision point.
func allowed(t *testing.T, env *apptest.Env, tenantID, userID uuid.UUID, node string, a rbac.Action) bool {
	t.Helper()
	ok, err := env.App.Enforcer.Allowed(context.Background(), tenantID, userID, node, a)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// auditOf returns the audit entries on the object, newest first, as the admin sees them.
func auditOf(t *testing.T, env *apptest.Env, token, object string) []auditEntry {
	t.Helper()
	if err := env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := env.Do(http.MethodGet, "/api/v1/audit?limit=200&object="+object, token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p struct {
		Items []auditEntry `json:"items"`
	}
	r.JSON(t, &p)
	return p.Items
}

// count counts the tenant's rows of a table matching the condition.
func count(t *testing.T, env *apptest.Env, tenantID uuid.UUID, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Table(table).Where(where, args...).Count(&n).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
