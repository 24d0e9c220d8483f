package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/tenancy"
)

// busWatch is an events.EndedWatcher for tests: it passes on the notices about one tenant and the
// losses and joins of the node's subscription.
type busWatch struct {
	tenant uuid.UUID
	ended  chan struct{}
	lost   chan struct{}
	joined chan struct{}
}

func newBusWatch(tenant uuid.UUID) *busWatch {
	return &busWatch{tenant: tenant, ended: make(chan struct{}, 64), lost: make(chan struct{}, 64), joined: make(chan struct{}, 64)}
}

func (w *busWatch) PrincipalEnded(tenant uuid.UUID, _, _, _ *uuid.UUID) {
	if tenant == w.tenant {
		w.ended <- struct{}{}
	}
}
func (w *busWatch) BusLost()   { w.lost <- struct{}{} }
func (w *busWatch) BusJoined() { w.joined <- struct{}{} }

func waitForSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never came", what)
	}
}

func wantMeStatus(t *testing.T, env *apptest.Env, node, token string, status int) {
	t.Helper()
	if r := env.Do(http.MethodGet, "/api/v1/me", token, nil); r.Status != status {
		t.Fatalf("GET /me on node %s: %d %s, want %d", node, r.Status, r.Body, status)
	}
}

func cached(t *testing.T, env *apptest.Env, tenant uuid.UUID, credential uuid.UUID) bool {
	t.Helper()
	_, _, ok := env.App.Auth.LiveCache().Get(auth.LiveKey{Tenant: tenant, Credential: credential})
	return ok
}

// Two API nodes on one database and one Redis: a principal ended on one is refused on the other
// as soon as the notice reaches it, although the other had its liveness cached.
func TestLiveness_endedOnOneNodeIsRefusedOnTheOther(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	a := apptest.StartWith(t, cfg)
	b := apptest.StartWith(t, cfg)

	type credential struct {
		token string
		id    uuid.UUID // session or token id: the cache key
	}
	newPAT := func(t *testing.T, u apptest.User) credential {
		r := a.Do(http.MethodPost, "/api/v1/me/tokens", u.Token, map[string]any{"name": "bench"})
		if r.Status != http.StatusCreated {
			t.Fatalf("create token: %d %s", r.Status, r.Body)
		}
		var v struct {
			ID    uuid.UUID `json:"id"`
			Token string    `json:"token"`
		}
		r.JSON(t, &v)
		return credential{token: v.Token, id: v.ID}
	}
	session := func(t *testing.T, env *apptest.Env, u apptest.User, tn apptest.Tenant) credential {
		return credential{token: u.Token, id: sessionOf(t, env, tn.ID, u.ID)}
	}
	cases := []struct {
		name string
		// cred is the credential to refuse; end ends it on node a.
		cred func(t *testing.T, tn apptest.Tenant, u apptest.User) credential
		end  func(t *testing.T, tn apptest.Tenant, u apptest.User, c credential)
	}{
		{"a disabled user's access token",
			func(t *testing.T, tn apptest.Tenant, u apptest.User) credential { return session(t, a, u, tn) },
			func(t *testing.T, tn apptest.Tenant, u apptest.User, _ credential) {
				r := a.Do(http.MethodPatch, "/api/v1/users/"+u.ID.String(), tn.Admin.Token, map[string]any{"disabled": true})
				if r.Status != http.StatusOK {
					t.Fatalf("disable: %d %s", r.Status, r.Body)
				}
			}},
		{"a disabled user's personal access token",
			func(t *testing.T, _ apptest.Tenant, u apptest.User) credential { return newPAT(t, u) },
			func(t *testing.T, tn apptest.Tenant, u apptest.User, _ credential) {
				r := a.Do(http.MethodPatch, "/api/v1/users/"+u.ID.String(), tn.Admin.Token, map[string]any{"disabled": true})
				if r.Status != http.StatusOK {
					t.Fatalf("disable: %d %s", r.Status, r.Body)
				}
			}},
		{"a revoked personal access token",
			func(t *testing.T, _ apptest.Tenant, u apptest.User) credential { return newPAT(t, u) },
			func(t *testing.T, _ apptest.Tenant, u apptest.User, c credential) {
				if r := a.Do(http.MethodDelete, "/api/v1/me/tokens/"+c.id.String(), u.Token, nil); r.Status != http.StatusNoContent {
					t.Fatalf("revoke: %d %s", r.Status, r.Body)
				}
			}},
		{"a logged-out session",
			func(t *testing.T, tn apptest.Tenant, u apptest.User) credential { return session(t, a, u, tn) },
			func(t *testing.T, _ apptest.Tenant, u apptest.User, _ credential) {
				if r := a.Do(http.MethodPost, "/api/v1/auth/logout", u.Token, map[string]any{}); r.Status != http.StatusNoContent {
					t.Fatalf("logout: %d %s", r.Status, r.Body)
				}
			}},
		{"a session whose refresh token was reused",
			func(t *testing.T, tn apptest.Tenant, u apptest.User) credential { return session(t, a, u, tn) },
			func(t *testing.T, _ apptest.Tenant, u apptest.User, _ credential) {
				for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
					r := a.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": u.RefreshToken})
					if r.Status != want {
						t.Fatalf("refresh %d: %d %s, want %d", i+1, r.Status, r.Body, want)
					}
				}
			}},
		{"a suspended tenant's access token",
			func(t *testing.T, tn apptest.Tenant, u apptest.User) credential { return session(t, a, u, tn) },
			func(t *testing.T, tn apptest.Tenant, _ apptest.User, _ credential) {
				if err := a.App.Tenants.SetStatus(context.Background(), tn.Slug, "suspended"); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := a.SignUp(t)
			u := a.NewUser(t, tn, "editor")
			c := tc.cred(t, tn, u)
			w := newBusWatch(tn.ID)
			b.App.Events.Watch(w)

			wantMeStatus(t, b, "b", c.token, http.StatusOK)
			if !cached(t, b, tn.ID, c.id) {
				t.Fatal("node b did not cache the liveness it checked")
			}
			wantMeStatus(t, a, "a", c.token, http.StatusOK)

			tc.end(t, tn, u, c)
			wantMeStatus(t, a, "a", c.token, http.StatusUnauthorized)
			waitForSignal(t, w.ended, "the notice on node b")
			wantMeStatus(t, b, "b", c.token, http.StatusUnauthorized)
		})
	}
}

// With node b's subscription to the notices cut, b checks liveness in the database again: a user
// disabled without any notice reaching b (as when a message is lost) is refused once b knows
// its subscription was lost, although b had the user cached as live.
func TestLiveness_lostSubscriptionFallsBackToTheDatabase(t *testing.T) {
	t.Parallel()
	name := "atelier-liveness-" + uuid.NewString()[:8]
	env := apptest.Start(t, func(c *configs.Config) { c.RedisURL = withClientName(c.RedisURL, name) })
	tn := env.SignUp(t)
	u := env.NewUser(t, tn, "editor")
	sid := sessionOf(t, env, tn.ID, u.ID)
	w := newBusWatch(tn.ID)
	env.App.Events.Watch(w)

	wantMeStatus(t, env, "b", u.Token, http.StatusOK)
	if !cached(t, env, tn.ID, sid) {
		t.Fatal("the node did not cache the liveness it checked")
	}
	// Disabled behind the node's back: no notice is published, as if it had been lost.
	ctx := tenancy.WithTenant(context.Background(), tn.ID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&users.User{}).Where("id = ?", u.ID).Update("disabled", true).Error
	}); err != nil {
		t.Fatal(err)
	}
	// The cache answers while the subscription is up (what the notice is for).
	wantMeStatus(t, env, "b", u.Token, http.StatusOK)

	killSubscriptions(t, name)
	waitForSignal(t, w.lost, "the loss of the subscription")
	if cached(t, env, tn.ID, sid) {
		t.Fatal("the cache still answers after the subscription was lost")
	}
	wantMeStatus(t, env, "b", u.Token, http.StatusUnauthorized)
	// The subscription comes back by itself, and the cache with it (for principals still live).
	waitForSignal(t, w.joined, "the new subscription")
	wantMeStatus(t, env, "b", tn.Admin.Token, http.StatusOK)
	if !cached(t, env, tn.ID, sessionOf(t, env, tn.ID, tn.Admin.ID)) {
		t.Fatal("the cache does not serve again once the subscription is back")
	}
	wantMeStatus(t, env, "b", u.Token, http.StatusUnauthorized)
}

// withClientName names every connection the node makes to Redis, so that a test can cut its own.
func withClientName(url, name string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "client_name=" + name
}

// killSubscriptions closes the pub/sub connections of the named client (CLIENT KILL ID), as a
// network failure or a Redis restart would.
func killSubscriptions(t *testing.T, name string) {
	t.Helper()
	opt, err := redis.ParseURL(apptest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["name"] != name || (f["sub"] == "0" && f["psub"] == "0") {
			continue
		}
		if err := rdb.Do(ctx, "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("no pub/sub connection named %s among:\n%s", name, list)
	}
}

// sessionOf is the id of the user's latest session (refresh-token family).
func sessionOf(t *testing.T, env *apptest.Env, tenantID, userID uuid.UUID) uuid.UUID {
	t.Helper()
	var rt auth.RefreshToken
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Where("user_id = ?", userID).Order("created_at DESC").Take(&rt).Error
	})
	if err != nil {
		t.Fatal(fmt.Errorf("session of %s: %w", userID, err))
	}
	return rt.FamilyID
}
