package audit_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

const auditPath = "/api/v1/audit"

// entry is an audit entry as the API answers it.
type entry struct {
	ID        uuid.UUID      `json:"id"`
	At        time.Time      `json:"at"`
	RequestID string         `json:"request_id"`
	Subject   string         `json:"subject"`
	Action    string         `json:"action"`
	Object    string         `json:"object"`
	Result    string         `json:"result"`
	Reason    map[string]any `json:"reason"`
}

type page struct {
	Items      []entry `json:"items"`
	NextCursor *string `json:"next_cursor"`
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
// flush writes every entry recorded so far.
func flush(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.App.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// list reads one page of the audit log with the query (url.Values encoded).
func list(t *testing.T, env *apptest.Env, token string, q url.Values) page {
	t.Helper()
	r := env.Do(http.MethodGet, auditPath+"?"+q.Encode(), token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p page
	r.JSON(t, &p)
	return p
}

// walk pages through the whole log matching q with the given page size.
func walk(t *testing.T, env *apptest.Env, token string, q url.Values, limit int) []entry {
	t.Helper()
	q = cloneValues(q)
	q.Set("limit", strconv.Itoa(limit))
	var out []entry
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		p := list(t, env, token, q)
		if len(p.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(p.Items), limit)
		}
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		q.Set("cursor", *p.NextCursor)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// tenantCtx is a context scoped to the tenant, as a request of one of its users would be.
func tenantCtx(tenantID uuid.UUID) context.Context {
	return tenancy.WithTenant(context.Background(), tenantID)
}

// insert writes entries straight into the tenant's log (fixtures with chosen times).
func insert(t *testing.T, env *apptest.Env, tenantID uuid.UUID, rows []audit.Entry) {
	t.Helper()
	err := env.App.DB.Tx(tenantCtx(tenantID), func(tx *gorm.DB) error {
		return tx.CreateInBatches(&rows, 500).Error
	})
	if err != nil {
		t.Fatal(err)
	}
}

// oldEntry is a fixture entry recorded at the given time.
func oldEntry(t *testing.T, at time.Time, subject, action string) audit.Entry {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return audit.Entry{ID: id, At: at.UTC(), Subject: subject, Action: action, Object: rbac.Root,
		Result: audit.ResultDeny, Reason: []byte(`{}`)}
}

// count is the number of entries stored for the tenant, optionally narrowed by a condition.
func count(t *testing.T, env *apptest.Env, tenantID uuid.UUID, where string, args ...any) int64 {
	t.Helper()
	var n int64
	err := env.App.DB.Tx(tenantCtx(tenantID), func(tx *gorm.DB) error {
		q := tx.Model(&audit.Entry{})
		if where != "" {
			q = q.Where(where, args...)
		}
		return q.Count(&n).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
