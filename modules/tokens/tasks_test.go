package tokens_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/modules/tokens"
	"github.com/atelier-hq/atelier/tenancy"
)

// insertLog writes access log entries for the token straight into the table, at the given times.
func insertLog(t *testing.T, env *apptest.Env, tenantID, tokenID uuid.UUID, at ...time.Time) {
	t.Helper()
	rows := make([]tokens.AccessEntry, 0, len(at))
	for _, ts := range at {
		id, err := uuid.NewV7()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, tokens.AccessEntry{ID: id, TokenID: tokenID, At: ts.UTC(), Method: "GET", Path: "/api/v1/me", Status: 200})
	}
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Create(&rows).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

func logRows(t *testing.T, env *apptest.Env, tenantID uuid.UUID, where string, args ...any) int64 {
	t.Helper()
	return count(t, env, tenantID, `SELECT count(*) FROM token_access_log WHERE `+where, args...)
}

// ages returns times the given durations ago.
func ages(now time.Time, ds ...time.Duration) []time.Time {
	out := make([]time.Time, len(ds))
	for i, d := range ds {
		out[i] = now.Add(-d)
	}
	return out
}

// The retention job deletes exactly the entries older than the configured retention, in every
// tenant, in bounded batches, and a second run deletes nothing more.
func TestPruneAccessLog_deletesExactlyWhatIsPastRetention(t *testing.T) {
	t.Parallel()
	const retention = 48 * time.Hour
	env := apptest.Start(t, func(c *configs.Config) { c.TokenLogRetention = retention })
	a, b := env.SignUp(t), env.SignUp(t)
	ta, tb := mint(t, env, a.Admin.Token), mint(t, env, b.Admin.Token)
	now := time.Now()
	const minute = time.Minute
	old := []time.Duration{retention + minute, retention + time.Hour, 30 * 24 * time.Hour, 400 * 24 * time.Hour}
	young := []time.Duration{retention - 5*minute, time.Hour, 0}
	insertLog(t, env, a.ID, ta.ID, ages(now, old...)...)
	insertLog(t, env, a.ID, ta.ID, ages(now, young...)...)
	insertLog(t, env, b.ID, tb.ID, ages(now, old[:2]...)...)
	insertLog(t, env, b.ID, tb.ID, ages(now, young[:1]...)...)
	task, err := tokens.NewPruneTask()
	if err != nil {
		t.Fatal(err)
	}
	handler := env.App.Tokens.PruneHandler(env.App.Tenants)
	for run := 0; run < 2; run++ {
		if err := handler.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			tenant uuid.UUID
			want   int64
		}{{a.ID, int64(len(young))}, {b.ID, 1}} {
			if got := logRows(t, env, c.tenant, "true"); got != c.want {
				t.Errorf("run %d: %d entries left, want %d", run, got, c.want)
			}
			if got := logRows(t, env, c.tenant, "at < ?", now.Add(-retention)); got != 0 {
				t.Errorf("run %d: %d entries past retention left", run, got)
			}
		}
	}
}

func TestPruneAccessLog_worksInBoundedBatchesUntilDone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	c := mint(t, env, tn.Admin.Token)
	now := time.Now()
	var old []time.Time
	for i := 0; i < 11; i++ {
		old = append(old, now.Add(-91*24*time.Hour-time.Duration(i)*time.Minute))
	}
	insertLog(t, env, tn.ID, c.ID, old...)
	insertLog(t, env, tn.ID, c.ID, now.Add(-89*24*time.Hour), now)
	s := tokens.NewService(env.App.DB, env.App.Enforcer, env.App.Users, nil,
		tokens.Config{Retention: 90 * 24 * time.Hour, PruneBatch: 3}, nil)
	n, err := s.PruneAccessLog(tenancy.WithTenant(context.Background(), tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	if n != 11 || logRows(t, env, tn.ID, "true") != 2 {
		t.Errorf("deleted %d, %d left; want 11 deleted, 2 left", n, logRows(t, env, tn.ID, "true"))
	}
}

// recorder is a Notifier that remembers notices and can be made to fail.
type recorder struct {
	mu   sync.Mutex
	got  []tokens.ExpiryNotice
	fail bool
}

func (r *recorder) TokenExpiring(_ context.Context, n tokens.ExpiryNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("events unavailable")
	}
	r.got = append(r.got, n)
	return nil
}

func (r *recorder) notices() []tokens.ExpiryNotice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tokens.ExpiryNotice(nil), r.got...)
}

// Owners of live tokens that expire within 7 days are told once; a failed notice is retried.
func TestExpiryNotice_tellsOwnersOnceAboutTokensExpiringWithinAWeek(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	editor := env.NewUser(t, a, "editor")
	soon := mint(t, env, editor.Token)
	later := mint(t, env, editor.Token)
	revoked := mint(t, env, editor.Token)
	gone := mint(t, env, editor.Token)
	inB := mint(t, env, b.Admin.Token)
	now := time.Now()
	for _, c := range []struct {
		tenant, id uuid.UUID
		at         time.Time
	}{
		{a.ID, soon.ID, now.Add(3 * 24 * time.Hour)},
		{a.ID, later.ID, now.Add(8 * 24 * time.Hour)},
		{a.ID, revoked.ID, now.Add(2 * 24 * time.Hour)},
		{a.ID, gone.ID, now.Add(-time.Hour)},
		{b.ID, inB.ID, now.Add(24 * time.Hour)},
	} {
		exec(t, env, c.tenant, `UPDATE personal_tokens SET expires_at = ? WHERE id = ?`, c.at, c.id)
	}
	apptest.WantStatus(t, env.Do(http.MethodDelete, mePath+"/"+revoked.ID.String(), editor.Token, nil), http.StatusNoContent)
	rec := &recorder{fail: true}
	env.App.Tokens.SetNotifier(rec)
	task, err := tokens.NewExpiryNoticeTask()
	if err != nil {
		t.Fatal(err)
	}
	handler := env.App.Tokens.ExpiryNoticeHandler(env.App.Tenants)
	if err := handler.ProcessTask(context.Background(), task); err == nil {
		t.Fatal("a failing notifier did not fail the task")
	}
	if n := count(t, env, a.ID, `SELECT count(*) FROM personal_tokens WHERE notified_at IS NOT NULL`) +
		count(t, env, b.ID, `SELECT count(*) FROM personal_tokens WHERE notified_at IS NOT NULL`); n != 0 {
		t.Fatalf("%d tokens marked notified although no notice went out", n)
	}
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	for run := 0; run < 2; run++ {
		if err := handler.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uuid.UUID]tokens.ExpiryNotice{}
	for _, n := range rec.notices() {
		if _, dup := got[n.TokenID]; dup {
			t.Errorf("token %s noticed twice", n.TokenID)
		}
		got[n.TokenID] = n
	}
	if len(got) != 2 {
		t.Fatalf("notices for %d tokens, want 2 (soon, inB): %+v", len(got), got)
	}
	if n := got[soon.ID]; n.UserID != editor.ID || n.TenantID != a.ID || n.Prefix != soon.Prefix {
		t.Errorf("notice for soon: %+v", n)
	}
	if n := got[inB.ID]; n.UserID != b.Admin.ID || n.TenantID != b.ID {
		t.Errorf("notice for inB: %+v", n)
	}
	if count(t, env, a.ID, `SELECT count(*) FROM personal_tokens WHERE notified_at IS NOT NULL AND id = ?`, soon.ID) != 1 {
		t.Error("soon is not marked notified")
	}
	if err := env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := env.Do(http.MethodGet, "/api/v1/audit?action=token:expiry_notice", a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p page[struct {
		Object string `json:"object"`
	}]
	r.JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].Object != "token:"+soon.ID.String() {
		t.Errorf("audit of notices in tenant A: %s", r.Body)
	}
}
