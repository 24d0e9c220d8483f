package app_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// The authorization matrix: one table of (route, actor, expected status) that every module adds
// rows to (app/matrix_<module>_test.go, in init). It runs against one world on real PostgreSQL
// and Redis, and fails when a registered route has no row or a row misses an actor.

// actor is who calls.
type actor string

// The actors: every role on the node (msa/suit) and on its parent (msa), a member with no grant,
// a user of another tenant, an expired grant, the tenant's admin and auditor, and nobody.
const (
	anonymous    actor = "anonymous"
	tenantAdmin  actor = "tenant-admin"
	auditor      actor = "auditor"
	wsAdmin      actor = "ws-admin"
	wsEditor     actor = "ws-editor"
	wsViewer     actor = "ws-viewer"
	parentAdmin  actor = "parent-admin"
	parentEditor actor = "parent-editor"
	parentViewer actor = "parent-viewer"
	member       actor = "member"
	otherTenant  actor = "other-tenant"
	expired      actor = "expired-grant"
)

var allActors = []actor{anonymous, tenantAdmin, auditor, wsAdmin, wsEditor, wsViewer,
	parentAdmin, parentEditor, parentViewer, member, otherTenant, expired}

// matrixRow is one route's expectations.
type matrixRow struct {
	// route is the registered route this row covers: "METHOD /api/v1/path/:param".
	route string
	// name tells rows of one route apart (optional).
	name string
	// path builds the concrete path; it may create fresh objects (as the tenant admin) so that
	// a destructive row never depends on an earlier cell.
	path func(t *testing.T, w *world, who actor) string
	// body is the JSON body, or nil.
	body func(t *testing.T, w *world, who actor) any
	// token overrides the actor's standing token (a row that ends sessions uses a fresh one).
	token func(t *testing.T, w *world, who actor) string
	// do sends the request itself instead of the standard client (an event stream that never
	// ends by itself); nil for every ordinary route.
	do func(t *testing.T, w *world, who actor, path, token string) apptest.Response
	// want is the expected status for every actor.
	want map[actor]int
	// has and lacks are what the body must and must not contain for the actor (PocketBase's
	// ExpectedContent / NotExpectedContent): a leak can sit in a body whose status is right.
	// has is checked only on a 2xx answer with the expected status; lacks on every answer. nil,
	// or nothing for an actor, checks nothing. Every body is also checked for the identity of a
	// tenant the actor is not in (foreignTenant).
	has, lacks func(t *testing.T, w *world, who actor) []string
	// lacksEmail: the body must hold no e-mail address at all.
	lacksEmail bool
}

// emailRE finds an e-mail address (the fixtures' are user@slug.test).
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)

// checkBody applies the row's body expectations to one cell's answer.
func checkBody(t *testing.T, w *world, r matrixRow, who actor, status int, cell string, resp apptest.Response) {
	t.Helper()
	body := string(resp.Body)
	if r.has != nil && resp.Status == status && status < 300 {
		for _, want := range r.has(t, w, who) {
			if !strings.Contains(body, want) {
				t.Errorf("%s: body lacks %q (%s)", cell, want, truncate(resp.Body))
			}
		}
	}
	lacks := foreignTenant(w, who)
	if r.lacks != nil {
		lacks = append(lacks, r.lacks(t, w, who)...)
	}
	for _, leak := range lacks {
		if leak != "" && strings.Contains(body, leak) {
			t.Errorf("%s: LEAK: body contains %q (%s)", cell, leak, truncate(resp.Body))
		}
	}
	if r.lacksEmail {
		if m := emailRE.FindString(body); m != "" {
			t.Errorf("%s: LEAK: body contains the e-mail address %q (%s)", cell, m, truncate(resp.Body))
		}
	}
}

// foreignTenant is what identifies a tenant the actor is not in: its slug, which its name and
// every fixture e-mail of its users contain. No answer may carry it.
func foreignTenant(w *world, who actor) []string {
	switch who {
	case otherTenant:
		return []string{w.a.Slug}
	case anonymous:
		return []string{w.a.Slug, w.b.Slug}
	default:
		return []string{w.b.Slug}
	}
}

var (
	rowsMu sync.Mutex
	rows   []matrixRow
)

// registerRows adds rows to the matrix; call it from init in app/matrix_<module>_test.go.
func registerRows(r ...matrixRow) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	rows = append(rows, r...)
}

// expect builds a want map: every actor gets def unless listed in except.
func expect(def int, except map[actor]int) map[actor]int {
	m := make(map[actor]int, len(allActors))
	for _, a := range allActors {
		m[a] = def
	}
	for a, s := range except {
		m[a] = s
	}
	return m
}

// fixed is a path that needs no fixture.
func fixed(p string) func(*testing.T, *world, actor) string {
	return func(*testing.T, *world, actor) string { return p }
}

// world is tenant A with the tree default, msa, msa/suit, msa/suit/andromeda, msa/rocket, its
// actors, and tenant B.
type world struct {
	env   *apptest.Env
	a, b  apptest.Tenant
	ws    map[string]uuid.UUID // by path
	users map[actor]apptest.User
	// target is a plain user of tenant A that no actor is, for rows about "some other user".
	target apptest.User
	mu     sync.Mutex
	serial int
}

// token is the actor's bearer token ("" for anonymous).
func (w *world) token(who actor) string {
	if who == anonymous {
		return ""
	}
	return w.users[who].Token
}

// unique returns a fresh suffix for names and slugs.
func (w *world) unique() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.serial++
	return fmt.Sprintf("x%d%s", w.serial, uuid.NewString()[:6])
}

// node is the workspace the matrix is about (msa/suit).
func (w *world) node() uuid.UUID { return w.ws["msa/suit"] }

// tx runs fn in tenant A's scope.
func (w *world) tx(t *testing.T, fn func(ctx context.Context, tx *gorm.DB) error) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), w.a.ID)
	if err := w.env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return fn(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if err := w.env.App.Enforcer.Changed(ctx, w.a.ID); err != nil {
		t.Fatal(err)
	}
}

// addWorkspace creates a workspace under parent (a path) directly through the data layer.
func (w *world) addWorkspace(t *testing.T, parent, slug string) uuid.UUID {
	t.Helper()
	id, _ := uuid.NewV7()
	pid := w.ws[parent]
	path := parent + "/" + slug
	if parent == "" {
		path = slug
	}
	w.tx(t, func(ctx context.Context, tx *gorm.DB) error {
		row := workspaces.Workspace{ID: id, Slug: slug, Name: slug, Path: path}
		var parentID *uuid.UUID
		if parent != "" {
			parentID = &pid
			row.ParentID = parentID
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.LinkWorkspace(id, parentID)
	})
	w.ws[path] = id
	return id
}

// grant gives the user the role on the workspace at path, optionally expiring.
func (w *world) grant(t *testing.T, user uuid.UUID, role, path string, expires *time.Time) {
	t.Helper()
	wsID := w.ws[path]
	w.tx(t, func(ctx context.Context, tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		_, err = pol.Grant(rbac.Grant{WorkspaceID: &wsID, SubjectType: rbac.SubjectUser, SubjectID: user, Role: role, ExpiresAt: expires})
		return err
	})
}

func newWorld(t *testing.T) *world {
	env := apptest.Start(t)
	w := &world{env: env, a: env.SignUp(t), b: env.SignUp(t), ws: map[string]uuid.UUID{}, users: map[actor]apptest.User{}}
	var def workspaces.Workspace
	w.tx(t, func(ctx context.Context, tx *gorm.DB) error {
		return tx.Where("path = ?", workspaces.DefaultSlug).Take(&def).Error
	})
	w.ws[workspaces.DefaultSlug] = def.ID
	w.addWorkspace(t, "", "msa")
	w.addWorkspace(t, "msa", "suit")
	w.addWorkspace(t, "msa/suit", "andromeda")
	w.addWorkspace(t, "msa", "rocket")
	w.users[tenantAdmin] = w.a.Admin
	w.users[otherTenant] = w.b.Admin
	w.users[auditor] = env.NewUser(t, w.a, "auditor")
	for _, c := range []struct {
		who  actor
		role string
		path string
	}{
		{wsAdmin, "admin", "msa/suit"}, {wsEditor, "editor", "msa/suit"}, {wsViewer, "viewer", "msa/suit"},
		{parentAdmin, "admin", "msa"}, {parentEditor, "editor", "msa"}, {parentViewer, "viewer", "msa"},
	} {
		u := env.NewUser(t, w.a, "member")
		w.grant(t, u.ID, c.role, c.path, nil)
		w.users[c.who] = u
	}
	w.users[member] = env.NewUser(t, w.a, "member")
	w.target = env.NewUser(t, w.a, "member")
	exp := env.NewUser(t, w.a, "member")
	past := time.Now().Add(-time.Minute)
	w.grant(t, exp.ID, "editor", "msa/suit", &past)
	w.users[expired] = exp
	return w
}

var paramRE = regexp.MustCompile(`:[A-Za-z_]+`)

func TestAuthorizationMatrix(t *testing.T) {
	w := newWorld(t)
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.route] = true
	}
	var missing []string
	for _, router := range w.env.Server.Routers {
		for _, rt := range router.Routes() {
			key := strings.ToUpper(rt.Method) + " " + rt.FullPath(router.Prefix())
			if !covered[key] {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("route %s has no row in the authorization matrix", m)
	}
	for _, r := range rows {
		r := r
		name := r.route
		if r.name != "" {
			name += " " + r.name
		}
		t.Run(name, func(t *testing.T) {
			for _, who := range allActors {
				want, ok := r.want[who]
				if !ok {
					t.Errorf("no expectation for actor %s", who)
					continue
				}
				path := r.path(t, w, who)
				if !strings.HasPrefix(path, "/") || paramRE.MatchString(path) {
					t.Fatalf("row path %q is not concrete", path)
				}
				var body any
				if r.body != nil {
					body = r.body(t, w, who)
				}
				method, _, _ := strings.Cut(r.route, " ")
				token := w.token(who)
				if r.token != nil {
					token = r.token(t, w, who)
				}
				var resp apptest.Response
				if r.do != nil {
					resp = r.do(t, w, who, path, token)
				} else {
					resp = w.env.Do(method, path, token, body)
				}
				cell := fmt.Sprintf("%s %s as %s", method, path, who)
				if resp.Status != want {
					t.Errorf("%s: %d, want %d (%s)", cell, resp.Status, want, truncate(resp.Body))
				}
				checkBody(t, w, r, who, want, cell, resp)
			}
		})
	}
}

// TestAuthorizationMatrix_everyActionDecidedByRole checks each action against the built-in roles
// on the tenant root: admin may do everything, auditor exactly the reads, an unknown action
// nobody.
func TestAuthorizationMatrix_everyActionDecidedByRole(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, a := range append(rbac.AllActions, rbac.Action("board:explode")) {
		adminOK, err := w.env.App.Enforcer.Allowed(ctx, w.a.ID, w.a.Admin.ID, rbac.Root, a)
		if err != nil {
			t.Fatal(err)
		}
		auditorOK, err := w.env.App.Enforcer.Allowed(ctx, w.a.ID, w.users[auditor].ID, rbac.Root, a)
		if err != nil {
			t.Fatal(err)
		}
		memberOK, err := w.env.App.Enforcer.Allowed(ctx, w.a.ID, w.users[member].ID, rbac.Root, a)
		if err != nil {
			t.Fatal(err)
		}
		otherOK, err := w.env.App.Enforcer.Allowed(ctx, w.a.ID, w.b.Admin.ID, rbac.Root, a)
		if err != nil {
			t.Fatal(err)
		}
		if adminOK != a.Known() || auditorOK != (a.Known() && a.ReadOnly()) || memberOK || otherOK {
			t.Errorf("%s: admin %v auditor %v member %v other tenant %v", a, adminOK, auditorOK, memberOK, otherOK)
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
