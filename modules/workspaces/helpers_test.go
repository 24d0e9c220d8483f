package workspaces_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

const wsPath = "/api/v1/workspaces"

// view is a workspace as the API answers it.
type view struct {
	ID       uuid.UUID  `json:"id"`
	TenantID uuid.UUID  `json:"tenant_id"`
	ParentID *uuid.UUID `json:"parent_id"`
	Slug     string     `json:"slug"`
	Name     string     `json:"name"`
	Path     string     `json:"path"`
}

type grantView struct {
	ID          uuid.UUID  `json:"id"`
	Node        string     `json:"node"`
	SubjectType string     `json:"subject_type"`
	SubjectID   uuid.UUID  `json:"subject_id"`
	Role        string     `json:"role"`
	ExpiresAt   *time.Time `json:"expires_at"`
	CreatedBy   *uuid.UUID `json:"created_by"`
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// wantInvalid fails unless r is a 400 whose first detail names the field.
// ref writes a path as a route's {ws}.
func ref(path string) string { return strings.ReplaceAll(path, "/", "~") }

// tree is tenant A with msa, msa/suit, msa/suit/andromeda and msa/rocket made through the API.
type tree struct {
	env *apptest.Env
	a   apptest.Tenant
	ws  map[string]view // by path
}

func newTree(t *testing.T) *tree {
	t.Helper()
	env := apptest.Start(t)
	tr := &tree{env: env, a: env.SignUp(t), ws: map[string]view{}}
	tr.ws["default"] = tr.get(t, tr.a.Admin.Token, "default")
	for _, p := range []string{"msa", "msa/suit", "msa/suit/andromeda", "msa/rocket"} {
		tr.create(t, tr.a.Admin.Token, p)
	}
	return tr
}

// create makes the workspace at path (its parent must exist) as the caller, failing unless 201.
func (tr *tree) create(t *testing.T, token, path string) view {
	t.Helper()
	r := tr.env.Do(http.MethodPost, wsPath, token, tr.createBody(path))
	apptest.WantStatus(t, r, http.StatusCreated)
	var v view
	r.JSON(t, &v)
	if v.Path != path {
		t.Fatalf("created %q, want path %q", v.Path, path)
	}
	tr.ws[path] = v
	return v
}

func (tr *tree) createBody(path string) map[string]any {
	i := strings.LastIndex(path, "/")
	body := map[string]any{"name": "Workspace " + path, "slug": path[i+1:]}
	if i > 0 {
		body["parent_id"] = tr.ws[path[:i]].ID
	}
	return body
}

func (tr *tree) get(t *testing.T, token, path string) view {
	t.Helper()
	r := tr.env.Do(http.MethodGet, wsPath+"/"+ref(path), token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var v view
	r.JSON(t, &v)
	return v
}

// member creates a user without any tenant-wide role.
func (tr *tree) member(t *testing.T) apptest.User {
	t.Helper()
	return tr.env.NewUser(t, tr.a, "member")
}

// grant has the caller grant the role on the node (a path, or "~") to the user; it returns the
// answer.
func (tr *tree) grant(token, node string, user uuid.UUID, role string, expires *time.Time) apptest.Response {
	body := map[string]any{"subject_type": "user", "subject_id": user, "role": role}
	if expires != nil {
		body["expires_at"] = expires.Format(time.RFC3339Nano)
	}
	return tr.env.Do(http.MethodPost, wsPath+"/"+ref(node)+"/grants", token, body)
}

// mustGrant is grant by the tenant admin, failing unless 201.
func (tr *tree) mustGrant(t *testing.T, node string, user uuid.UUID, role string) grantView {
	t.Helper()
	r := tr.grant(tr.a.Admin.Token, node, user, role, nil)
	apptest.WantStatus(t, r, http.StatusCreated)
	var g grantView
	r.JSON(t, &g)
	return g
}

// list pages through GET /workspaces (with the extra query) and returns the paths seen.
func (tr *tree) list(t *testing.T, token, query string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		r := tr.env.Do(http.MethodGet, wsPath+"?limit=2"+query+cursor, token, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var p page[view]
		r.JSON(t, &p)
		for _, v := range p.Items {
			out = append(out, v.Path)
		}
		if p.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + *p.NextCursor
	}
}

// tx runs fn in the tenant's scope.
func (tr *tree) tx(t *testing.T, fn func(ctx context.Context, tx *gorm.DB) error) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tr.a.ID)
	if err := tr.env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

// paths lists every workspace path of the tenant, straight from the table.
func (tr *tree) paths(t *testing.T) map[string]uuid.UUID {
	t.Helper()
	var rows []struct {
		ID   uuid.UUID
		Path string
	}
	tr.tx(t, func(_ context.Context, tx *gorm.DB) error {
		return tx.Table("workspaces").Select("id, path").Where("tenant_id = ?", tr.a.ID).Scan(&rows).Error
	})
	out := map[string]uuid.UUID{}
	for _, r := range rows {
		out[r.Path] = r.ID
	}
	return out
}

// count counts the tenant's rows of a table matching the condition.
func (tr *tree) count(t *testing.T, table, cond string, args ...any) int64 {
	t.Helper()
	var n int64
	tr.tx(t, func(_ context.Context, tx *gorm.DB) error {
		return tx.Table(table).Where("tenant_id = ?", tr.a.ID).Where(cond, args...).Count(&n).Error
	})
	return n
}

// allowed asks the enforcer directly.
func (tr *tree) allowed(t *testing.T, user uuid.UUID, path string, action rbac.Action) bool {
	t.Helper()
	node := rbac.Root
	if path != "~" {
		node = rbac.WorkspaceNode(tr.ws[path].ID)
	}
	ok, err := tr.env.App.Enforcer.Allowed(context.Background(), tr.a.ID, user, node, action)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// auditEntries flushes the audit log and returns the tenant's entries with the action.
func (tr *tree) auditEntries(t *testing.T, action string) []audit.Entry {
	t.Helper()
	if err := tr.env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	tr.tx(t, func(_ context.Context, tx *gorm.DB) error {
		return tx.Where("action = ?", action).Order("id").Find(&out).Error
	})
	return out
}

func reasonOf(t *testing.T, e audit.Entry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Reason, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
