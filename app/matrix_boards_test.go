package app_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// Rows for boards and images: SPEC §6's table row by row. The boards are made by a fixed board
// owner in msa/suit (app/boards_kit_test.go); the actor's board role — owner, editor, viewer — is
// given per cell, and each visibility (private, shared, public) and publication has rows. The
// actors then stand to a board of msa/suit as:
//
//   - admins: the tenant admin, the admin of msa/suit and the admin of its parent msa — everything
//     an owner may;
//   - the auditor: reads every board and image, changes nothing;
//   - readers: editors and viewers of msa/suit and of msa — "any workspace member" of the table;
//   - outsiders: member (no grant) and expired-grant — like anyone not in the workspace;
//   - the other tenant's admin: 404; anonymous: 401 (except on the public endpoint).
//
// A board of msa/rocket, the sibling of msa/suit, stands for "member of a sibling workspace": the
// msa/suit actors do not see it. Destructive rows make a fresh board per cell.
func init() {
	const api = "/api/v1"
	created, noContent := http.StatusCreated, http.StatusNoContent
	ok, forbidden, notFound, bad := http.StatusOK, http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest

	// onSuit: expectations for a board of msa/suit by how the actor stands to it.
	onSuit := func(admin, aud, reader, outsider int) map[actor]int {
		return map[actor]int{anonymous: http.StatusUnauthorized, otherTenant: notFound,
			tenantAdmin: admin, wsAdmin: admin, parentAdmin: admin, auditor: aud,
			wsEditor: reader, wsViewer: reader, parentEditor: reader, parentViewer: reader,
			member: outsider, expired: outsider}
	}
	// allOfA: every user of tenant A alike (the actor is a member of the board).
	allOfA := func(s int) map[actor]int { return onSuit(s, s, s, s) }
	with := func(m map[actor]int, except map[actor]int) map[actor]int {
		out := map[actor]int{}
		for a, s := range m {
			out[a] = s
		}
		for a, s := range except {
			out[a] = s
		}
		return out
	}
	// inRocket: a shared board of msa/rocket: readers of msa/rocket (tenant admin, msa's
	// roles, the auditor) get s; the roles of msa/suit, a sibling, see nothing.
	inRocket := func(s int) map[actor]int {
		return with(onSuit(s, s, s, notFound), map[actor]int{wsAdmin: notFound, wsEditor: notFound, wsViewer: notFound})
	}
	// publicOnly: the anonymous public endpoint answers everyone alike, tokens or not.
	publicOnly := func(s int) map[actor]int { return expect(s, nil) }

	private := bdSpec{}
	shared := bdSpec{visibility: "shared"}
	public := bdSpec{visibility: "public"}
	asOwner := bdSpec{role: "owner"}
	asEditor := bdSpec{role: "editor"}
	asViewer := bdSpec{role: "viewer"}
	rocket := bdSpec{ws: "msa/rocket", visibility: "shared"}
	imgs := func(s bdSpec) bdSpec { s.images = true; return s }
	files := func(s bdSpec) bdSpec { s.files = true; return s }

	// fresh makes a board per cell; tail turns it into the path.
	fresh := func(s bdSpec, tail func(k *bdKit, b bdBoard, who actor) string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			k := bdKitOf(t, w)
			return tail(k, k.board(t, who, s), who)
		}
	}
	// once makes one board for every cell of the row (the fixture must not depend on the actor,
	// and the row must change nothing).
	once := func(key string, s bdSpec, tail func(k *bdKit, b bdBoard, who actor) string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			k := bdKitOf(t, w)
			b := k.cached(key, func() any { return k.board(t, anonymous, s) }).(bdBoard)
			return tail(k, b, who)
		}
	}
	board := func(_ *bdKit, b bdBoard, _ actor) string { return api + "/boards/" + b.ID.String() }
	sub := func(p string) func(*bdKit, bdBoard, actor) string {
		return func(_ *bdKit, b bdBoard, _ actor) string { return api + "/boards/" + b.ID.String() + p }
	}
	member := func(user func(k *bdKit) uuid.UUID) func(*bdKit, bdBoard, actor) string {
		return func(k *bdKit, b bdBoard, _ actor) string {
			return api + "/boards/" + b.ID.String() + "/members/" + user(k).String()
		}
	}
	extraAs := func(s bdSpec, role string, tail func(*bdKit, bdBoard, actor) string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			k := bdKitOf(t, w)
			b := k.board(t, who, s)
			k.addMember(t, b.ID, k.extra.ID, role)
			return tail(k, b, who)
		}
	}
	extra := func(k *bdKit) uuid.UUID { return k.extra.ID }
	creator := func(k *bdKit) uuid.UUID { return k.owner.ID }
	image := func(pick func(b bdBoard) uuid.UUID, p string) func(*bdKit, bdBoard, actor) string {
		return func(_ *bdKit, b bdBoard, _ actor) string { return api + "/images/" + pick(b).String() + p }
	}
	creatorImage := func(b bdBoard) uuid.UUID { return b.CreatorImage }
	actorImage := func(b bdBoard) uuid.UUID { return b.ActorImage }
	// uncategorised: an image with no board, the actor's own (mine) or the board owner's.
	uncategorised := func(mine bool, p string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			k := bdKitOf(t, w)
			if !mine {
				who = anonymous
			}
			return api + "/images/" + k.uncategorised(t, who, p != "").String() + p
		}
	}
	uncategorisedOnce := func(p string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			k := bdKitOf(t, w)
			id := k.cached("uncategorised of the board owner", func() any { return k.uncategorised(t, anonymous, true) }).(uuid.UUID)
			return api + "/images/" + id.String() + p
		}
	}
	wsImages := func(query func(k *bdKit, t *testing.T, who actor) string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, who actor) string {
			return api + "/workspaces/msa~suit/images" + query(bdKitOf(t, w), t, who)
		}
	}
	boardQuery := func(key string, s bdSpec) func(k *bdKit, t *testing.T, who actor) string {
		return func(k *bdKit, t *testing.T, who actor) string {
			if s.role != "" {
				return "?board_id=" + k.board(t, who, s).ID.String()
			}
			return "?board_id=" + k.cached(key, func() any { return k.board(t, anonymous, s) }).(bdBoard).ID.String()
		}
	}
	// upload is a multipart body for POST …/images, onto the board made for the cell if any.
	var cellBoard = map[*world]map[actor]uuid.UUID{}
	uploadTo := func(s *bdSpec) (func(*testing.T, *world, actor) string, func(*testing.T, *world, actor) any) {
		path := func(t *testing.T, w *world, who actor) string {
			if s != nil {
				if cellBoard[w] == nil {
					cellBoard[w] = map[actor]uuid.UUID{}
				}
				cellBoard[w][who] = bdKitOf(t, w).board(t, who, *s).ID
			}
			return api + "/workspaces/msa~suit/images"
		}
		body := func(_ *testing.T, w *world, who actor) any {
			var id *uuid.UUID
			if s != nil {
				b := cellBoard[w][who]
				id = &b
			}
			return bdForm(id, "cell.png", bdPNG(4, 4))
		}
		return path, body
	}
	// ownImage is a body putting an uncategorised image of the actor onto the board.
	ownImage := func(t *testing.T, w *world, who actor) any {
		return map[string]any{"image_ids": []uuid.UUID{bdKitOf(t, w).uncategorised(t, who, false)}}
	}
	// boardAndImage puts on the actor's board an image of the fixed owner, uncategorised or from a
	// shared board: the escalation chain of InvokeAI.
	victim := map[*world]map[actor]uuid.UUID{}
	escalation := func(fromShared bool) (func(*testing.T, *world, actor) string, func(*testing.T, *world, actor) any) {
		path := func(t *testing.T, w *world, who actor) string {
			k := bdKitOf(t, w)
			var img uuid.UUID
			if fromShared {
				img = k.board(t, anonymous, imgs(shared)).CreatorImage
			} else {
				img = k.uncategorised(t, anonymous, false)
			}
			if victim[w] == nil {
				victim[w] = map[actor]uuid.UUID{}
			}
			victim[w][who] = img
			return api + "/boards/" + k.board(t, who, asOwner).ID.String() + "/images"
		}
		body := func(_ *testing.T, w *world, who actor) any {
			return map[string]any{"image_ids": []uuid.UUID{victim[w][who]}}
		}
		return path, body
	}
	publicFile := func(published bool, p string, otherBoard bool) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			k := bdKitOf(t, w)
			key := "public file"
			if !published {
				key = "unpublished file"
			}
			b := k.cached(key, func() any {
				return k.board(t, anonymous, bdSpec{visibility: "shared", published: published, files: true})
			}).(bdBoard)
			img := b.CreatorImage
			if otherBoard {
				img = k.cached("private with images", func() any { return k.board(t, anonymous, files(private)) }).(bdBoard).CreatorImage
			}
			return api + "/public/boards/" + b.ID.String() + "/images/" + img.String() + p
		}
	}
	rename := func(t *testing.T, w *world, _ actor) any { return map[string]any{"name": "renamed " + w.unique()} }
	jsonBody := func(v map[string]any) func(*testing.T, *world, actor) any {
		return func(*testing.T, *world, actor) any { return v }
	}
	toOwner := func(user func(k *bdKit, w *world, who actor) uuid.UUID) func(*testing.T, *world, actor) any {
		return func(t *testing.T, w *world, who actor) any {
			return map[string]any{"owner_id": user(bdKitOf(t, w), w, who)}
		}
	}
	addExtra := func(role string) func(*testing.T, *world, actor) any {
		return func(t *testing.T, w *world, _ actor) any {
			return map[string]any{"user_id": bdKitOf(t, w).extra.ID, "role": role}
		}
	}
	readToken := func(t *testing.T, w *world, who actor) string {
		if who == anonymous {
			return ""
		}
		return matrixMint(t, w, w.token(who), "read").secret
	}

	// A published board as anonymous readers see it (SPEC §6): its name, and never its members,
	// its owner or generation metadata; lacksEmail on the rows rules out every e-mail address.
	publicBoardHas := func(*testing.T, *world, actor) []string { return []string{`"name"`} }
	publicBoardLacks := func(t *testing.T, w *world, _ actor) []string {
		k := bdKitOf(t, w)
		return []string{k.owner.ID.String(), k.owner.Email, `"owner_id"`, `"user_id"`, `"members"`, `"metadata"`, `"my_role"`}
	}
	// noMembers: a board read by a workspace member who is not a board member shows no
	// membership (view members: ❌ for "any workspace member").
	noMembers := func(*testing.T, *world, actor) []string { return []string{`"members"`, `"user_id"`} }
	// membersHiddenFromReaders: the refusal to list members names none of them.
	membersHiddenFromReaders := func(t *testing.T, w *world, who actor) []string {
		switch who {
		case tenantAdmin, wsAdmin, parentAdmin, auditor:
			return nil
		}
		return []string{`"user_id"`, bdKitOf(t, w).owner.ID.String()}
	}

	registerRows(
		// Listing and creating boards in a workspace.
		matrixRow{route: "GET " + api + "/workspaces/:ws/boards", name: "msa/suit", path: fixed(api + "/workspaces/msa~suit/boards"),
			want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/boards", name: "msa/rocket (a sibling of msa/suit)",
			path: fixed(api + "/workspaces/msa~rocket/boards"), want: inRocket(ok)},
		matrixRow{route: "POST " + api + "/workspaces/:ws/boards", name: "in msa/suit", path: fixed(api + "/workspaces/msa~suit/boards"),
			body: rename,
			want: with(onSuit(created, forbidden, created, notFound), map[actor]int{wsViewer: forbidden, parentViewer: forbidden})},
		matrixRow{route: "POST " + api + "/workspaces/:ws/boards", name: "in msa/rocket", path: fixed(api + "/workspaces/msa~rocket/boards"),
			body: rename,
			want: with(inRocket(created), map[actor]int{auditor: forbidden, parentViewer: forbidden})},

		// Reading a board.
		matrixRow{route: "GET " + api + "/boards/:id", name: "private, not a member", path: once("private", private, board),
			want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/boards/:id", name: "shared, not a member", path: once("shared", shared, board),
			want: onSuit(ok, ok, ok, notFound), lacks: noMembers, lacksEmail: true},
		matrixRow{route: "GET " + api + "/boards/:id", name: "public, not a member", path: once("public", public, board),
			want: onSuit(ok, ok, ok, notFound), lacks: noMembers, lacksEmail: true},
		matrixRow{route: "GET " + api + "/boards/:id", name: "private and published (no read right for the signed-in)",
			path: once("private published", bdSpec{published: true}, board), want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/boards/:id", name: "private, the actor is its viewer", path: fresh(asViewer, board),
			want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/boards/:id", name: "private, the actor is its editor", path: fresh(asEditor, board),
			want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/boards/:id", name: "private, the actor owns it", path: fresh(asOwner, board),
			want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/boards/:id", name: "shared, in the sibling msa/rocket", path: once("rocket", rocket, board),
			want: inRocket(ok)},

		// Changing a board.
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "rename, private, not a member", path: once("private", private, board),
			body: rename, want: onSuit(ok, forbidden, notFound, notFound)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "rename, shared, not a member", path: once("shared", shared, board),
			body: rename, want: onSuit(ok, forbidden, forbidden, notFound)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "rename, the actor is its editor", path: fresh(asEditor, board),
			body: rename, want: allOfA(ok)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "rename, the actor is its viewer", path: fresh(asViewer, board),
			body: rename, want: onSuit(ok, forbidden, forbidden, forbidden)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "set visibility, the actor is its editor", path: fresh(asEditor, board),
			body: jsonBody(map[string]any{"visibility": "shared"}), want: onSuit(ok, forbidden, forbidden, forbidden)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "set visibility, the actor owns it", path: fresh(asOwner, board),
			body: jsonBody(map[string]any{"visibility": "public"}), want: allOfA(ok)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "publish, shared, not a member", path: fresh(shared, board),
			body: jsonBody(map[string]any{"published": true}), want: onSuit(ok, forbidden, forbidden, notFound)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "publish, the actor owns it", path: fresh(asOwner, board),
			body: jsonBody(map[string]any{"published": true}), want: allOfA(ok)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "transfer ownership back to its creator, the actor owns it",
			path: fresh(asOwner, board), body: toOwner(func(k *bdKit, _ *world, _ actor) uuid.UUID { return k.owner.ID }),
			want: allOfA(ok)},
		matrixRow{route: "PATCH " + api + "/boards/:id", name: "take ownership, the actor is its editor",
			path: fresh(asEditor, board), body: toOwner(func(_ *bdKit, w *world, who actor) uuid.UUID { return w.users[who].ID }),
			want: onSuit(ok, forbidden, forbidden, forbidden)},

		// Deleting a board.
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "the actor owns it", path: fresh(asOwner, board),
			want: allOfA(noContent)},
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "with its images, the actor owns it",
			path: fresh(imgs(asOwner), func(k *bdKit, b bdBoard, w actor) string { return board(k, b, w) + "?delete_images=true" }),
			want: allOfA(noContent)},
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "the actor is its editor", path: fresh(asEditor, board),
			want: onSuit(noContent, forbidden, forbidden, forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "shared, not a member", path: fresh(shared, board),
			want: onSuit(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "private, not a member", path: fresh(private, board),
			want: onSuit(noContent, forbidden, notFound, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id", name: "with the actor's read token, the actor owns it",
			path: fresh(asOwner, board), token: readToken, want: expect(forbidden, map[actor]int{anonymous: http.StatusUnauthorized})},

		// Moving a board to another workspace: admins of both ends. A destination the actor cannot
		// see is 404, whatever the board.
		matrixRow{route: "POST " + api + "/boards/:id/move", name: "to msa/suit/andromeda, the actor owns it",
			path: fresh(asOwner, sub("/move")), body: jsonBody(map[string]any{"workspace_id": "msa~suit~andromeda"}),
			want: onSuit(ok, forbidden, forbidden, notFound)},
		matrixRow{route: "POST " + api + "/boards/:id/move", name: "to msa/suit/andromeda, private, not a member",
			path: fresh(private, sub("/move")), body: jsonBody(map[string]any{"workspace_id": "msa~suit~andromeda"}),
			want: onSuit(ok, forbidden, notFound, notFound)},
		matrixRow{route: "POST " + api + "/boards/:id/move", name: "to the sibling msa/rocket, shared, not a member",
			path: fresh(shared, sub("/move")), body: jsonBody(map[string]any{"workspace_id": "msa~rocket"}),
			want: with(onSuit(ok, forbidden, forbidden, notFound), map[actor]int{wsAdmin: notFound, wsEditor: notFound, wsViewer: notFound})},
		matrixRow{route: "POST " + api + "/boards/:id/move", name: "to the default workspace, private, not a member",
			path: fresh(private, sub("/move")), body: jsonBody(map[string]any{"workspace_id": "default"}),
			want: with(onSuit(notFound, forbidden, notFound, notFound), map[actor]int{tenantAdmin: ok})},

		// Members.
		matrixRow{route: "GET " + api + "/boards/:id/members", name: "private, the actor is its viewer", path: fresh(asViewer, sub("/members")),
			want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/boards/:id/members", name: "shared, not a member", path: once("shared", shared, sub("/members")),
			want: onSuit(ok, ok, forbidden, notFound), lacks: membersHiddenFromReaders},
		matrixRow{route: "GET " + api + "/boards/:id/members", name: "private, not a member", path: once("private", private, sub("/members")),
			want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "POST " + api + "/boards/:id/members", name: "a viewer, the actor is its editor", path: fresh(asEditor, sub("/members")),
			body: addExtra("viewer"), want: allOfA(created)},
		matrixRow{route: "POST " + api + "/boards/:id/members", name: "an editor, the actor is its editor", path: fresh(asEditor, sub("/members")),
			body: addExtra("editor"), want: allOfA(created)},
		matrixRow{route: "POST " + api + "/boards/:id/members", name: "a second owner, the actor owns it", path: fresh(asOwner, sub("/members")),
			body: addExtra("owner"), want: expect(bad, map[actor]int{anonymous: http.StatusUnauthorized})},
		matrixRow{route: "POST " + api + "/boards/:id/members", name: "a viewer, the actor is its viewer", path: fresh(asViewer, sub("/members")),
			body: addExtra("viewer"), want: onSuit(created, forbidden, forbidden, forbidden)},
		matrixRow{route: "POST " + api + "/boards/:id/members", name: "a viewer, shared, not a member", path: fresh(shared, sub("/members")),
			body: addExtra("viewer"), want: onSuit(created, forbidden, forbidden, notFound)},
		matrixRow{route: "PATCH " + api + "/boards/:id/members/:user_id", name: "viewer to editor, the actor owns it",
			path: extraAs(asOwner, "viewer", member(extra)), body: jsonBody(map[string]any{"role": "editor"}), want: allOfA(ok)},
		matrixRow{route: "PATCH " + api + "/boards/:id/members/:user_id", name: "viewer to editor, the actor is its editor",
			path: extraAs(asEditor, "viewer", member(extra)), body: jsonBody(map[string]any{"role": "editor"}),
			want: onSuit(ok, forbidden, forbidden, forbidden)},
		// Who is a member is not for non-members to probe: 403 whether or not the user is one.
		matrixRow{route: "PATCH " + api + "/boards/:id/members/:user_id", name: "a user who is no member, shared, not a member",
			path: once("shared", shared, member(extra)), body: jsonBody(map[string]any{"role": "editor"}),
			want: onSuit(notFound, forbidden, forbidden, notFound)},
		matrixRow{route: "PATCH " + api + "/boards/:id/members/:user_id", name: "the owner (a transfer, not a role change), the actor is its editor",
			path: fresh(asEditor, member(creator)), body: jsonBody(map[string]any{"role": "viewer"}), want: allOfA(forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id/members/:user_id", name: "a viewer, the actor is its editor",
			path: extraAs(asEditor, "viewer", member(extra)), want: allOfA(noContent)},
		matrixRow{route: "DELETE " + api + "/boards/:id/members/:user_id", name: "an editor, the actor is its editor",
			path: extraAs(asEditor, "editor", member(extra)), want: onSuit(noContent, forbidden, forbidden, forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id/members/:user_id", name: "a viewer, shared, not a member",
			path: extraAs(shared, "viewer", member(extra)), want: onSuit(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id/members/:user_id", name: "the owner, the actor is its editor (never removed, only replaced)",
			path: fresh(asEditor, member(creator)), want: allOfA(forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id/members/:user_id", name: "a user who is no member, shared, not a member",
			path: once("shared", shared, member(extra)), want: onSuit(notFound, forbidden, forbidden, notFound)},

		// A board's images.
		matrixRow{route: "GET " + api + "/boards/:id/images", name: "private, not a member", path: once("private with images", files(private), sub("/images")),
			want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/boards/:id/images", name: "shared, not a member", path: once("shared with images", files(shared), sub("/images")),
			want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/boards/:id/images", name: "private, the actor is its viewer", path: fresh(asViewer, sub("/images")),
			want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/boards/:id/images", name: "shared, in the sibling msa/rocket", path: once("rocket", rocket, sub("/images")),
			want: inRocket(ok)},
		matrixRow{route: "POST " + api + "/boards/:id/images", name: "own image onto a public board, not a member",
			path: fresh(public, sub("/images")), body: ownImage, want: onSuit(noContent, forbidden, noContent, notFound)},
		matrixRow{route: "POST " + api + "/boards/:id/images", name: "own image onto a shared board, not a member",
			path: fresh(shared, sub("/images")), body: ownImage, want: onSuit(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "POST " + api + "/boards/:id/images", name: "own image, the actor is its editor",
			path: fresh(asEditor, sub("/images")), body: ownImage, want: allOfA(noContent)},
		matrixRow{route: "POST " + api + "/boards/:id/images", name: "own image, the actor is its viewer",
			path: fresh(asViewer, sub("/images")), body: ownImage, want: onSuit(noContent, forbidden, forbidden, forbidden)},
		func() matrixRow {
			p, b := escalation(false)
			return matrixRow{route: "POST " + api + "/boards/:id/images", name: "another user's uncategorised image onto the actor's own board",
				path: p, body: b, want: onSuit(noContent, forbidden, notFound, notFound)}
		}(),
		func() matrixRow {
			p, b := escalation(true)
			return matrixRow{route: "POST " + api + "/boards/:id/images", name: "another user's image of a shared board onto the actor's own board",
				path: p, body: b, want: onSuit(noContent, forbidden, forbidden, notFound)}
		}(),
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "the creator's image, shared, not a member",
			path: fresh(imgs(shared), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.CreatorImage.String())(k, b, w) }),
			want: onSuit(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "own image, shared, not a member",
			path: fresh(imgs(shared), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.ActorImage.String())(k, b, w) }),
			want: onSuit(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "own image, public, not a member",
			path: fresh(imgs(public), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.ActorImage.String())(k, b, w) }),
			want: onSuit(noContent, forbidden, noContent, notFound)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "the owner's image, the actor is its editor",
			path: fresh(imgs(asEditor), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.CreatorImage.String())(k, b, w) }),
			want: onSuit(noContent, forbidden, forbidden, forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "own image, the actor is its editor",
			path: fresh(imgs(asEditor), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.ActorImage.String())(k, b, w) }),
			want: allOfA(noContent)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "own image, the actor is its viewer",
			path: fresh(imgs(asViewer), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.ActorImage.String())(k, b, w) }),
			want: onSuit(noContent, forbidden, forbidden, forbidden)},
		matrixRow{route: "DELETE " + api + "/boards/:id/images/:image_id", name: "another member's image, the actor owns the board",
			path: fresh(imgs(asOwner), func(k *bdKit, b bdBoard, w actor) string { return sub("/images/"+b.CreatorImage.String())(k, b, w) }),
			want: allOfA(noContent)},

		// The anonymous public endpoint: published boards only, whoever asks.
		matrixRow{route: "GET " + api + "/public/boards/:id", name: "published",
			path: once("published", bdSpec{visibility: "shared", published: true, files: true}, func(_ *bdKit, b bdBoard, _ actor) string {
				return api + "/public/boards/" + b.ID.String()
			}), want: publicOnly(ok), has: publicBoardHas, lacks: publicBoardLacks, lacksEmail: true},
		matrixRow{route: "GET " + api + "/public/boards/:id", name: "private and published",
			path: once("private published", bdSpec{published: true}, func(_ *bdKit, b bdBoard, _ actor) string {
				return api + "/public/boards/" + b.ID.String()
			}), want: publicOnly(ok), has: publicBoardHas, lacks: publicBoardLacks, lacksEmail: true},
		matrixRow{route: "GET " + api + "/public/boards/:id", name: "public but not published",
			path: once("public", public, func(_ *bdKit, b bdBoard, _ actor) string { return api + "/public/boards/" + b.ID.String() }),
			want: publicOnly(notFound)},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/file", name: "published",
			path: publicFile(true, "/file", false), want: publicOnly(ok), lacksEmail: true},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/file", name: "not published",
			path: publicFile(false, "/file", false), want: publicOnly(notFound)},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/file", name: "published, an image of another board",
			path: publicFile(true, "/file", true), want: publicOnly(notFound)},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/thumbnail", name: "published",
			path: publicFile(true, "/thumbnail", false), want: publicOnly(ok)},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/thumbnail", name: "not published",
			path: publicFile(false, "/thumbnail", false), want: publicOnly(notFound)},
		matrixRow{route: "GET " + api + "/public/boards/:id/images/:image_id/thumbnail", name: "published, an image of another board",
			path: publicFile(true, "/thumbnail", true), want: publicOnly(notFound)},

		// A workspace's images.
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "msa/suit",
			path: wsImages(func(*bdKit, *testing.T, actor) string { return "" }), want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "?board_id=none",
			path: wsImages(func(*bdKit, *testing.T, actor) string { return "?board_id=none" }), want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "?board_id= a private board, not a member",
			path: wsImages(boardQuery("private with images", files(private))), want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "?board_id= a shared board, not a member",
			path: wsImages(boardQuery("shared with images", files(shared))), want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "?board_id= a private board, the actor is its viewer",
			path: wsImages(boardQuery("", asViewer)), want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/workspaces/:ws/images", name: "?board_id= a board of msa/rocket",
			path: wsImages(boardQuery("rocket", rocket)), want: onSuit(notFound, notFound, notFound, notFound)},
		func() matrixRow {
			p, b := uploadTo(nil)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "uncategorised", path: p, body: b,
				want: with(onSuit(created, forbidden, created, notFound), map[actor]int{wsViewer: forbidden, parentViewer: forbidden})}
		}(),
		func() matrixRow {
			p, b := uploadTo(nil)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "uncategorised, with the actor's read token",
				path: p, body: b, token: readToken, want: expect(forbidden, map[actor]int{anonymous: http.StatusUnauthorized})}
		}(),
		func() matrixRow {
			p, b := uploadTo(&public)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "into a public board, not a member", path: p, body: b,
				want: onSuit(created, forbidden, created, notFound)}
		}(),
		func() matrixRow {
			p, b := uploadTo(&shared)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "into a shared board, not a member", path: p, body: b,
				want: onSuit(created, forbidden, forbidden, notFound)}
		}(),
		func() matrixRow {
			p, b := uploadTo(&asEditor)
			// The board's add rights decide, not a role on msa/suit: outsiders who are the board's
			// editors upload into it too (issue 14).
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "into a private board, the actor is its editor", path: p, body: b,
				want: onSuit(created, created, created, created)}
		}(),
		func() matrixRow {
			p, b := uploadTo(&asViewer)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "into a private board, the actor is its viewer", path: p, body: b,
				want: onSuit(created, forbidden, forbidden, forbidden)}
		}(),
		func() matrixRow {
			p, b := uploadTo(&rocket)
			return matrixRow{route: "POST " + api + "/workspaces/:ws/images", name: "into a board of another workspace (msa/rocket)", path: p, body: b,
				want: onSuit(bad, bad, bad, notFound)}
		}(),

		// One image.
		matrixRow{route: "GET " + api + "/images/:id", name: "on a private board, not a member",
			path: once("private with images", files(private), image(creatorImage, "")), want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/images/:id", name: "on a shared board, not a member",
			path: once("shared with images", files(shared), image(creatorImage, "")), want: onSuit(ok, ok, ok, notFound)},
		matrixRow{route: "GET " + api + "/images/:id", name: "on a private board, the actor is its viewer",
			path: fresh(imgs(asViewer), image(creatorImage, "")), want: allOfA(ok)},
		matrixRow{route: "GET " + api + "/images/:id", name: "on a shared board of the sibling msa/rocket",
			path: once("rocket with images", files(rocket), image(creatorImage, "")), want: inRocket(ok)},
		matrixRow{route: "GET " + api + "/images/:id", name: "uncategorised, another user's",
			path: uncategorisedOnce(""), want: onSuit(ok, ok, notFound, notFound)},
		matrixRow{route: "GET " + api + "/images/:id", name: "uncategorised, the actor's own",
			path: uncategorised(true, ""), want: allOfA(ok)},
	)
	// The file and the thumbnail answer exactly like the metadata.
	for _, p := range []string{"/file", "/thumbnail"} {
		registerRows(
			matrixRow{route: "GET " + api + "/images/:id" + p, name: "on a private board, not a member",
				path: once("private with images", files(private), image(creatorImage, p)), want: onSuit(ok, ok, notFound, notFound)},
			matrixRow{route: "GET " + api + "/images/:id" + p, name: "on a shared board, not a member",
				path: once("shared with images", files(shared), image(creatorImage, p)), want: onSuit(ok, ok, ok, notFound)},
			matrixRow{route: "GET " + api + "/images/:id" + p, name: "on a shared board of the sibling msa/rocket",
				path: once("rocket with images", files(rocket), image(creatorImage, p)), want: inRocket(ok)},
			matrixRow{route: "GET " + api + "/images/:id" + p, name: "uncategorised, another user's",
				path: uncategorisedOnce(p), want: onSuit(ok, ok, notFound, notFound)},
			matrixRow{route: "GET " + api + "/images/:id" + p, name: "uncategorised, the actor's own",
				path: uncategorised(true, p), want: allOfA(ok)},
		)
	}
	// Changing and deleting an image: the table's "update / delete an image" row.
	for _, c := range []struct {
		method string
		status int
		body   func(*testing.T, *world, actor) any
	}{
		{"PATCH", ok, jsonBody(map[string]any{"starred": true})},
		{"DELETE", noContent, nil},
	} {
		s := c.status
		route := c.method + " " + api + "/images/:id"
		registerRows(
			matrixRow{route: route, name: "uncategorised, the actor's own", path: uncategorised(true, ""), body: c.body, want: allOfA(s)},
			matrixRow{route: route, name: "uncategorised, another user's", path: uncategorised(false, ""), body: c.body,
				want: onSuit(s, forbidden, notFound, notFound)},
			matrixRow{route: route, name: "the creator's, shared, not a member", path: fresh(imgs(shared), image(creatorImage, "")), body: c.body,
				want: onSuit(s, forbidden, forbidden, notFound)},
			matrixRow{route: route, name: "own, shared, not a member (shared is read-only)", path: fresh(imgs(shared), image(actorImage, "")), body: c.body,
				want: onSuit(s, forbidden, forbidden, notFound)},
			matrixRow{route: route, name: "own, public, not a member", path: fresh(imgs(public), image(actorImage, "")), body: c.body,
				want: onSuit(s, forbidden, s, notFound)},
			matrixRow{route: route, name: "the creator's, public, not a member", path: fresh(imgs(public), image(creatorImage, "")), body: c.body,
				want: onSuit(s, forbidden, forbidden, notFound)},
			matrixRow{route: route, name: "own, the actor is its editor", path: fresh(imgs(asEditor), image(actorImage, "")), body: c.body,
				want: allOfA(s)},
			matrixRow{route: route, name: "the owner's, the actor is its editor", path: fresh(imgs(asEditor), image(creatorImage, "")), body: c.body,
				want: onSuit(s, forbidden, forbidden, forbidden)},
			matrixRow{route: route, name: "own, the actor is its viewer", path: fresh(imgs(asViewer), image(actorImage, "")), body: c.body,
				want: onSuit(s, forbidden, forbidden, forbidden)},
			matrixRow{route: route, name: "another member's, the actor owns the board", path: fresh(imgs(asOwner), image(creatorImage, "")), body: c.body,
				want: allOfA(s)},
		)
	}
}
