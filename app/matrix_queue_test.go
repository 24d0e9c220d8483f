package app_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// Rows for the queue (SPEC §8). Items are enqueued by a fixed owner (the workflows kit's owner,
// an editor of msa/suit no actor is) with a system workflow, an image of theirs on a public board
// of msa/suit. The actors stand to the queue as:
//
//   - admins (tenant admin, admin of msa/suit, admin of msa): list, see, cancel, retry, delete
//     anyone's items, cancel all;
//   - editors of msa/suit and msa: list and see items, enqueue (the public board takes their
//     images), but not touch someone else's item;
//   - viewers and the auditor: list and see, no enqueue, no touching;
//   - outsiders (member with no grant, expired grant): the workspace is not visible (404);
//   - the other tenant's admin: 404; anonymous: 401.
func init() {
	const api = "/api/v1"
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	forbidden, notFound, unauth := http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized

	by := func(admin, aud, editor, viewer, outsider int) map[actor]int {
		return map[actor]int{anonymous: unauth, otherTenant: notFound,
			tenantAdmin: admin, wsAdmin: admin, parentAdmin: admin, auditor: aud,
			wsEditor: editor, parentEditor: editor, wsViewer: viewer, parentViewer: viewer,
			member: outsider, expired: outsider}
	}
	inSuit := func(tail string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			qKitOf(t, w)
			return api + "/workspaces/msa~suit/queue" + tail
		}
	}
	item := func(tail string, canceled bool) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			return api + "/queue/" + qKitOf(t, w).item(t, canceled).String() + tail
		}
	}
	cachedItem := func(t *testing.T, w *world, _ actor) string {
		return api + "/queue/" + qKitOf(t, w).cachedItem(t).String()
	}
	enqueue := func(t *testing.T, w *world, _ actor) any {
		k := qKitOf(t, w)
		return map[string]any{"workflow_id": k.wf, "board_id": k.board, "field_values": map[string]any{"in.image_id": k.img}}
	}
	scope := func(s string) func(*testing.T, *world, actor) any {
		return func(*testing.T, *world, actor) any { return map[string]string{"scope": s} }
	}

	// fieldValuesFor: an item's field_values (they name the owner's input image) are shown to
	// the owner and admins only; everyone else gets null and the hidden marker (SPEC §8).
	fieldValuesFor := func(shown bool) func(*testing.T, *world, actor) []string {
		return func(t *testing.T, w *world, who actor) []string {
			img := qKitOf(t, w).img.String()
			admin := who == tenantAdmin || who == wsAdmin || who == parentAdmin
			switch {
			case admin == shown:
				return []string{img}
			case !admin && shown:
				return []string{`"hidden":true`}
			}
			return nil
		}
	}
	registerRows(
		matrixRow{route: "GET /api/v1/workspaces/:ws/queue", name: "an item of the owner's",
			path: func(t *testing.T, w *world, who actor) string {
				qKitOf(t, w).cachedItem(t)
				return inSuit("")(t, w, who)
			},
			want: by(ok, ok, ok, ok, notFound), has: fieldValuesFor(true), lacks: fieldValuesFor(false)},
		matrixRow{route: "GET /api/v1/workspaces/:ws/queue", name: "bad cursor", path: inSuit("?cursor=%%%"),
			want: expect(http.StatusBadRequest, map[actor]int{anonymous: unauth})},
		matrixRow{route: "POST /api/v1/workspaces/:ws/queue", path: inSuit(""), body: enqueue,
			want: by(created, forbidden, created, forbidden, notFound)},
		matrixRow{route: "POST /api/v1/workspaces/:ws/queue/cancel", name: "mine", path: inSuit("/cancel"), body: scope("mine"),
			want: by(ok, ok, ok, ok, notFound)},
		matrixRow{route: "POST /api/v1/workspaces/:ws/queue/cancel", name: "all", path: inSuit("/cancel"), body: scope("all"),
			want: by(ok, forbidden, forbidden, forbidden, notFound)},
		matrixRow{route: "GET /api/v1/queue/:id", path: cachedItem, want: by(ok, ok, ok, ok, notFound),
			has: fieldValuesFor(true), lacks: fieldValuesFor(false)},
		matrixRow{route: "GET /api/v1/queue/:id", name: "malformed id is not found", path: fixed(api + "/queue/not-a-uuid"),
			want: expect(notFound, map[actor]int{anonymous: unauth})},
		matrixRow{route: "POST /api/v1/queue/:id/cancel", name: "someone else's", path: item("/cancel", false),
			want: by(ok, forbidden, forbidden, forbidden, notFound)},
		matrixRow{route: "POST /api/v1/queue/:id/retry", name: "someone else's canceled", path: item("/retry", true),
			want: by(ok, forbidden, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE /api/v1/queue/:id", name: "someone else's", path: item("", false),
			want: by(noContent, forbidden, forbidden, forbidden, notFound)},
	)
}

// qKit is the queue fixtures of a matrix world.
type qKit struct {
	w          *world
	owner      string // bearer token of the workflows kit's owner
	wf         uuid.UUID
	board, img uuid.UUID
	mu         sync.Mutex
	cached     uuid.UUID
}

var (
	qKitsMu sync.Mutex
	qKits   = map[*world]*qKit{}
)

func qKitOf(t *testing.T, w *world) *qKit {
	t.Helper()
	qKitsMu.Lock()
	defer qKitsMu.Unlock()
	if k, ok := qKits[w]; ok {
		return k
	}
	isolateQueue(t, w.env)
	owner := wfKitOf(t, w).owner
	k := &qKit{w: w, owner: owner.Token, wf: wfSystem(t, w.env, w.a.ID, "queue fixture "+w.unique())}
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/boards", owner.Token, map[string]any{"name": "queue board", "visibility": "public"})
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: board: %d %s", r.Status, r.Body)
	}
	k.board = idOf(t, r)
	k.img = bdUpload(t, w.env, owner.Token, "msa/suit", &k.board, bdPNG(16, 16))
	qKits[w] = k
	return k
}

// item enqueues a fresh item as the owner, canceled if asked.
func (k *qKit) item(t *testing.T, canceled bool) uuid.UUID {
	t.Helper()
	r := k.w.env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/queue", k.owner,
		map[string]any{"workflow_id": k.wf, "board_id": k.board, "field_values": map[string]any{"in.image_id": k.img}})
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: enqueue: %d %s", r.Status, r.Body)
	}
	id := idOf(t, r)
	if canceled {
		if r := k.w.env.Do(http.MethodPost, "/api/v1/queue/"+id.String()+"/cancel", k.owner, nil); r.Status != http.StatusOK {
			t.Fatalf("fixture: cancel: %d %s", r.Status, r.Body)
		}
	}
	return id
}

func (k *qKit) cachedItem(t *testing.T) uuid.UUID {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cached == uuid.Nil {
		k.cached = k.item(t, false)
	}
	return k.cached
}
