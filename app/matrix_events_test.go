package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
)

// Rows for the event stream. A ticket is minted by any signed-in caller (a personal access
// token too, even a read-only one: a ticket only opens a read); the stream is a public route as
// far as bearer tokens go and is authenticated by its ticket alone, so its rows differ by ticket:
// the actor's own (200), none, forged, used, or another tenant's relabelled (401).
func init() {
	signedIn := func(status int) map[actor]int {
		return expect(status, map[actor]int{anonymous: http.StatusUnauthorized})
	}
	patOf := func(scopes ...string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			if who == anonymous {
				return ""
			}
			return matrixMint(t, w, w.token(who), scopes...).secret
		}
	}
	// streamPath builds /events with the ticket the actor's bearer credential mints (none for
	// anonymous), changed by alter.
	streamPath := func(credential func(*testing.T, *world, actor) string, alter func(t *testing.T, w *world, ticket string) string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			if who == anonymous {
				return "/api/v1/events"
			}
			tk := matrixTicket(t, w, credential(t, w, who))
			if alter != nil {
				tk = alter(t, w, tk)
			}
			return "/api/v1/events?ticket=" + url.QueryEscape(tk)
		}
	}
	session := func(_ *testing.T, w *world, who actor) string { return w.token(who) }
	registerRows(
		matrixRow{route: "POST /api/v1/events/ticket", path: fixed("/api/v1/events/ticket"), want: signedIn(http.StatusCreated)},
		matrixRow{route: "POST /api/v1/events/ticket", name: "with the actor's read token",
			path: fixed("/api/v1/events/ticket"), token: patOf("read"), want: signedIn(http.StatusCreated)},
		matrixRow{route: "GET /api/v1/events", name: "own ticket (anonymous: none)", path: streamPath(session, nil),
			do: matrixStream, want: signedIn(http.StatusOK)},
		matrixRow{route: "GET /api/v1/events", name: "own ticket minted with a read token", path: streamPath(patOf("read"), nil),
			do: matrixStream, want: signedIn(http.StatusOK)},
		matrixRow{route: "GET /api/v1/events", name: "own ticket and a bearer token of another tenant",
			path: streamPath(session, nil), token: func(_ *testing.T, w *world, _ actor) string { return w.b.Admin.Token },
			do: matrixStream, want: signedIn(http.StatusOK)},
		matrixRow{route: "GET /api/v1/events", name: "forged ticket",
			path: streamPath(session, func(_ *testing.T, _ *world, tk string) string { return tk[:len(tk)-6] + "AAAAAA" }),
			do:   matrixStream, want: expect(http.StatusUnauthorized, nil)},
		matrixRow{route: "GET /api/v1/events", name: "used ticket",
			path: streamPath(session, func(t *testing.T, w *world, tk string) string {
				if r := matrixStream(t, w, tenantAdmin, "/api/v1/events?ticket="+url.QueryEscape(tk), ""); r.Status != http.StatusOK {
					t.Fatalf("first use: %d %s", r.Status, r.Body)
				}
				return tk
			}),
			do: matrixStream, want: expect(http.StatusUnauthorized, nil)},
		matrixRow{route: "GET /api/v1/events", name: "ticket relabelled with the other tenant's id",
			path: streamPath(session, func(_ *testing.T, w *world, tk string) string {
				a, b := strings.ReplaceAll(w.a.ID.String(), "-", ""), strings.ReplaceAll(w.b.ID.String(), "-", "")
				other := b
				if tk[len("evt_"):len("evt_")+32] == b {
					other = a
				}
				return "evt_" + other + tk[len("evt_")+32:]
			}),
			do: matrixStream, want: expect(http.StatusUnauthorized, nil)},
		matrixRow{route: "GET /api/v1/events", name: "a bearer token instead of a ticket",
			path: fixed("/api/v1/events"), do: matrixStream, want: expect(http.StatusUnauthorized, nil)},
	)
}

// matrixTicket mints a ticket with the bearer credential.
func matrixTicket(t *testing.T, w *world, bearer string) string {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/events/ticket", bearer, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("ticket: %d %s", r.Status, r.Body)
	}
	var tk struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	r.JSON(t, &tk)
	if tk.ExpiresIn != 30 || tk.Ticket == "" {
		t.Fatalf("ticket answer %s", r.Body)
	}
	return tk.Ticket
}

// matrixStream opens the stream on a real connection; a 200 counts only once the stream's
// ready event arrived, then the client hangs up.
func matrixStream(t *testing.T, w *world, _ actor, path, token string) apptest.Response {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	h.Set("X-Forwarded-For", w.env.ClientIP)
	s := apptest.OpenSSE(t, w.env.URL(), path, h)
	defer s.Close()
	if s.Status == http.StatusOK {
		if ev := s.Next(t); ev.Name != "ready" {
			t.Fatalf("first event %+v, want ready", ev)
		}
	}
	return apptest.Response{Status: s.Status, Body: s.Body}
}
