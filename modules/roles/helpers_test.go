package roles_test

import (
	"context"
	"encoding/json"
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

const rolesPath = "/api/v1/roles"

// view is a role as the API answers it.
type view struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  `json:"permissions"`
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Details []struct {
			Field string `json:"field"`
		} `json:"details"`
	} `json:"error"`
}

// wantInvalid fails unless r is a 400 invalid whose first detail names the field.
// define has the caller create a role, failing unless it answers 201.
func define(t *testing.T, env *apptest.Env, token, name string, perms ...rbac.Action) view {
	t.Helper()
	if perms == nil {
		perms = []rbac.Action{}
	}
	r := env.Do(http.MethodPost, rolesPath, token, map[string]any{"name": name, "permissions": perms})
	apptest.WantStatus(t, r, http.StatusCreated)
	var v view
	r.JSON(t, &v)
	return v
}

// list returns the tenant's roles by name as the caller sees them.
func list(t *testing.T, env *apptest.Env, token string) map[string]view {
	t.Helper()
	r := env.Do(http.MethodGet, rolesPath, token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p struct {
		Items      []view  `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	r.JSON(t, &p)
	out := make(map[string]view, len(p.Items))
	for _, v := range p.Items {
		out[v.Name] = v
	}
	return out
}

// tenantTx runs fn in the tenant's scope and, after commit, drops its loaded policy everywhere.
func tenantTx(t *testing.T, env *apptest.Env, tenantID uuid.UUID, fn func(ctx context.Context, tx *gorm.DB) error) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := env.App.Enforcer.Changed(ctx, tenantID); err != nil {
		t.Fatal(err)
	}
}

// addWorkspace creates a workspace under parent (nil: at the root) through the data layer.
func addWorkspace(t *testing.T, env *apptest.Env, tenantID uuid.UUID, parent *workspaces.Workspace, slug string) workspaces.Workspace {
	t.Helper()
	id, _ := uuid.NewV7()
	w := workspaces.Workspace{ID: id, Slug: slug, Name: slug, Path: slug}
	if parent != nil {
		w.ParentID, w.Path = &parent.ID, parent.Path+"/"+slug
	}
	tenantTx(t, env, tenantID, func(ctx context.Context, tx *gorm.DB) error {
		if err := tx.Create(&w).Error; err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.LinkWorkspace(w.ID, w.ParentID)
	})
	return w
}

// grant gives the user the role on the node and returns the grant's id.
func grant(t *testing.T, env *apptest.Env, tenantID, userID uuid.UUID, role, node string) uuid.UUID {
	t.Helper()
	g := rbac.Grant{SubjectType: rbac.SubjectUser, SubjectID: userID, Role: role}
	if node != rbac.Root {
		id := uuid.MustParse(node[len("ws:"):])
		g.WorkspaceID = &id
	}
	tenantTx(t, env, tenantID, func(ctx context.Context, tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		g, err = pol.Grant(g)
		return err
	})
	return g.ID
}

// revoke removes a grant.
func revoke(t *testing.T, env *apptest.Env, tenantID, grantID uuid.UUID) {
	t.Helper()
	tenantTx(t, env, tenantID, func(ctx context.Context, tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		_, err = pol.Revoke(grantID)
		return err
	})
}

// allowed asks the decision point.
func allowed(t *testing.T, e interface {
	Allowed(context.Context, uuid.UUID, uuid.UUID, string, rbac.Action) (bool, error)
}, tenantID, userID uuid.UUID, node string, a rbac.Action) bool {
	t.Helper()
	ok, err := e.Allowed(context.Background(), tenantID, userID, node, a)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// auditOf returns the audit entries on the object, newest first, as the tenant's admin sees them.
func auditOf(t *testing.T, env *apptest.Env, token, object string) []auditEntry {
	t.Helper()
	if err := env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := env.Do(http.MethodGet, "/api/v1/audit?object="+object, token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p struct {
		Items []auditEntry `json:"items"`
	}
	r.JSON(t, &p)
	return p.Items
}

type auditEntry struct {
	Subject string          `json:"subject"`
	Action  string          `json:"action"`
	Object  string          `json:"object"`
	Result  string          `json:"result"`
	Reason  json.RawMessage `json:"reason"`
	At      time.Time       `json:"at"`
}
