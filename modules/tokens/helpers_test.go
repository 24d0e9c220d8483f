package tokens_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/tenancy"
)

const (
	mePath    = "/api/v1/me/tokens"
	adminPath = "/api/v1/admin/tokens"
)

// created is the answer to a mint.
type created struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
	Token     string    `json:"token"`
}

// view is a token as lists show it.
type view struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Expired    bool       `json:"expired"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Revoked    bool       `json:"revoked"`
	Owner      *struct {
		ID          uuid.UUID `json:"id"`
		Email       string    `json:"email"`
		DisplayName string    `json:"display_name"`
	} `json:"owner"`
}

// logEntry is one access log entry.
type logEntry struct {
	ID        uuid.UUID `json:"id"`
	At        time.Time `json:"at"`
	RequestID string    `json:"request_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	ClientIP  string    `json:"client_ip"`
	UserAgent string    `json:"user_agent"`
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// mint has the holder of session create a token, failing unless it answers 201.
func mint(t testing.TB, env *apptest.Env, session string, scopes ...string) created {
	t.Helper()
	body := map[string]any{"name": "ci " + uuid.NewString()[:6]}
	if len(scopes) > 0 {
		body["scopes"] = scopes
	}
	r := env.Do(http.MethodPost, mePath, session, body)
	apptest.WantStatus(t, r, http.StatusCreated)
	var c created
	r.JSON(t, &c)
	return c
}

// doUA sends a request with a user agent.
func doUA(env *apptest.Env, method, path, token, ua string) apptest.Response {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", env.ClientIP)
	return env.DoRequest(req)
}

// flush writes every access log entry recorded so far.
func flush(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.App.TokenLog.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// accessLog pages through a token's whole log as the caller sees it.
func accessLog(t *testing.T, env *apptest.Env, session string, id uuid.UUID, limit int) []logEntry {
	t.Helper()
	var out []logEntry
	path := mePath + "/" + id.String() + "/access-log?limit=" + strconv.Itoa(limit)
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		r := env.Do(http.MethodGet, path, session, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var p page[logEntry]
		r.JSON(t, &p)
		if len(p.Items) > limit {
			t.Fatalf("page of %d, limit %d", len(p.Items), limit)
		}
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		path = mePath + "/" + id.String() + "/access-log?limit=" + strconv.Itoa(limit) + "&cursor=" + *p.NextCursor
	}
}

// list pages through a token list (own or admin) as the caller sees it.
func list(t *testing.T, env *apptest.Env, path, token string) []view {
	t.Helper()
	var out []view
	next := path + "?limit=2"
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		r := env.Do(http.MethodGet, next, token, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var p page[view]
		r.JSON(t, &p)
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		next = path + "?limit=2&cursor=" + *p.NextCursor
	}
}

// exec runs SQL in the tenant's scope.
func exec(t *testing.T, env *apptest.Env, tenantID uuid.UUID, sql string, args ...any) {
	t.Helper()
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Exec(sql, args...).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

// count counts rows in the tenant's scope.
func count(t *testing.T, env *apptest.Env, tenantID uuid.UUID, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Raw(sql, args...).Scan(&n).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// withTenant re-encodes a token so that it names another tenant.
func withTenant(t *testing.T, token string, tenantID uuid.UUID) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, "atl_pat_"))
	if err != nil || len(b) != 64 {
		t.Fatalf("token %q does not decode to 64 bytes: %v", token, err)
	}
	copy(b[16:32], tenantID[:])
	return "atl_pat_" + base64.RawURLEncoding.EncodeToString(b)
}
