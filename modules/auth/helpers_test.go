package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/tenancy"
)

const (
	loginPath   = "/api/v1/auth/login"
	refreshPath = "/api/v1/auth/refresh"
	logoutPath  = "/api/v1/auth/logout"
	mePath      = "/api/v1/me"
)

// wantError fails unless r is the error answer with the status and error code.
// wantStatus fails unless r has the status.
func login(env *apptest.Env, tenant, email, password string) apptest.Response {
	return env.Do(http.MethodPost, loginPath, "", map[string]string{"tenant": tenant, "email": email, "password": password})
}

func refresh(env *apptest.Env, token string) apptest.Response {
	return env.Do(http.MethodPost, refreshPath, "", map[string]string{"refresh_token": token})
}

// tokensOf decodes a login or refresh answer.
func tokensOf(t *testing.T, r apptest.Response) apptest.Tokens {
	t.Helper()
	apptest.WantStatus(t, r, http.StatusOK)
	var tok apptest.Tokens
	r.JSON(t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("incomplete token pair: %s", r.Body)
	}
	return tok
}

// me is GET /api/v1/me, failing the test unless it answers 200 for the expected user.
func wantMe(t *testing.T, env *apptest.Env, token string, userID uuid.UUID) {
	t.Helper()
	r := env.Do(http.MethodGet, mePath, token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	if v.ID != userID {
		t.Fatalf("/me is %s, want %s", v.ID, userID)
	}
}

// wantUnauthorized fails unless the token is refused on /me with 401 unauthorized.
func wantUnauthorized(t *testing.T, env *apptest.Env, token string) {
	t.Helper()
	apptest.WantError(t, env.Do(http.MethodGet, mePath, token, nil), http.StatusUnauthorized, "unauthorized")
}

// createUser has the admin create a user without logging them in, so no login attempt is spent
// on the account.
func createUser(t *testing.T, env *apptest.Env, tn apptest.Tenant, email, role string) uuid.UUID {
	t.Helper()
	r := env.Do(http.MethodPost, "/api/v1/users", tn.Admin.Token, map[string]string{
		"email": email, "password": apptest.Password, "display_name": "Someone", "role": role})
	apptest.WantStatus(t, r, http.StatusCreated)
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	return v.ID
}

// liveRefreshTokens counts the user's refresh tokens that are not revoked, read from the database.
func liveRefreshTokens(t *testing.T, env *apptest.Env, tenantID, userID uuid.UUID) int64 {
	t.Helper()
	var n int64
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&auth.RefreshToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Count(&n).Error
	})
	if err != nil {
		t.Fatalf("count refresh tokens: %v", err)
	}
	return n
}

// randomAddress is a client address no other test or earlier run uses (limits live in the
// shared Redis for their whole window).
func randomAddress() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

// loginFrom logs in from the given client address.
func loginFrom(env *apptest.Env, addr, tenant, email, password string) apptest.Response {
	body := fmt.Sprintf(`{"tenant":%q,"email":%q,"password":%q}`, tenant, email, password)
	req := httptest.NewRequest(http.MethodPost, loginPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	return env.DoRequest(req)
}

// containsFold reports whether b contains s, ignoring case.
func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(s)))
}
