package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/tenancy"
)

func countRefresh(t *testing.T, env *apptest.Env, tenantID uuid.UUID) int64 {
	t.Helper()
	var n int64
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Model(&auth.RefreshToken{}).Count(&n).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The hourly purge deletes expired refresh tokens and long-revoked ones in every tenant, and
// nothing that can still be used or whose reuse must still be recognised.
func TestPurgeRefreshTokens_deletesOnlyDeadTokensInEveryTenant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	// a: one live session (from SignUp), one expired, one revoked two days ago, one rotated.
	expired := env.Login(t, a.Slug, a.Admin.Email, apptest.Password)
	revoked := env.Login(t, a.Slug, a.Admin.Email, apptest.Password)
	rotated := env.Login(t, a.Slug, a.Admin.Email, apptest.Password)
	if r := env.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rotated.RefreshToken}); r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	// b: one expired session only besides its live one.
	bExpired := env.Login(t, b.Slug, b.Admin.Email, apptest.Password)

	ctxA := tenancy.WithTenant(context.Background(), a.ID)
	ctxB := tenancy.WithTenant(context.Background(), b.ID)
	past := time.Now().Add(-time.Hour)
	mustExec(t, env, ctxA, `UPDATE refresh_tokens SET expires_at = ? WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE id = ?)`, past, refreshID(t, expired.RefreshToken))
	mustExec(t, env, ctxA, `UPDATE refresh_tokens SET revoked_at = ? WHERE id = ?`, time.Now().Add(-48*time.Hour), refreshID(t, revoked.RefreshToken))
	mustExec(t, env, ctxB, `UPDATE refresh_tokens SET expires_at = ? WHERE id = ?`, past, refreshID(t, bExpired.RefreshToken))

	beforeA, beforeB := countRefresh(t, env, a.ID), countRefresh(t, env, b.ID)
	if beforeA != 5 || beforeB != 2 {
		t.Fatalf("fixture: %d and %d refresh tokens, want 5 and 2", beforeA, beforeB)
	}
	task, err := auth.NewPurgeTask()
	if err != nil {
		t.Fatal(err)
	}
	handler := env.App.Auth.PurgeHandler(env.App.Tenants)
	for run := 0; run < 2; run++ { // idempotent: a retry deletes nothing more
		if err := handler.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		if got := countRefresh(t, env, a.ID); got != 3 {
			t.Fatalf("run %d: tenant a keeps %d refresh tokens, want 3 (live, rotated, its successor)", run, got)
		}
		if got := countRefresh(t, env, b.ID); got != 1 {
			t.Fatalf("run %d: tenant b keeps %d refresh tokens, want 1", run, got)
		}
	}
	// The live session still refreshes; reuse of the rotated token is still recognised.
	if r := env.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": a.Admin.RefreshToken}); r.Status != http.StatusOK {
		t.Fatalf("live session after purge: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": rotated.RefreshToken}); r.Status != http.StatusUnauthorized {
		t.Fatalf("reuse after purge: %d, want 401", r.Status)
	}
}

// The purge is registered with the worker and scheduled.
func TestApp_registersThePurgeTaskAndSchedule(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	found := false
	for _, p := range env.App.Periodic() {
		task, err := p.Task()
		if err != nil {
			t.Fatal(err)
		}
		if task.Type() == auth.TaskPurgeRefreshTokens && p.Cron != "" {
			found = true
		}
	}
	if !found {
		t.Fatal("the refresh-token purge is not scheduled")
	}
	w := jobs.NewWorker(env.App.Broker, jobs.WorkerConfig{}, env.App.Log)
	env.App.RegisterTasks(w) // panics on a duplicate or malformed registration
}

func mustExec(t *testing.T, env *apptest.Env, ctx context.Context, sql string, args ...any) {
	t.Helper()
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(sql, args...)
		if res.Error == nil && res.RowsAffected == 0 {
			t.Fatalf("%s: no row changed", sql)
		}
		return res.Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

// refreshID decodes the row id from a refresh token (prefix, then tenant, id, secret).
func refreshID(t *testing.T, token string) uuid.UUID {
	t.Helper()
	id, err := auth.RefreshTokenID(token)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
