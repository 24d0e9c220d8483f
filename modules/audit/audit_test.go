package audit_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

func TestAudit_everyDeniedDecisionIsRecordedWithItsRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	viewer := env.NewUser(t, a, "viewer")
	member := env.NewUser(t, a, "member")
	cases := []struct {
		name   string
		who    apptest.User
		method string
		path   string
		body   any
		action rbac.Action
	}{
		{"viewer creates a user", viewer, http.MethodPost, "/api/v1/users",
			map[string]string{"email": "x@example.test", "password": apptest.Password}, rbac.UserCreate},
		{"member lists users", member, http.MethodGet, "/api/v1/users", nil, rbac.UserRead},
		{"viewer renames a user", viewer, http.MethodPatch, "/api/v1/users/" + member.ID.String(),
			map[string]string{"display_name": "Renamed"}, rbac.UserUpdate},
		{"member reads the audit log", member, http.MethodGet, auditPath, nil, rbac.AuditRead},
	}
	requestIDs := map[string]string{}
	for _, c := range cases {
		r := env.Do(c.method, c.path, c.who.Token, c.body)
		apptest.WantStatus(t, r, http.StatusForbidden)
		id := r.Header.Get(web.RequestIDHeader)
		if id == "" {
			t.Fatalf("%s: no request id in the answer", c.name)
		}
		requestIDs[c.name] = id
	}
	flush(t, env)

	byRequest := map[string]entry{}
	for _, e := range walk(t, env, a.Admin.Token, url.Values{"result": {"deny"}}, 200) {
		byRequest[e.RequestID] = e
	}
	for _, c := range cases {
		e, ok := byRequest[requestIDs[c.name]]
		if !ok {
			t.Errorf("%s: no deny entry for request %s", c.name, requestIDs[c.name])
			continue
		}
		if e.Subject != rbac.UserSubject(c.who.ID) || e.Action != string(c.action) || e.Object != rbac.Root ||
			e.Result != audit.ResultDeny || len(e.Reason) == 0 || time.Since(e.At) > time.Minute {
			t.Errorf("%s: entry %+v, want subject %s action %s object tenant result deny with a reason", c.name, e,
				rbac.UserSubject(c.who.ID), c.action)
		}
	}
}

func TestAudit_grantedChangesAreRecordedAsAllowed(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	viewer := env.NewUser(t, a, "viewer")

	r := env.Do(http.MethodPost, "/api/v1/users", a.Admin.Token,
		map[string]string{"email": "new@example.test", "password": apptest.Password, "role": "viewer"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var created struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &created)
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/users/"+created.ID.String(), a.Admin.Token,
		map[string]string{"role": "editor", "display_name": "Promoted"}), http.StatusOK)
	// A refused change is a denial, never an allowed change.
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/users/"+created.ID.String(), viewer.Token,
		map[string]string{"role": "admin"}), http.StatusForbidden)
	flush(t, env)

	object := "user:" + created.ID.String()
	got := walk(t, env, a.Admin.Token, url.Values{"object": {object}}, 50)
	if len(got) != 2 {
		t.Fatalf("entries on %s: %+v, want the creation and the role change", object, got)
	}
	update, create := got[0], got[1] // newest first
	admin := rbac.UserSubject(a.Admin.ID)
	if create.Action != string(rbac.UserCreate) || create.Result != audit.ResultAllow || create.Subject != admin ||
		create.Reason["role"] != "viewer" {
		t.Errorf("creation entry %+v", create)
	}
	changed, _ := update.Reason["changed"].(map[string]any)
	if update.Action != string(rbac.UserUpdate) || update.Result != audit.ResultAllow || update.Subject != admin ||
		changed["role"] != "editor" || changed["display_name"] != "Promoted" {
		t.Errorf("update entry %+v", update)
	}
	denied := walk(t, env, a.Admin.Token, url.Values{"subject": {viewer.ID.String()}, "action": {string(rbac.UserUpdate)}}, 50)
	if len(denied) != 1 || denied[0].Result != audit.ResultDeny {
		t.Errorf("the viewer's refused change: %+v, want one deny", denied)
	}
}

func TestAudit_filtersAndPagingNewestFirst(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	alice, bob := uuid.New(), uuid.New()
	group := "group:" + uuid.NewString()
	ws := rbac.WorkspaceNode(uuid.New())
	ctx := web.WithRequestID(tenantCtx(a.ID), "req-fixture")
	fixtures := []rbac.AuditEntry{
		{Subject: rbac.UserSubject(alice), Action: "user:create", Object: rbac.Root, Allowed: true},
		{Subject: rbac.UserSubject(alice), Action: "user:read", Object: rbac.Root},
		{Subject: rbac.UserSubject(bob), Action: "user:create", Object: "user:" + alice.String()},
		{Subject: rbac.UserSubject(bob), Action: "workspace:update", Object: ws},
		{Subject: group, Action: "workspace:read", Object: ws, Allowed: true},
		{Subject: rbac.UserSubject(alice), Action: "workspace:update", Object: ws},
		{Subject: rbac.UserSubject(bob), Action: "user:create", Object: rbac.Root, Allowed: true},
	}
	for _, f := range fixtures {
		env.App.Audit.Record(ctx, f)
	}
	old := uuid.NewString()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	insert(t, env, a.ID, []audit.Entry{
		oldEntry(t, at("2020-01-01T00:00:00Z"), "user:"+old, "user:read"),
		oldEntry(t, at("2020-06-01T00:00:00Z"), "user:"+old, "user:read"),
		oldEntry(t, at("2021-01-01T00:00:00Z"), "user:"+old, "user:read"),
	})
	flush(t, env)

	all := walk(t, env, a.Admin.Token, url.Values{}, 2)
	seen := map[uuid.UUID]bool{}
	for i, e := range all {
		if seen[e.ID] {
			t.Fatalf("entry %s twice in the walk", e.ID)
		}
		seen[e.ID] = true
		if i > 0 && strings.Compare(all[i-1].ID.String(), e.ID.String()) <= 0 {
			t.Fatalf("walk not newest first at %d: %s then %s", i, all[i-1].ID, e.ID)
		}
	}
	if len(all) < len(fixtures)+3 {
		t.Fatalf("walk found %d entries, want at least %d", len(all), len(fixtures)+3)
	}
	// The recorded fixtures, newest first, as the API shows them.
	var mine []entry
	for _, e := range all {
		if e.RequestID == "req-fixture" {
			mine = append(mine, e)
		}
	}
	if len(mine) != len(fixtures) {
		t.Fatalf("found %d recorded fixtures, want %d", len(mine), len(fixtures))
	}
	// fixture i (in recording order) is mine[len-1-i].
	fx := func(idx ...int) []uuid.UUID {
		out := []uuid.UUID{}
		for _, i := range idx {
			out = append(out, mine[len(mine)-1-i].ID)
		}
		return out
	}
	olds := walk(t, env, a.Admin.Token, url.Values{"subject": {old}}, 200)
	if len(olds) != 3 {
		t.Fatalf("old fixtures: %+v", olds)
	}
	oldIDs := func(idx ...int) []uuid.UUID { // 0 = 2020-01, 1 = 2020-06, 2 = 2021-01
		out := []uuid.UUID{}
		for _, i := range idx {
			out = append(out, olds[2-i].ID)
		}
		return out
	}

	for _, c := range []struct {
		name  string
		query url.Values
		want  []uuid.UUID
	}{
		{"a user id matches user:<id>", url.Values{"subject": {alice.String()}}, fx(5, 1, 0)},
		{"a raw user subject", url.Values{"subject": {rbac.UserSubject(alice)}}, fx(5, 1, 0)},
		{"a group subject", url.Values{"subject": {group}}, fx(4)},
		{"action and subject", url.Values{"subject": {bob.String()}, "action": {"user:create"}}, fx(6, 2)},
		{"result and subject", url.Values{"subject": {alice.String()}, "result": {"allow"}}, fx(0)},
		{"denials of a subject", url.Values{"subject": {bob.String()}, "result": {"deny"}}, fx(3, 2)},
		{"object", url.Values{"object": {ws}}, fx(5, 4, 3)},
		{"object and action", url.Values{"object": {ws}, "action": {"workspace:update"}}, fx(5, 3)},
		{"time range, both ends inclusive", url.Values{"subject": {old}, "from": {"2020-03-01T00:00:00Z"}, "to": {"2021-01-01T00:00:00Z"}}, oldIDs(2, 1)},
		{"from with an offset", url.Values{"subject": {old}, "from": {"2020-06-01T02:00:00+02:00"}}, oldIDs(2, 1)},
		{"to only", url.Values{"subject": {old}, "to": {"2020-05-31T23:59:59.999Z"}}, oldIDs(0)},
		{"nothing matches", url.Values{"subject": {uuid.NewString()}}, []uuid.UUID{}},
	} {
		for _, limit := range []int{1, 2, 200} {
			got := walk(t, env, a.Admin.Token, c.query, limit)
			ids := []uuid.UUID{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("%s (limit %d): %v, want %v", c.name, limit, ids, c.want)
			}
		}
	}
}

func TestAudit_badFilterValuesAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	for _, c := range []struct {
		query string
		field string
	}{
		{"result=maybe", "result"},
		{"result=ALLOW", "result"},
		{"from=yesterday", "from"},
		{"from=2024-05-01", "from"},
		{"to=2024-13-01T00:00:00Z", "to"},
		{"from=2024-02-01T00:00:00Z&to=2024-01-01T00:00:00Z", "to"},
		{"limit=0", "limit"},
		{"limit=201", "limit"},
		{"limit=ten", "limit"},
		{"cursor=%25%25%25", "cursor"},
		{"cursor=AAAA", "cursor"},
		{"subject=a%00b", "subject"},
		{"action=%ff%fe", "action"},
		{"object=" + strings.Repeat("x", 301), "object"},
	} {
		apptest.WantInvalid(t, env.Do(http.MethodGet, auditPath+"?"+c.query, a.Admin.Token, nil), c.field)
	}
}

func TestAudit_onlyTenantAdminsAndAuditorsReadTheLog(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	for _, c := range []struct {
		role string
		want int
	}{
		{"admin", http.StatusOK},
		{"auditor", http.StatusOK},
		{"editor", http.StatusForbidden},
		{"viewer", http.StatusForbidden},
		{"member", http.StatusForbidden},
	} {
		u := env.NewUser(t, a, c.role)
		r := env.Do(http.MethodGet, auditPath, u.Token, nil)
		if r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.role, r.Status, r.Body, c.want)
		}
	}
	if r := env.Do(http.MethodGet, auditPath, "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", r.Status)
	}
}

func TestAudit_anotherTenantNeverSeesTheEntries(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	viewer := env.NewUser(t, a, "viewer")
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/users", env.NewUser(t, a, "member").Token, nil), http.StatusForbidden)
	apptest.WantStatus(t, env.Do(http.MethodPost, "/api/v1/users", viewer.Token,
		map[string]string{"email": "x@example.test", "password": apptest.Password}), http.StatusForbidden)
	env.App.Audit.Record(tenantCtx(a.ID), rbac.AuditEntry{Subject: rbac.UserSubject(viewer.ID), Action: "user:read", Object: rbac.Root})
	env.NewUser(t, b, "viewer") // B has entries of its own
	flush(t, env)

	aEntries := walk(t, env, a.Admin.Token, url.Values{}, 200)
	if len(aEntries) < 3 {
		t.Fatalf("tenant A's log has %d entries, want at least 3", len(aEntries))
	}
	aIDs := map[uuid.UUID]bool{}
	for _, e := range aEntries {
		aIDs[e.ID] = true
	}
	bEntries := walk(t, env, b.Admin.Token, url.Values{}, 200)
	if len(bEntries) == 0 {
		t.Fatal("tenant B's log is empty; the isolation check would prove nothing")
	}
	for _, e := range bEntries {
		if aIDs[e.ID] || strings.Contains(e.Subject, viewer.ID.String()) {
			t.Errorf("tenant B sees tenant A's entry %+v", e)
		}
	}
	for _, q := range []url.Values{
		{"subject": {viewer.ID.String()}},
		{"object": {"user:" + viewer.ID.String()}},
		{"cursor": {cursorAfter(aEntries[len(aEntries)-1].ID)}},
	} {
		for _, e := range walk(t, env, b.Admin.Token, q, 200) {
			if aIDs[e.ID] {
				t.Errorf("tenant B finds tenant A's entry %s with %v", e.ID, q)
			}
		}
	}
}

func TestAudit_concurrentRecordsAreAllPersistedExactlyOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	for _, c := range []struct {
		name string
		cfg  audit.Config
	}{
		{"defaults", audit.Config{}},
		{"small batches", audit.Config{Batch: 7, Interval: time.Millisecond}},
		{"buffer always full: written on the request path", audit.Config{Buffer: 1, Interval: time.Hour, Batch: 1000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := audit.NewService(env.App.DB, env.App.Enforcer, nil, c.cfg)
			defer svc.Close()
			marker := "test:burst-" + uuid.NewString()[:8]
			const goroutines, perGoroutine = 50, 20
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					tenantID := a.ID
					if g%2 == 1 {
						tenantID = b.ID
					}
					ctx := web.WithRequestID(tenantCtx(tenantID), fmt.Sprintf("g%d", g))
					for i := 0; i < perGoroutine; i++ {
						svc.Record(ctx, rbac.AuditEntry{Subject: fmt.Sprintf("user:g%d", g), Action: marker,
							Object: fmt.Sprintf("n:%d", i), Reason: map[string]any{"i": i}})
					}
				}(g)
			}
			wg.Wait()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := svc.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for _, tn := range []uuid.UUID{a.ID, b.ID} {
				if n := count(t, env, tn, "action = ?", marker); n != goroutines*perGoroutine/2 {
					t.Errorf("tenant %s: %d entries, want %d", tn, n, goroutines*perGoroutine/2)
				}
				var distinct int64
				err := env.App.DB.Tx(tenantCtx(tn), func(tx *gorm.DB) error {
					return tx.Model(&audit.Entry{}).Where("action = ?", marker).
						Distinct("subject", "object").Count(&distinct).Error
				})
				if err != nil {
					t.Fatal(err)
				}
				if distinct != goroutines*perGoroutine/2 {
					t.Errorf("tenant %s: %d distinct (subject, object), want %d", tn, distinct, goroutines*perGoroutine/2)
				}
			}
			// Each goroutine's entries went to its own tenant only.
			if n := count(t, env, a.ID, "action = ? AND subject IN ?", marker, []string{"user:g1", "user:g3"}); n != 0 {
				t.Errorf("tenant A holds %d entries recorded for tenant B", n)
			}
		})
	}
}

func TestAudit_writerSurvivesDatabaseErrorsAndReportsWhatIsLost(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	svc := audit.NewService(env.App.DB, env.App.Enforcer, log, audit.Config{})
	defer svc.Close()

	// An entry of a tenant that does not exist cannot be written (foreign key).
	svc.Record(tenantCtx(uuid.New()), rbac.AuditEntry{Subject: "user:ghost", Action: "user:read", Object: rbac.Root})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	svc.Record(tenantCtx(a.ID), rbac.AuditEntry{Subject: "user:after", Action: "user:read", Object: rbac.Root})
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, env, a.ID, "subject = ?", "user:after"); n != 1 {
		t.Errorf("entry after the failure: %d stored, want 1", n)
	}
	out := logs.String()
	if !strings.Contains(out, "retrying once") || !strings.Contains(out, "level=ERROR") ||
		!strings.Contains(out, "audit entries lost") || !strings.Contains(out, "lost=1") {
		t.Errorf("log does not report the retry and the loss:\n%s", out)
	}
}

func TestAudit_closeWritesTheBufferAndLaterEntriesAreWrittenDirectly(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	svc := audit.NewService(env.App.DB, env.App.Enforcer, nil, audit.Config{Interval: time.Hour, Batch: 1000})
	subject := "user:" + uuid.NewString()
	for i := 0; i < 5; i++ {
		svc.Record(tenantCtx(a.ID), rbac.AuditEntry{Subject: subject, Action: "user:read", Object: rbac.Root})
	}
	if n := count(t, env, a.ID, "subject = ?", subject); n != 0 {
		t.Fatalf("%d entries written before a batch was due: Record should not touch the database", n)
	}
	svc.Close()
	if n := count(t, env, a.ID, "subject = ?", subject); n != 5 {
		t.Fatalf("after Close: %d entries, want 5", n)
	}
	svc.Record(tenantCtx(a.ID), rbac.AuditEntry{Subject: subject, Action: "user:read", Object: rbac.Root})
	if n := count(t, env, a.ID, "subject = ?", subject); n != 6 {
		t.Fatalf("an entry recorded after Close: %d entries, want 6", n)
	}
	if err := svc.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
	svc.Close() // twice is harmless
}

func TestAudit_hostileTextIsStoredNotLost(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	subject := "user:" + uuid.NewString()
	env.App.Audit.Record(web.WithRequestID(tenantCtx(a.ID), "r\x00id"), rbac.AuditEntry{
		Subject: subject, Action: "user:read", Object: "ws:\x00bad\xff" + strings.Repeat("o", 5000),
		Reason: map[string]any{"note": "a\x00b", "bytes": "\xff"}})
	flush(t, env)
	got := walk(t, env, a.Admin.Token, url.Values{"subject": {subject}}, 10)
	if len(got) != 1 {
		t.Fatalf("entries: %+v, want the one recorded", got)
	}
	if e := got[0]; strings.ContainsRune(e.Object, 0) || !strings.HasPrefix(e.Object, "ws:\uFFFDbad\uFFFD") ||
		len(e.Object) > 1100 || e.Reason["note"] != "a\uFFFDb" || strings.ContainsRune(e.RequestID, 0) {
		t.Errorf("stored %+v", e)
	}
}

func TestAudit_retentionPrunesOnlyOldEntriesInEveryTenant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	now := time.Now().UTC()
	var aRows []audit.Entry
	for i := 0; i < 2345; i++ { // more than one bounded batch
		aRows = append(aRows, oldEntry(t, now.Add(-400*24*time.Hour), "user:old", "user:read"))
	}
	aRows = append(aRows,
		oldEntry(t, now.Add(-364*24*time.Hour), "user:kept", "user:read"),
		oldEntry(t, now.Add(-time.Hour), "user:kept", "user:read"))
	insert(t, env, a.ID, aRows)
	insert(t, env, b.ID, []audit.Entry{
		oldEntry(t, now.Add(-9000*time.Hour), "user:old", "user:read"),
		oldEntry(t, now.Add(-time.Minute), "user:kept", "user:read"),
	})
	var task *asynq.Task
	for _, p := range env.App.Periodic() {
		if tk, err := p.Task(); err == nil && tk.Type() == audit.TaskPrune {
			task = tk
		}
	}
	if task == nil {
		t.Fatal("audit:prune is not a periodic task")
	}
	handler := env.App.Audit.PruneHandler(env.App.Tenants)
	for run := 0; run < 2; run++ { // idempotent
		if err := handler.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			tenant uuid.UUID
			old    int64
			kept   int64
		}{{a.ID, 0, 2}, {b.ID, 0, 1}} {
			if n := count(t, env, c.tenant, "subject = ?", "user:old"); n != c.old {
				t.Errorf("run %d tenant %s: %d old entries left, want %d", run, c.tenant, n, c.old)
			}
			if n := count(t, env, c.tenant, "subject = ?", "user:kept"); n != c.kept {
				t.Errorf("run %d tenant %s: %d recent entries, want %d", run, c.tenant, n, c.kept)
			}
		}
	}

	keepAll := audit.NewService(env.App.DB, env.App.Enforcer, nil, audit.Config{Retention: 0})
	defer keepAll.Close()
	insert(t, env, a.ID, []audit.Entry{oldEntry(t, now.Add(-50000*time.Hour), "user:ancient", "user:read")})
	if err := keepAll.PruneHandler(env.App.Tenants).ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if n := count(t, env, a.ID, "subject = ?", "user:ancient"); n != 1 {
		t.Errorf("retention 0 deleted entries: %d left, want 1", n)
	}
}

// cursorAfter is the cursor that continues after the id (the paging format of every list).
func cursorAfter(id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}
