package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/tenancy"
)

// unitEnv is a product with a small pool, a user who owns a board in the default workspace, and
// the tenant's admin.
type unitEnv struct {
	env   *apptest.Env
	tn    apptest.Tenant
	user  apptest.User
	board uuid.UUID
}

func newUnitEnv(t *testing.T, opts ...apptest.Option) unitEnv {
	t.Helper()
	env := apptest.Start(t, opts...)
	tn := env.SignUp(t)
	user := env.NewUser(t, tn, "member")
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/grants", tn.Admin.Token, map[string]any{
		"subject_type": "user", "subject_id": user.ID, "role": "editor"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	r = env.Do(http.MethodPost, "/api/v1/workspaces/default/boards", user.Token, map[string]any{"name": "burst"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create board: %d %s", r.Status, r.Body)
	}
	var b struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &b)
	return unitEnv{env: env, tn: tn, user: user, board: b.ID}
}

// The operator's report: right after a policy change, a burst of authorized reads far larger than
// the pool used to leave every connection idle in transaction, each request waiting for a second
// connection to load the policy. Now a request holds one connection and the load joins it: every
// request of every burst answers 200 (a deadlock would show as 503s at the request deadline).
func TestRequestPath_burstAfterAPolicyChangeNeverStarvesThePool(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t, func(c *configs.Config) { c.DBMaxConns = 4; c.RequestTimeout = 15 * time.Second })
	const rounds, burst = 8, 48
	for round := range rounds {
		// A policy change: every node drops the tenant's policy, the next decision loads it cold.
		other := u.env.NewUser(t, u.tn, "member")
		r := u.env.Do(http.MethodPost, "/api/v1/workspaces/default/grants", u.tn.Admin.Token, map[string]any{
			"subject_type": "user", "subject_id": other.ID, "role": "viewer"})
		if r.Status != http.StatusCreated {
			t.Fatalf("round %d: grant: %d %s", round, r.Status, r.Body)
		}
		statuses := make([]int, burst)
		var wg sync.WaitGroup
		for i := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, "/api/v1/boards/"+u.board.String(), nil)
				req.Header.Set("Authorization", "Bearer "+u.user.Token)
				resp, err := u.env.Server.Fiber.Test(req, -1)
				if err != nil {
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("round %d: request %d of the burst answered %d, want 200", round, i, s)
			}
		}
	}
	if r := u.env.Do(http.MethodGet, "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz after the bursts: %d %s", r.Status, r.Body)
	}
}

// Nothing waits forever: a request that cannot get a connection before its deadline answers 503
// in the error shape, and the server serves again once the pool frees up.
func TestRequestPath_waitPastTheDeadlineAnswers503(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t, func(c *configs.Config) { c.DBMaxConns = 1 })
	// The fixtures are made at the default deadline; the request under test goes through a
	// server with a short one, on the same app.
	u.env.App.Cfg.RequestTimeout = 300 * time.Millisecond
	short := app.NewServer(u.env.App)
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		ctx := tenancy.WithTenant(context.Background(), u.tn.ID)
		done <- u.env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	req, _ := http.NewRequest(http.MethodGet, "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+u.user.Token)
	resp, err := short.Fiber.Test(req, -1)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := apptest.Response{Status: resp.StatusCode, Body: body}
	if err := <-done; err != nil {
		t.Fatalf("holding transaction: %v", err)
	}
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "unavailable" {
		t.Fatalf("GET /me with the pool held past the deadline: %d %s, want 503 unavailable", r.Status, r.Body)
	}
	if r := u.env.Do(http.MethodGet, "/api/v1/me", u.user.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("GET /me once the pool is free: %d %s", r.Status, r.Body)
	}
}

// stmtLog records the SQL statements the product runs.
type stmtLog struct {
	mu    sync.Mutex
	stmts []string
}

func (l *stmtLog) record(sql string) {
	l.mu.Lock()
	l.stmts = append(l.stmts, sql)
	l.mu.Unlock()
}

func (l *stmtLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stmts
	l.stmts = nil
	return s
}

func countStatements(t *testing.T, db *tenancy.DB) *stmtLog {
	t.Helper()
	l := &stmtLog{}
	// At the driver: statements written straight on a transaction's connection count too.
	db.OnStatement(l.record)
	t.Cleanup(func() { db.OnStatement(nil) })
	return l
}

// One snapshot per read request: the middleware's liveness check, the decision and the handler's
// reads share one transaction (each tenant transaction enters its scope exactly once, so the
// set_config statements count the transactions), within a statement budget, warm policy.
func TestRequestPath_readRequestsRunInOneTransactionWithinABudget(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t)
	img := u.env.Do(http.MethodPost, "/api/v1/workspaces/default/images", u.user.Token, pngForm(t, u.board.String()))
	if img.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", img.Status, img.Body)
	}
	log := countStatements(t, u.env.App.DB)
	cases := []struct {
		path   string
		budget int
	}{
		{"/api/v1/me", 4},
		{"/api/v1/boards/" + u.board.String(), 5},
		{"/api/v1/workspaces/default/boards", 6},
		{"/api/v1/workspaces/default/images?board_id=" + u.board.String(), 9},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			if r := u.env.Do(http.MethodGet, c.path, u.user.Token, nil); r.Status != http.StatusOK { // warms the policy
				t.Fatalf("GET %s: %d %s", c.path, r.Status, r.Body)
			}
			if err := u.env.App.Audit.Flush(context.Background()); err != nil { // the batch writer is not the request
				t.Fatal(err)
			}
			log.take()
			if r := u.env.Do(http.MethodGet, c.path, u.user.Token, nil); r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", c.path, r.Status, r.Body)
			}
			stmts := log.take()
			txs := 0
			for _, s := range stmts {
				if strings.Contains(s, "set_config('role'") {
					txs++
				}
			}
			t.Logf("GET %s: %d transaction(s), %d statements", c.path, txs, len(stmts))
			if txs != 1 || len(stmts) > c.budget {
				t.Fatalf("GET %s ran %d transactions and %d statements, want 1 and at most %d:\n%s",
					c.path, txs, len(stmts), c.budget, strings.Join(stmts, "\n"))
			}
		})
	}
}

// pngForm is a multipart upload of a small PNG, into the board when boardID is not empty.
func pngForm(t *testing.T, boardID string) apptest.Form {
	t.Helper()
	fields := map[string]string{}
	if boardID != "" {
		fields["board_id"] = boardID
	}
	return apptest.NewForm(fields, apptest.FormFile{Field: "file", Filename: fmt.Sprintf("p-%s.png", uuid.NewString()[:8]),
		Data: bdPNG(8, 8)})
}

// Rights before work: an upload into a board the caller may not add to is refused before the
// file is decoded or stored, so a body that is no image at all still answers 403, not 400, and
// leaves no file behind.
func TestRequestPath_uploadIntoABoardIsAuthorizedBeforeTheFileIsDecoded(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t)
	viewer := u.env.NewUser(t, u.tn, "member")
	r := u.env.Do(http.MethodPost, "/api/v1/workspaces/default/grants", u.tn.Admin.Token, map[string]any{
		"subject_type": "user", "subject_id": viewer.ID, "role": "viewer"})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	// The board is shared: the viewer reads it but may not add to it.
	if r := u.env.Do(http.MethodPatch, "/api/v1/boards/"+u.board.String(), u.user.Token, map[string]any{"visibility": "shared"}); r.Status != http.StatusOK {
		t.Fatalf("share board: %d %s", r.Status, r.Body)
	}
	before := btFiles(t, u.env)
	garbage := apptest.NewForm(map[string]string{"board_id": u.board.String()},
		apptest.FormFile{Field: "file", Filename: "not-an-image.png", Data: []byte("definitely not a PNG")})
	r = u.env.Do(http.MethodPost, "/api/v1/workspaces/default/images", viewer.Token, garbage)
	if r.Status != http.StatusForbidden {
		t.Fatalf("upload of garbage into a board without add rights: %d %s, want 403 before any decoding", r.Status, r.Body)
	}
	if after := btFiles(t, u.env); after != before {
		t.Fatalf("a refused upload left files: %d before, %d after", before, after)
	}
}

// Work proportional to the input is one query: adding 20 images to a board reads them in one
// statement, not three per image.
func TestRequestPath_addingManyImagesToABoardReadsThemInOneQuery(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t)
	var ids []uuid.UUID
	for range 20 {
		r := u.env.Do(http.MethodPost, "/api/v1/workspaces/default/images", u.user.Token, pngForm(t, ""))
		if r.Status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
		var v struct {
			ID uuid.UUID `json:"id"`
		}
		r.JSON(t, &v)
		ids = append(ids, v.ID)
	}
	if err := u.env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := countStatements(t, u.env.App.DB)
	r := u.env.Do(http.MethodPost, "/api/v1/boards/"+u.board.String()+"/images", u.user.Token, map[string]any{"image_ids": ids})
	if r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Fatalf("add to board: %d %s", r.Status, r.Body)
	}
	var mine []string
	for _, s := range log.take() {
		if !strings.Contains(s, "audit_log") { // the audit batch writer runs beside the request
			mine = append(mine, s)
		}
	}
	t.Logf("adding 20 images: %d statements", len(mine))
	if len(mine) > 10 {
		t.Fatalf("adding 20 images to a board ran %d statements, want at most 10:\n%s", len(mine), strings.Join(mine, "\n"))
	}
}

// Bounded work: the public board pages through its images (it used to stop silently at 500),
// and so do a board's members.
func TestRequestPath_publicBoardAndMembersArePaged(t *testing.T) {
	t.Parallel()
	u := newUnitEnv(t)
	for range 3 {
		if r := u.env.Do(http.MethodPost, "/api/v1/workspaces/default/images", u.user.Token, pngForm(t, u.board.String())); r.Status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
	}
	for range 2 {
		m := u.env.NewUser(t, u.tn, "member")
		if r := u.env.Do(http.MethodPost, "/api/v1/boards/"+u.board.String()+"/members", u.user.Token,
			map[string]any{"user_id": m.ID, "role": "viewer"}); r.Status != http.StatusCreated {
			t.Fatalf("add member: %d %s", r.Status, r.Body)
		}
	}
	if r := u.env.Do(http.MethodPatch, "/api/v1/boards/"+u.board.String(), u.user.Token, map[string]any{"published": true}); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	walk := func(path, itemsKey string) int {
		t.Helper()
		seen, cursor := map[string]bool{}, ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%s: paging does not end", path)
			}
			q := path + "?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			r := u.env.Do(http.MethodGet, q, u.user.Token, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", q, r.Status, r.Body)
			}
			var page map[string]json.RawMessage
			r.JSON(t, &page)
			var items []map[string]any
			if err := json.Unmarshal(page[itemsKey], &items); err != nil || len(items) > 2 {
				t.Fatalf("GET %s: %d items (%v), want at most 2", q, len(items), err)
			}
			for _, it := range items {
				key := fmt.Sprint(it["id"], it["user_id"])
				if seen[key] {
					t.Fatalf("GET %s: %s twice", q, key)
				}
				seen[key] = true
			}
			var next *string
			_ = json.Unmarshal(page["next_cursor"], &next)
			if next == nil {
				return len(seen)
			}
			cursor = *next
		}
	}
	if n := walk("/api/v1/public/boards/"+u.board.String(), "images"); n != 3 {
		t.Fatalf("public board pages held %d images, want 3", n)
	}
	if n := walk("/api/v1/boards/"+u.board.String()+"/members", "items"); n != 3 {
		t.Fatalf("member pages held %d members, want 3 (owner and two viewers)", n)
	}
}
