package users_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
)

const usersPath = "/api/v1/users"

// view is a user as the API answers it.
type view struct {
	ID          uuid.UUID `json:"id"`
	TenantID    uuid.UUID `json:"tenant_id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Disabled    bool      `json:"disabled"`
	Roles       []string  `json:"roles"`
}

type page struct {
	Items      []view  `json:"items"`
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

func wantStatus(t *testing.T, r apptest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
	}
}

func wantError(t *testing.T, r apptest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.ErrorCode() != code {
		t.Fatalf("got %d %s, want %d with code %q", r.Status, r.Body, status, code)
	}
}

// wantInvalid fails unless r is a 400 invalid whose first detail names the field.
func wantInvalid(t *testing.T, r apptest.Response, field string) {
	t.Helper()
	wantError(t, r, http.StatusBadRequest, "invalid")
	var e errorBody
	r.JSON(t, &e)
	if len(e.Error.Details) == 0 || e.Error.Details[0].Field != field {
		t.Fatalf("details %s, want field %q first", r.Body, field)
	}
}

func userOf(t *testing.T, r apptest.Response) view {
	t.Helper()
	var v view
	r.JSON(t, &v)
	return v
}

// allUsers pages through the tenant's users as the caller sees them.
func allUsers(t *testing.T, env *apptest.Env, token string) []view {
	t.Helper()
	var out []view
	path := usersPath + "?limit=200"
	for {
		r := env.Do(http.MethodGet, path, token, nil)
		wantStatus(t, r, http.StatusOK)
		var p page
		r.JSON(t, &p)
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		path = usersPath + "?limit=200&cursor=" + *p.NextCursor
	}
}

func ids(vs []view) map[uuid.UUID]bool {
	out := map[uuid.UUID]bool{}
	for _, v := range vs {
		out[v.ID] = true
	}
	return out
}

// create has the caller create a user, failing unless it answers 201.
func create(t *testing.T, env *apptest.Env, token string, body map[string]string) view {
	t.Helper()
	r := env.Do(http.MethodPost, usersPath, token, body)
	wantStatus(t, r, http.StatusCreated)
	return userOf(t, r)
}
