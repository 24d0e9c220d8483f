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

// wantInvalid fails unless r is a 400 invalid whose first detail names the field.
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
		apptest.WantStatus(t, r, http.StatusOK)
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
	apptest.WantStatus(t, r, http.StatusCreated)
	return userOf(t, r)
}
