package app_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// Rows for bulk downloads. Asking for a download is open to every signed-in user; what they may
// put in it is exactly what they may read (a board's images: the board's readers; an image: its
// readers), and one unreadable image refuses the whole request with 404. A download itself is
// personal: its owner alone sees, fetches, links or deletes it — tenant admins included get 404
// (they can read the images themselves). A signed link is a bearer capability: whoever holds a
// genuine unexpired link gets the zip, with or without a token of their own.
func init() {
	const api = "/api/v1"
	accepted, ok, created, noContent := http.StatusAccepted, http.StatusOK, http.StatusCreated, http.StatusNoContent
	notFound, unauthorized := http.StatusNotFound, http.StatusUnauthorized

	// onSuit: expectations for objects of msa/suit by how the actor stands to them (as in the
	// board rows).
	onSuit := func(admin, aud, reader, outsider int) map[actor]int {
		return map[actor]int{anonymous: unauthorized, otherTenant: notFound,
			tenantAdmin: admin, wsAdmin: admin, parentAdmin: admin, auditor: aud,
			wsEditor: reader, wsViewer: reader, parentEditor: reader, parentViewer: reader,
			member: outsider, expired: outsider}
	}
	allOfA := func(s int) map[actor]int { return onSuit(s, s, s, s) }
	inRocket := func(s int) map[actor]int {
		m := onSuit(s, s, s, notFound)
		m[wsAdmin], m[wsEditor], m[wsViewer] = notFound, notFound, notFound
		return m
	}
	onlyOwner := allOfA(notFound) // somebody else's download: nobody but its owner, admins included

	createPath := func(t *testing.T, w *world, _ actor) string {
		dlQueueOf(w)
		return api + "/downloads"
	}
	boardBody := func(key string, s bdSpec) func(*testing.T, *world, actor) any {
		return func(t *testing.T, w *world, _ actor) any {
			k := bdKitOf(t, w)
			s.images = true
			b := k.cached("downloads "+key, func() any { return k.board(t, anonymous, s) }).(bdBoard)
			return map[string]any{"board_id": b.ID}
		}
	}
	imageBody := func(mine bool) func(*testing.T, *world, actor) any {
		return func(t *testing.T, w *world, who actor) any {
			k := bdKitOf(t, w)
			if !mine {
				who = anonymous
			}
			return map[string]any{"image_ids": []uuid.UUID{k.imageRow(t, "msa/suit", nil, who)}}
		}
	}
	// mixed: the actor's own image and one they may not read: all or nothing.
	mixed := func(t *testing.T, w *world, who actor) any {
		k := bdKitOf(t, w)
		priv := k.cached("downloads private", func() any { return k.board(t, anonymous, bdSpec{images: true}) }).(bdBoard)
		return map[string]any{"image_ids": []uuid.UUID{k.imageRow(t, "msa/suit", nil, who), priv.CreatorImage}}
	}
	own := func(tail string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			return api + "/downloads/" + dlReady(t, w, who).String() + tail
		}
	}
	// someoneElses: a ready download of the fixed board owner, the same for every cell.
	someoneElses := func(tail string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			k := bdKitOf(t, w)
			id := k.cached("downloads ready of the owner", func() any { return dlReady(t, w, anonymous) }).(uuid.UUID)
			return api + "/downloads/" + id.String() + tail
		}
	}
	link := func(tamper bool) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			k := bdKitOf(t, w)
			id := k.cached("downloads ready of the owner", func() any { return dlReady(t, w, anonymous) }).(uuid.UUID)
			p := k.cached("downloads link", func() any { return dlMint(t, w.env, k.owner.Token, id) }).(string)
			if tamper {
				b := []byte(p)
				i := len(b) - 5
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				p = string(b)
			}
			return p
		}
	}

	registerRows(
		matrixRow{route: "POST " + api + "/downloads", name: "own uncategorised image", path: createPath,
			body: imageBody(true), want: allOfA(accepted)},
		matrixRow{route: "POST " + api + "/downloads", name: "someone else's uncategorised image", path: createPath,
			body: imageBody(false), want: onSuit(accepted, accepted, notFound, notFound)},
		matrixRow{route: "POST " + api + "/downloads", name: "own image and an unreadable one", path: createPath,
			body: mixed, want: onSuit(accepted, accepted, notFound, notFound)},
		matrixRow{route: "POST " + api + "/downloads", name: "private board, not a member", path: createPath,
			body: boardBody("private", bdSpec{}), want: onSuit(accepted, accepted, notFound, notFound)},
		matrixRow{route: "POST " + api + "/downloads", name: "shared board", path: createPath,
			body: boardBody("shared", bdSpec{visibility: "shared"}), want: onSuit(accepted, accepted, accepted, notFound)},
		matrixRow{route: "POST " + api + "/downloads", name: "shared board of the sibling msa/rocket", path: createPath,
			body: boardBody("rocket", bdSpec{ws: "msa/rocket", visibility: "shared"}), want: inRocket(accepted)},

		matrixRow{route: "GET " + api + "/downloads", path: fixed(api + "/downloads"),
			want: map[actor]int{anonymous: unauthorized, otherTenant: ok, tenantAdmin: ok, wsAdmin: ok, parentAdmin: ok,
				auditor: ok, wsEditor: ok, wsViewer: ok, parentEditor: ok, parentViewer: ok, member: ok, expired: ok}},

		matrixRow{route: "GET " + api + "/downloads/:id", name: "own", path: own(""), want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/downloads/:id", name: "someone else's", path: someoneElses(""), want: onlyOwner},
		matrixRow{route: "GET " + api + "/downloads/:id/file", name: "own", path: own("/file"), want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/downloads/:id/file", name: "someone else's", path: someoneElses("/file"), want: onlyOwner},
		matrixRow{route: "POST " + api + "/downloads/:id/link", name: "own", path: own("/link"), want: allOfA(created)},
		matrixRow{route: "POST " + api + "/downloads/:id/link", name: "someone else's", path: someoneElses("/link"), want: onlyOwner},
		matrixRow{route: "DELETE " + api + "/downloads/:id", name: "own", path: own(""), want: allOfA(noContent)},
		matrixRow{route: "DELETE " + api + "/downloads/:id", name: "someone else's", path: someoneElses(""), want: onlyOwner},

		matrixRow{route: "GET " + api + "/download-links/:token", name: "a genuine link, whoever holds it", path: link(false),
			want: expect(ok, nil)},
		matrixRow{route: "GET " + api + "/download-links/:token", name: "a tampered link", path: link(true),
			want: expect(notFound, nil)},
	)
}
