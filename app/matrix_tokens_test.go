package app_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// Rows for personal access tokens: the owner's routes, the admin view, and the same routes of
// other modules called with tokens instead of sessions (a token is its owner ∩ its scopes).
func init() {
	signedIn := func(status int) map[actor]int {
		return expect(status, map[actor]int{anonymous: http.StatusUnauthorized})
	}
	// tokenReaders: tenant admins and auditors read every token of their tenant (the other
	// tenant's admin reads its own tenant's).
	tokenReaders := expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized,
		tenantAdmin: http.StatusOK, auditor: http.StatusOK, otherTenant: http.StatusOK})
	// ownToken is a fresh token of the actor (of the target user for anonymous, who has none).
	ownToken := func(t *testing.T, w *world, who actor) string {
		if who == anonymous {
			return matrixMint(t, w, w.target.Token).id.String()
		}
		return matrixMint(t, w, w.token(who)).id.String()
	}
	targetsToken := func(t *testing.T, w *world, _ actor) string {
		return matrixMint(t, w, w.target.Token).id.String()
	}
	// patOf returns a fresh token of the actor with the scopes ("" for anonymous).
	patOf := func(scopes ...string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			if who == anonymous {
				return ""
			}
			return matrixMint(t, w, w.token(who), scopes...).secret
		}
	}
	rename := func(*testing.T, *world, actor) any { return map[string]string{"display_name": "Renamed"} }
	targetUser := func(t *testing.T, w *world, _ actor) string { return "/api/v1/users/" + w.target.ID.String() }
	registerRows(
		matrixRow{route: "POST /api/v1/me/tokens", name: "anyone signed in mints their own",
			path: fixed("/api/v1/me/tokens"),
			body: func(*testing.T, *world, actor) any { return map[string]any{"name": "matrix"} },
			want: signedIn(http.StatusCreated)},
		matrixRow{route: "POST /api/v1/me/tokens", name: "a write token cannot mint",
			path:  fixed("/api/v1/me/tokens"),
			body:  func(*testing.T, *world, actor) any { return map[string]any{"name": "child"} },
			token: patOf("read", "write"),
			want:  expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized})},
		// Listings show a token's metadata and never its secret or stored hash.
		matrixRow{route: "GET /api/v1/me/tokens", name: "lists the actor's own, without secrets",
			path: func(t *testing.T, w *world, who actor) string {
				if who != anonymous {
					remember(w, "me", who, matrixMint(t, w, w.token(who)))
				}
				return "/api/v1/me/tokens"
			},
			want: signedIn(http.StatusOK),
			has:  tokenMetadata,
			lacks: func(_ *testing.T, w *world, who actor) []string {
				return append(tokenSecrets(recalled(w, "me", who)), w.target.ID.String())
			}},
		matrixRow{route: "DELETE /api/v1/me/tokens/:id", name: "own token",
			path: func(t *testing.T, w *world, who actor) string { return "/api/v1/me/tokens/" + ownToken(t, w, who) },
			want: signedIn(http.StatusNoContent)},
		matrixRow{route: "DELETE /api/v1/me/tokens/:id", name: "another user's token",
			path: func(t *testing.T, w *world, who actor) string { return "/api/v1/me/tokens/" + targetsToken(t, w, who) },
			want: signedIn(http.StatusNotFound)},
		matrixRow{route: "GET /api/v1/me/tokens/:id/access-log", name: "own token",
			path: func(t *testing.T, w *world, who actor) string {
				return "/api/v1/me/tokens/" + ownToken(t, w, who) + "/access-log"
			},
			want: signedIn(http.StatusOK)},
		matrixRow{route: "GET /api/v1/me/tokens/:id/access-log", name: "another user's token",
			path: func(t *testing.T, w *world, who actor) string {
				return "/api/v1/me/tokens/" + targetsToken(t, w, who) + "/access-log"
			},
			want: signedIn(http.StatusNotFound)},
		matrixRow{route: "GET /api/v1/admin/tokens", name: "a token of tenant A, without its secret",
			path: func(t *testing.T, w *world, who actor) string {
				remember(w, "admin", who, matrixMint(t, w, w.target.Token))
				return "/api/v1/admin/tokens"
			},
			want: tokenReaders,
			has:  tokenMetadata,
			lacks: func(_ *testing.T, w *world, who actor) []string {
				tok := recalled(w, "admin", who)
				if who == tenantAdmin || who == auditor {
					return tokenSecrets(tok)
				}
				return append(tokenSecrets(tok), tok.id.String())
			}},
		matrixRow{route: "GET /api/v1/admin/tokens", name: "with the actor's read token",
			path: fixed("/api/v1/admin/tokens"), token: patOf("read"), want: tokenReaders},
		matrixRow{route: "DELETE /api/v1/admin/tokens/:id", name: "a token of tenant A",
			path: func(t *testing.T, w *world, who actor) string {
				return "/api/v1/admin/tokens/" + targetsToken(t, w, who)
			},
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized,
				tenantAdmin: http.StatusNoContent, otherTenant: http.StatusNotFound})},
		// Other modules' routes with tokens: the same answers as the owner's session, except that
		// a read token is refused every unsafe method before any handler.
		matrixRow{route: "GET /api/v1/users", name: "with the actor's read token",
			path: fixed("/api/v1/users"), token: patOf("read"),
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized,
				tenantAdmin: http.StatusOK, auditor: http.StatusOK, otherTenant: http.StatusOK})},
		matrixRow{route: "PATCH /api/v1/users/:id", name: "rename with the actor's read token",
			path: targetUser, body: rename, token: patOf("read"),
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized})},
		matrixRow{route: "PATCH /api/v1/users/:id", name: "rename with the actor's write token",
			path: targetUser, body: rename, token: patOf("read", "write"),
			want: expect(http.StatusForbidden, map[actor]int{anonymous: http.StatusUnauthorized,
				tenantAdmin: http.StatusOK, otherTenant: http.StatusNotFound})},
	)
}

// matrixToken is a minted token: its id and its secret.
type matrixToken struct {
	id     uuid.UUID
	secret string
}

// matrixMint has the holder of the session mint a token.
func matrixMint(t *testing.T, w *world, session string, scopes ...string) matrixToken {
	t.Helper()
	body := map[string]any{"name": "matrix " + w.unique()}
	if len(scopes) > 0 {
		body["scopes"] = scopes
	}
	r := w.env.Do(http.MethodPost, "/api/v1/me/tokens", session, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("mint: %d %s", r.Status, r.Body)
	}
	var c struct {
		ID    uuid.UUID `json:"id"`
		Token string    `json:"token"`
	}
	r.JSON(t, &c)
	return matrixToken{id: c.ID, secret: c.Token}
}

// A row's path mints a token per cell and its body checks look it up again.
var (
	rememberedMu sync.Mutex
	remembered   = map[rememberedKey]matrixToken{}
)

type rememberedKey struct {
	w   *world
	row string
	who actor
}

func remember(w *world, row string, who actor, tok matrixToken) {
	rememberedMu.Lock()
	defer rememberedMu.Unlock()
	remembered[rememberedKey{w, row, who}] = tok
}

func recalled(w *world, row string, who actor) matrixToken {
	rememberedMu.Lock()
	defer rememberedMu.Unlock()
	return remembered[rememberedKey{w, row, who}]
}

// tokenMetadata is what a listing of tokens shows: each one's visible prefix. (The listing is
// paged oldest first, so the token a cell just minted may be on a later page.)
func tokenMetadata(*testing.T, *world, actor) []string { return []string{`"prefix"`} }

// tokenSecrets is what no listing may show of a token: its secret and anything named a hash.
func tokenSecrets(tok matrixToken) []string {
	out := []string{"hash", "secret"}
	if tok.secret != "" {
		out = append(out, tok.secret)
	}
	return out
}
