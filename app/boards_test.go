package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/tenancy"
)

// HTTP tests of boards and images (SPEC §6): the holes InvokeAI's shared boards shipped with
// (../shared/seeds/invokeai-shared-boards-and-workflows-pr.txt), each as a named regression, and
// the behaviour the authorization matrix cannot see: contents of answers, files, transactions.

// ---- regressions from InvokeAI's shared boards ----

// InvokeAI 8182c08: GET /images?board_id=… passed the board id to SQL without checking that the
// caller could read the board, so anyone who knew a private board's id listed its images.
func TestBoards_regression_privateBoardImagesNotListedThroughTheBoardFilter(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Private"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(5, 5), nil))
	notFound := env.Do(http.MethodGet, "/api/v1/images/"+uuid.NewString(), w.token(wsEditor), nil)

	for _, who := range []actor{wsEditor, wsViewer, parentEditor} {
		r := env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images?board_id="+b.String(), w.token(who), nil)
		btErr(t, r, http.StatusNotFound, "not_found", "")
		// Naming the parent workspace instead does not open it either.
		r = env.Do(http.MethodGet, "/api/v1/workspaces/msa/images?board_id="+b.String(), w.token(who), nil)
		btErr(t, r, http.StatusNotFound, "not_found", "")
		btErr(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String()+"/images", w.token(who), nil), http.StatusNotFound, "not_found", "")
		if ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images", w.token(who), nil), http.StatusOK)); slices.Contains(ids, img) {
			t.Errorf("%s: the unfiltered list shows an image of a private board", who)
		}
		// The image itself answers exactly like one that does not exist.
		r = env.Do(http.MethodGet, "/api/v1/images/"+img.String(), w.token(who), nil)
		if r.Status != notFound.Status || !bytes.Equal(r.Body, notFound.Body) {
			t.Errorf("%s: GET image of a private board: %d %s, want the answer for no image: %d %s", who, r.Status, r.Body, notFound.Status, notFound.Body)
		}
	}
	// Control: once shared, the same filter lists it to workspace members.
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"visibility": "shared"}), http.StatusOK)
	ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images?board_id="+b.String(), w.token(wsViewer), nil), http.StatusOK))
	if !slices.Equal(ids, []uuid.UUID{img}) {
		t.Errorf("shared board through the filter: %v, want [%s]", ids, img)
	}
}

// InvokeAI 58cb8aa: GET /boards/none/image_names listed every user's uncategorised images.
func TestImages_regression_uncategorisedListsOnlyTheCallersOwn(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	mine := btImageID(t, btUpload(t, env, w.token(wsEditor), "msa/suit", nil, bdPNG(3, 3), nil))
	theirs := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(4, 4), nil))

	none := func(token string) []uuid.UUID {
		return btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images?board_id=none", token, nil), http.StatusOK))
	}
	if got := none(w.token(wsEditor)); !slices.Equal(got, []uuid.UUID{mine}) {
		t.Errorf("editor's uncategorised: %v, want only [%s]", got, mine)
	}
	if got := none(k.owner.Token); !slices.Equal(got, []uuid.UUID{theirs}) {
		t.Errorf("owner's uncategorised: %v, want only [%s]", got, theirs)
	}
	// Admins and auditors may open another's uncategorised image, but "uncategorised" lists only
	// the caller's own, whoever calls.
	for _, who := range []actor{tenantAdmin, wsAdmin, auditor, wsViewer} {
		if got := none(w.token(who)); len(got) != 0 {
			t.Errorf("%s's uncategorised: %v, want none", who, got)
		}
		if ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images", w.token(who), nil), http.StatusOK)); slices.Contains(ids, mine) || slices.Contains(ids, theirs) {
			t.Errorf("%s: the unfiltered list shows other users' uncategorised images: %v", who, ids)
		}
	}
	// There is no board called none to list through.
	btErr(t, env.Do(http.MethodGet, "/api/v1/boards/none/images", w.token(wsEditor), nil), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+theirs.String(), w.token(wsEditor), nil), http.StatusNotFound, "not_found", "")
}

// InvokeAI review of #9018: "shared = read-only" was UI gating only; DELETE /images/… and
// POST /board_images/ still deleted and moved images of another user's shared board.
func TestBoards_regression_sharedBoardImagesCannotBeDeletedOrMovedByNonOwners(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	shared := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &shared, bdPNG(6, 6), nil))
	// A board member with the viewer role, and a workspace editor with a board of their own.
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+shared.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[wsViewer].ID, "role": "viewer"}), http.StatusCreated)
	own := btBoard(t, env, w.token(wsEditor), "msa/suit", map[string]any{"name": "Mine"})

	for _, who := range []actor{wsEditor, wsViewer, parentEditor} {
		tok := w.token(who)
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), tok, nil), http.StatusOK) // they read it
		btErr(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), tok, nil), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodPatch, "/api/v1/images/"+img.String(), tok, map[string]any{"name": "mine now"}), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+shared.String()+"/images/"+img.String(), tok, nil), http.StatusForbidden, "forbidden", "")
	}
	// Nor moved onto a board of one's own.
	r := env.Do(http.MethodPost, "/api/v1/boards/"+own.String()+"/images", w.token(wsEditor), map[string]any{"image_ids": []uuid.UUID{img}})
	btErr(t, r, http.StatusForbidden, "forbidden", "")
	var v btImage
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusOK).JSON(t, &v)
	if v.BoardID == nil || *v.BoardID != shared || v.Name != "fixture.png" {
		t.Errorf("after the refused attempts the image is %+v, want unchanged on the shared board", v)
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String()+"/file", k.owner.Token, nil), http.StatusOK)
	// The board's owner deletes it: the row and both files.
	files := btFiles(t, env)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusNoContent)
	btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String()+"/file", k.owner.Token, nil), http.StatusNotFound, "not_found", "")
	if got := btFiles(t, env); got != files-btFilesPerImage {
		t.Errorf("files after deleting an image: %d, want %d", got, files-btFilesPerImage)
	}
}

// InvokeAI 345d039: adding a victim's image to one's own board only checked the destination;
// the board owner then deleted or patched the image through the board-ownership fallback.
func TestBoards_regression_addingAVictimsImageToOwnBoardConfersNoRights(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	victimShared := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Victim", "visibility": "shared"})
	onShared := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &victimShared, bdPNG(6, 6), nil))
	uncategorised := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(7, 7), nil))
	attacker := w.token(wsEditor)
	trap := btBoard(t, env, attacker, "msa/suit", map[string]any{"name": "Trap", "visibility": "public"})
	mine := btImageID(t, btUpload(t, env, attacker, "msa/suit", nil, bdPNG(2, 2), nil))

	add := func(ids ...uuid.UUID) apptest.Response {
		return env.Do(http.MethodPost, "/api/v1/boards/"+trap.String()+"/images", attacker, map[string]any{"image_ids": ids})
	}
	btErr(t, add(onShared), http.StatusForbidden, "forbidden", "")
	btErr(t, add(uncategorised), http.StatusNotFound, "not_found", "")
	// All or nothing: the attacker's own image in the same call does not move either.
	btErr(t, add(mine, onShared), http.StatusForbidden, "forbidden", "")
	var v btImage
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+mine.String(), attacker, nil), http.StatusOK).JSON(t, &v)
	if v.BoardID != nil {
		t.Errorf("a refused batch moved the attacker's own image to %v", v.BoardID)
	}
	for _, id := range []uuid.UUID{onShared, uncategorised} {
		if r := env.Do(http.MethodDelete, "/api/v1/images/"+id.String(), attacker, nil); r.Status == http.StatusNoContent {
			t.Fatalf("the attacker deleted the victim's image %s", id)
		}
		if r := env.Do(http.MethodPatch, "/api/v1/images/"+id.String(), attacker, map[string]any{"starred": true}); r.Status == http.StatusOK {
			t.Fatalf("the attacker patched the victim's image %s", id)
		}
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+onShared.String(), k.owner.Token, nil), http.StatusOK).JSON(t, &v)
	if v.BoardID == nil || *v.BoardID != victimShared || v.Starred {
		t.Errorf("the victim's image is now %+v, want it untouched on the victim's board", v)
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+uncategorised.String(), k.owner.Token, nil), http.StatusOK)
	// Their own image they may put on their board.
	btMust(t, add(mine), http.StatusNoContent)

	// Board ownership is no image ownership even where the owner may take the image off: the
	// victim, an editor of the attacker's board, put their own image there; the attacker may
	// delete it there (the table's "owner: any"), but not carry it to another board of theirs.
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+trap.String()+"/members", attacker,
		map[string]any{"user_id": k.owner.ID, "role": "editor"}), http.StatusCreated)
	lent := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &trap, bdPNG(5, 3), nil))
	second := btBoard(t, env, attacker, "msa/suit", map[string]any{"name": "Second"})
	btErr(t, env.Do(http.MethodPost, "/api/v1/boards/"+second.String()+"/images", attacker, map[string]any{"image_ids": []uuid.UUID{lent}}),
		http.StatusForbidden, "forbidden", "")
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+lent.String(), k.owner.Token, nil), http.StatusOK).JSON(t, &v)
	if v.BoardID == nil || *v.BoardID != trap {
		t.Errorf("the lent image is on %v, want it still on the board it was put on", v.BoardID)
	}
	// An admin may place any image.
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+second.String()+"/images", w.token(wsAdmin), map[string]any{"image_ids": []uuid.UUID{lent}}),
		http.StatusNoContent)
}

// InvokeAI's thumbnail endpoints had no ownership check while the metadata endpoint did. Every path
// to an image answers an unreadable one exactly as a missing one.
func TestImages_regression_fileAndThumbnailOfAnUnreadableImageAre404(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	private := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Private"})
	onPrivate := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &private, bdPNG(9, 9), nil))
	uncategorised := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(9, 8), nil))
	for _, suffix := range []string{"", "/file", "/thumbnail"} {
		for _, who := range []actor{wsEditor, wsViewer, parentViewer, member, otherTenant} {
			missing := env.Do(http.MethodGet, "/api/v1/images/"+uuid.NewString()+suffix, w.token(who), nil)
			for _, id := range []uuid.UUID{onPrivate, uncategorised} {
				r := env.Do(http.MethodGet, "/api/v1/images/"+id.String()+suffix, w.token(who), nil)
				if r.Status != http.StatusNotFound || !bytes.Equal(r.Body, missing.Body) {
					t.Errorf("%s GET image%s %s: %d %s, want exactly %d %s", who, suffix, id, r.Status, r.Body, missing.Status, missing.Body)
				}
			}
		}
		// The owner gets them, so the 404s above are about rights.
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+onPrivate.String()+suffix, k.owner.Token, nil), http.StatusOK)
	}
	// Nor through the public endpoint while the board is not published.
	btErr(t, env.Do(http.MethodGet, "/api/v1/public/boards/"+private.String()+"/images/"+onPrivate.String()+"/thumbnail", "", nil),
		http.StatusNotFound, "not_found", "")
}

// InvokeAI c19f040: public boards are writable by every member, uploads included; shared boards
// are read-only to non-members.
func TestBoards_regression_uploadIntoPublicBoardByAMemberAllowedIntoSharedRefused(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	public := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Public", "visibility": "public"})
	shared := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})

	for _, who := range []actor{wsEditor, wsViewer, parentViewer} {
		var v btImage
		btMust(t, btUpload(t, env, w.token(who), "msa/suit", &public, bdPNG(3, 2), nil), http.StatusCreated).JSON(t, &v)
		if v.BoardID == nil || *v.BoardID != public || v.OwnerID != w.users[who].ID {
			t.Errorf("%s's upload into the public board: %+v", who, v)
		}
	}
	before := btFiles(t, env)
	for _, who := range []actor{wsEditor, wsViewer, parentEditor, auditor} {
		btErr(t, btUpload(t, env, w.token(who), "msa/suit", &shared, bdPNG(3, 2), nil), http.StatusForbidden, "forbidden", "")
	}
	// The auditor reads everything and writes nothing, public boards included.
	btErr(t, btUpload(t, env, w.token(auditor), "msa/suit", &public, bdPNG(3, 2), nil), http.StatusForbidden, "forbidden", "")
	if after := btFiles(t, env); after != before {
		t.Errorf("refused uploads left files behind: %d files, want %d", after, before)
	}
	if n := len(btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+shared.String()+"/images", k.owner.Token, nil), http.StatusOK))); n != 0 {
		t.Errorf("the shared board holds %d images after refused uploads", n)
	}
	if n := len(btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+public.String()+"/images", k.owner.Token, nil), http.StatusOK))); n != 3 {
		t.Errorf("the public board holds %d images, want the 3 members' uploads", n)
	}
}

// InvokeAI 58cb8aa: on a public board members change their own images, never others'; the
// board's owner changes any.
func TestBoards_regression_publicBoardMembersChangeOnlyTheirOwnImages(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	public := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Public", "visibility": "public"})
	editors := btImageID(t, btUpload(t, env, w.token(wsEditor), "msa/suit", &public, bdPNG(3, 3), nil))
	viewers := btImageID(t, btUpload(t, env, w.token(wsViewer), "msa/suit", &public, bdPNG(3, 4), nil))

	btErr(t, env.Do(http.MethodDelete, "/api/v1/images/"+editors.String(), w.token(wsViewer), nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodPatch, "/api/v1/images/"+editors.String(), w.token(wsViewer), map[string]any{"starred": true}), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+public.String()+"/images/"+editors.String(), w.token(wsViewer), nil), http.StatusForbidden, "forbidden", "")
	btMust(t, env.Do(http.MethodPatch, "/api/v1/images/"+viewers.String(), w.token(wsViewer), map[string]any{"starred": true}), http.StatusOK)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+public.String()+"/images/"+viewers.String(), w.token(wsViewer), nil), http.StatusNoContent)
	// Taken off the board, it is the viewer's uncategorised image.
	ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images?board_id=none", w.token(wsViewer), nil), http.StatusOK))
	if !slices.Equal(ids, []uuid.UUID{viewers}) {
		t.Errorf("the viewer's uncategorised images: %v, want [%s]", ids, viewers)
	}
	btMust(t, env.Do(http.MethodDelete, "/api/v1/images/"+editors.String(), k.owner.Token, nil), http.StatusNoContent)
}

// Who is a member of a board is for members (and admins, auditors) to see; a non-member cannot
// learn it by changing or removing a user and telling 404 from 403.
func TestBoards_membershipCannotBeProbedByNonMembers(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	shared := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+shared.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[parentViewer].ID, "role": "viewer"}), http.StatusCreated)
	prober := w.token(wsEditor)
	for _, target := range []uuid.UUID{w.users[parentViewer].ID, k.extra.ID, k.owner.ID} {
		path := "/api/v1/boards/" + shared.String() + "/members/" + target.String()
		patch := env.Do(http.MethodPatch, path, prober, map[string]any{"role": "editor"})
		del := env.Do(http.MethodDelete, path, prober, nil)
		if patch.Status != http.StatusForbidden || del.Status != http.StatusForbidden {
			t.Errorf("non-member changing/removing %s: %d/%d, want 403/403 whether or not they are a member", target, patch.Status, del.Status)
		}
	}
	btErr(t, env.Do(http.MethodGet, "/api/v1/boards/"+shared.String()+"/members", prober, nil), http.StatusForbidden, "forbidden", "")
	var members btMembers
	btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+shared.String()+"/members", w.token(auditor), nil), http.StatusOK).JSON(t, &members)
	if len(members.Items) != 2 {
		t.Errorf("the auditor sees %d members, want 2", len(members.Items))
	}
}

// ---- deleting, transferring, members ----

// Deleting a board leaves its images to their owners, uncategorised.
func TestBoards_deleteKeepsImagesAsTheirOwnersUncategorised(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Doomed"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+b.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[wsEditor].ID, "role": "editor"}), http.StatusCreated)
	owners := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), nil))
	editors := btImageID(t, btUpload(t, env, w.token(wsEditor), "msa/suit", &b, bdPNG(5, 4), nil))
	files := btFiles(t, env)

	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), w.token(wsEditor), nil), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"?delete_images=maybe", k.owner.Token, nil), http.StatusBadRequest, "invalid", "delete_images")
	btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String(), k.owner.Token, nil), http.StatusNoContent)
	btErr(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String(), k.owner.Token, nil), http.StatusNotFound, "not_found", "")

	for _, c := range []struct {
		token string
		img   uuid.UUID
	}{{k.owner.Token, owners}, {w.token(wsEditor), editors}} {
		var v btImage
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+c.img.String(), c.token, nil), http.StatusOK).JSON(t, &v)
		if v.BoardID != nil {
			t.Errorf("image %s still names board %s", c.img, v.BoardID)
		}
		ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/images?board_id=none", c.token, nil), http.StatusOK))
		if !slices.Equal(ids, []uuid.UUID{c.img}) {
			t.Errorf("uncategorised of the image's owner: %v, want [%s]", ids, c.img)
		}
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+c.img.String()+"/file", c.token, nil), http.StatusOK)
	}
	// The editor's image is the editor's alone now: the former board owner no longer reads it.
	btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+editors.String(), k.owner.Token, nil), http.StatusNotFound, "not_found", "")
	if got := btFiles(t, env); got != files {
		t.Errorf("files: %d, want %d kept", got, files)
	}
}

// With ?delete_images=true the images go with the board: rows and files.
func TestBoards_deleteWithImagesRemovesRowsAndFiles(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	empty := btFiles(t, env)
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Doomed"})
	var ids []uuid.UUID
	for i := 0; i < 3; i++ {
		ids = append(ids, btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4+i, 4), nil)))
	}
	kept := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(4, 4), nil))
	btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"?delete_images=true", k.owner.Token, nil), http.StatusNoContent)
	for _, id := range ids {
		btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+id.String(), w.token(tenantAdmin), nil), http.StatusNotFound, "not_found", "")
	}
	if n := bdCount(t, env, w.a.ID, "SELECT count(*) FROM images WHERE id IN ?", ids); n != 0 {
		t.Errorf("%d image rows left", n)
	}
	btRemoveFiles(t, env, w.a.ID) // the files go in a job, off the request path
	if got := btFiles(t, env); got != empty+btFilesPerImage {
		t.Errorf("files: %d, want %d (only the uncategorised image's files)", got, empty+btFilesPerImage)
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+kept.String()+"/file", k.owner.Token, nil), http.StatusOK)
}

// A board delete is one transaction: when removing the board fails, its images are neither
// detached nor deleted, and their files stay.
func TestBoards_deleteIsOneTransaction(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Stubborn"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), nil))
	files := btFiles(t, env)
	// A trigger makes deleting this board fail after the images were handled in the same
	// transaction.
	db, err := sql.Open("pgx", env.Cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExecSQL(t, db, `CREATE FUNCTION refuse_board_delete() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'board delete refused for the test'; END $$`)
	mustExecSQL(t, db, fmt.Sprintf(`CREATE TRIGGER refuse_board_delete BEFORE DELETE ON boards FOR EACH ROW
		WHEN (OLD.id = '%s') EXECUTE FUNCTION refuse_board_delete()`, b))

	for _, q := range []string{"", "?delete_images=true"} {
		r := env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+q, k.owner.Token, nil)
		if r.Status != http.StatusInternalServerError || strings.Contains(string(r.Body), "refused for the test") {
			t.Fatalf("DELETE board%s with the trigger: %d %s, want a bare 500", q, r.Status, r.Body)
		}
		var v btImage
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusOK).JSON(t, &v)
		if v.BoardID == nil || *v.BoardID != b {
			t.Errorf("after a failed delete%s the image names board %v, want %s", q, v.BoardID, b)
		}
		if got := btFiles(t, env); got != files {
			t.Errorf("after a failed delete%s: %d files, want %d", q, got, files)
		}
	}
	mustExecSQL(t, db, `DROP TRIGGER refuse_board_delete ON boards`)
	btMust(t, env.Do(http.MethodDelete, "/api/v1/boards/"+b.String()+"?delete_images=true", k.owner.Token, nil), http.StatusNoContent)
}

func TestBoards_transferOwnership(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Heirloom"})
	path := "/api/v1/boards/" + b.String()
	btMust(t, env.Do(http.MethodPost, path+"/members", k.owner.Token, map[string]any{"user_id": w.users[wsEditor].ID, "role": "editor"}), http.StatusCreated)

	// Only to a member; only by the owner (or an admin).
	btErr(t, env.Do(http.MethodPatch, path, k.owner.Token, map[string]any{"owner_id": w.users[wsViewer].ID}), http.StatusBadRequest, "invalid", "owner_id")
	btErr(t, env.Do(http.MethodPatch, path, w.token(wsEditor), map[string]any{"owner_id": w.users[wsEditor].ID}), http.StatusForbidden, "forbidden", "")

	var v btBoardView
	btMust(t, env.Do(http.MethodPatch, path, k.owner.Token, map[string]any{"owner_id": w.users[wsEditor].ID}), http.StatusOK).JSON(t, &v)
	if v.OwnerID != w.users[wsEditor].ID || v.MyRole != "editor" {
		t.Errorf("after the transfer: owner %s, the old owner's role %q; want %s and editor", v.OwnerID, v.MyRole, w.users[wsEditor].ID)
	}
	var members btMembers
	btMust(t, env.Do(http.MethodGet, path+"/members", k.owner.Token, nil), http.StatusOK).JSON(t, &members)
	roles := map[uuid.UUID]string{}
	for _, m := range members.Items {
		roles[m.UserID] = m.Role
	}
	if len(roles) != 2 || roles[w.users[wsEditor].ID] != "owner" || roles[k.owner.ID] != "editor" {
		t.Errorf("members after the transfer: %v", roles)
	}
	// The old owner lost the owner's rights, the new one has them.
	btErr(t, env.Do(http.MethodPatch, path, k.owner.Token, map[string]any{"visibility": "shared"}), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodDelete, path, k.owner.Token, nil), http.StatusForbidden, "forbidden", "")
	btMust(t, env.Do(http.MethodPatch, path, k.owner.Token, map[string]any{"name": "Editors still rename"}), http.StatusOK)
	btMust(t, env.Do(http.MethodPatch, path, w.token(wsEditor), map[string]any{"visibility": "shared", "published": true}), http.StatusOK)
	// An admin may hand it back.
	btMust(t, env.Do(http.MethodPatch, path, w.token(wsAdmin), map[string]any{"owner_id": k.owner.ID}), http.StatusOK).JSON(t, &v)
	if v.OwnerID != k.owner.ID {
		t.Errorf("after the admin's transfer the owner is %s", v.OwnerID)
	}
}

func TestBoards_ownerCannotBeRemovedOnlyReplaced(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Held"})
	path := "/api/v1/boards/" + b.String() + "/members"
	btMust(t, env.Do(http.MethodPost, path, k.owner.Token, map[string]any{"user_id": w.users[wsEditor].ID, "role": "editor"}), http.StatusCreated)
	for _, token := range []string{k.owner.Token, w.token(wsEditor), w.token(tenantAdmin), w.token(wsAdmin)} {
		btErr(t, env.Do(http.MethodDelete, path+"/"+k.owner.ID.String(), token, nil), http.StatusForbidden, "forbidden", "")
		btErr(t, env.Do(http.MethodPatch, path+"/"+k.owner.ID.String(), token, map[string]any{"role": "viewer"}), http.StatusForbidden, "forbidden", "")
	}
	btErr(t, env.Do(http.MethodPost, path, k.owner.Token, map[string]any{"user_id": w.users[wsViewer].ID, "role": "owner"}), http.StatusBadRequest, "invalid", "role")
	btErr(t, env.Do(http.MethodPatch, path+"/"+w.users[wsEditor].ID.String(), k.owner.Token, map[string]any{"role": "owner"}), http.StatusBadRequest, "invalid", "role")
	btErr(t, env.Do(http.MethodPost, path, k.owner.Token, map[string]any{"user_id": w.users[wsEditor].ID, "role": "viewer"}), http.StatusConflict, "conflict", "")
	// Users of another tenant, or of none, cannot be members.
	for _, id := range []uuid.UUID{w.users[otherTenant].ID, uuid.New()} {
		btErr(t, env.Do(http.MethodPost, path, k.owner.Token, map[string]any{"user_id": id, "role": "viewer"}), http.StatusBadRequest, "invalid", "user_id")
	}
	var members btMembers
	btMust(t, env.Do(http.MethodGet, path, k.owner.Token, nil), http.StatusOK).JSON(t, &members)
	owners := 0
	for _, m := range members.Items {
		if m.Role == "owner" {
			owners++
			if m.UserID != k.owner.ID {
				t.Errorf("owner is %s", m.UserID)
			}
		}
	}
	if owners != 1 || len(members.Items) != 2 {
		t.Errorf("members: %+v, want the owner and the editor", members.Items)
	}
	// Editors remove viewers, not editors; owners remove editors.
	btMust(t, env.Do(http.MethodPost, path, w.token(wsEditor), map[string]any{"user_id": w.users[wsViewer].ID, "role": "viewer"}), http.StatusCreated)
	btMust(t, env.Do(http.MethodDelete, path+"/"+w.users[wsViewer].ID.String(), w.token(wsEditor), nil), http.StatusNoContent)
	btErr(t, env.Do(http.MethodDelete, path+"/"+w.users[wsViewer].ID.String(), k.owner.Token, nil), http.StatusNotFound, "not_found", "")
	btMust(t, env.Do(http.MethodDelete, path+"/"+w.users[wsEditor].ID.String(), k.owner.Token, nil), http.StatusNoContent)
}

// ---- publication and privacy ----

// GET /public/boards/{id} is anonymous and read-only: no members, owners, e-mails or metadata.
func TestBoards_publicEndpointExposesNoMembersEmailsOrMetadata(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Gallery", "description": "Open to all", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+b.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[wsEditor].ID, "role": "editor"}), http.StatusCreated)
	data := bdPNG(12, 10)
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, data, map[string]string{"metadata": `{"prompt":"secret prompt","seed":42}`}))
	pub := "/api/v1/public/boards/" + b.String()
	btErr(t, env.Do(http.MethodGet, pub, "", nil), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), w.token(wsEditor), map[string]any{"published": true}), http.StatusForbidden, "forbidden", "")
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"published": true}), http.StatusOK)

	r := btMust(t, env.Do(http.MethodGet, pub, "", nil), http.StatusOK)
	var got map[string]json.RawMessage
	r.JSON(t, &got)
	if keys := btKeys(t, r.Body); !slices.Equal(keys, []string{"board", "images", "next_cursor"}) {
		t.Errorf("public answer keys %v", keys)
	}
	if keys := btKeys(t, got["board"]); !slices.Equal(keys, []string{"description", "id", "name"}) {
		t.Errorf("public board keys %v", keys)
	}
	var images []json.RawMessage
	if err := json.Unmarshal(got["images"], &images); err != nil || len(images) != 1 {
		t.Fatalf("public images %s", got["images"])
	}
	if keys := btKeys(t, images[0]); !slices.Equal(keys, []string{"content_type", "height", "id", "name", "width"}) {
		t.Errorf("public image keys %v", keys)
	}
	body := string(r.Body)
	for _, secret := range []string{k.owner.ID.String(), k.owner.Email, w.users[wsEditor].ID.String(), w.users[wsEditor].Email,
		w.ws["msa/suit"].String(), "secret prompt", "metadata", "owner", "member", "@"} {
		if strings.Contains(body, secret) {
			t.Errorf("the public answer contains %q: %s", secret, body)
		}
	}
	// The file is anonymous too; the metadata route is not.
	// It is the stripped copy (the file's own metadata never reaches the public): the same pixels.
	f := btMust(t, env.Do(http.MethodGet, pub+"/images/"+img.String()+"/file", "", nil), http.StatusOK)
	if cfg, err := png.DecodeConfig(bytes.NewReader(f.Body)); err != nil || cfg.Width != 12 || cfg.Height != 10 || f.Header.Get("Content-Type") != "image/png" {
		t.Errorf("public file: %d bytes of %s", len(f.Body), f.Header.Get("Content-Type"))
	}
	btMust(t, env.Do(http.MethodGet, pub+"/images/"+img.String()+"/thumbnail", "", nil), http.StatusOK)
	btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), "", nil), http.StatusUnauthorized, "unauthorized", "")
	// Unpublished, it is gone again.
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"published": false}), http.StatusOK)
	btErr(t, env.Do(http.MethodGet, pub, "", nil), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodGet, pub+"/images/"+img.String()+"/file", "", nil), http.StatusNotFound, "not_found", "")
}

// Generation metadata is the owner's and admins' (the privacy default), on every path that
// returns an image.
func TestImages_generationMetadataHiddenFromAllButOwnerAndAdmins(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+b.String()+"/members", k.owner.Token,
		map[string]any{"user_id": w.users[member].ID, "role": "editor"}), http.StatusCreated)
	const meta = `{"prompt":"a lighthouse","seed":7}`
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), map[string]string{"metadata": meta}))

	paths := []string{"/api/v1/images/" + img.String(), "/api/v1/boards/" + b.String() + "/images",
		"/api/v1/workspaces/msa~suit/images?board_id=" + b.String(), "/api/v1/workspaces/msa~suit/images"}
	check := func(token, who string, visible bool) {
		t.Helper()
		for _, p := range paths {
			if who == "board editor outside the workspace" && strings.HasPrefix(p, "/api/v1/workspaces/") {
				continue // they cannot see the workspace
			}
			r := btMust(t, env.Do(http.MethodGet, p, token, nil), http.StatusOK)
			var v btImage
			if strings.HasPrefix(p, "/api/v1/images/") {
				r.JSON(t, &v)
			} else {
				var page struct {
					Items []btImage `json:"items"`
				}
				r.JSON(t, &page)
				if len(page.Items) != 1 {
					t.Fatalf("%s GET %s: %d items", who, p, len(page.Items))
				}
				v = page.Items[0]
			}
			if visible && (v.MetadataHidden || !btSameJSON(v.Metadata, meta)) {
				t.Errorf("%s GET %s: metadata %s hidden=%v, want it shown", who, p, v.Metadata, v.MetadataHidden)
			}
			if !visible && (!v.MetadataHidden || string(v.Metadata) != "null") {
				t.Errorf("%s GET %s: metadata %s hidden=%v, want null and hidden", who, p, v.Metadata, v.MetadataHidden)
			}
		}
	}
	check(k.owner.Token, "owner", true)
	for _, who := range []actor{tenantAdmin, wsAdmin, parentAdmin} {
		check(w.token(who), string(who), true)
	}
	for _, who := range []actor{wsEditor, wsViewer, parentViewer, auditor} {
		check(w.token(who), string(who), false)
	}
	check(w.token(member), "board editor outside the workspace", false)

	for _, bad := range []string{`[1,2]`, `not json`, `"text"`, `{"a":"\u0000"}`, `null`} {
		btErr(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(2, 2), map[string]string{"metadata": bad}),
			http.StatusBadRequest, "invalid", "metadata")
	}
}

// The privacy profile in force on the image's workspace decides who else sees the metadata.
func TestImages_privacyProfileDecidesWhoSeesGenerationMetadata(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(4, 4), map[string]string{"metadata": `{"seed":1}`}))
	assign := func(ws string, settings map[string]any) {
		t.Helper()
		var p struct {
			ID uuid.UUID `json:"id"`
		}
		btMust(t, env.Do(http.MethodPost, "/api/v1/profiles", w.token(tenantAdmin),
			map[string]any{"type": "privacy", "name": w.unique(), "settings": settings}), http.StatusCreated).JSON(t, &p)
		btMust(t, env.Do(http.MethodPut, "/api/v1/workspaces/"+ws+"/profiles/privacy", w.token(tenantAdmin),
			map[string]any{"profile_id": p.ID}), http.StatusOK)
	}
	shown := func(token string) (one, listed bool) {
		t.Helper()
		var v btImage
		btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), token, nil), http.StatusOK).JSON(t, &v)
		var page struct {
			Items []btImage `json:"items"`
		}
		btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String()+"/images", token, nil), http.StatusOK).JSON(t, &page)
		return !v.MetadataHidden, len(page.Items) == 1 && !page.Items[0].MetadataHidden
	}
	want := func(stage string, seen map[string]bool) {
		t.Helper()
		tokens := map[string]string{"owner": k.owner.Token, "tenant admin": w.token(tenantAdmin), "ws admin": w.token(wsAdmin),
			"auditor": w.token(auditor), "ws viewer": w.token(wsViewer)}
		for who, token := range tokens {
			one, listed := shown(token)
			if one != seen[who] || listed != seen[who] {
				t.Errorf("%s: %s sees the metadata: %v (listed %v), want %v", stage, who, one, listed, seen[who])
			}
		}
	}
	want("default", map[string]bool{"owner": true, "tenant admin": true, "ws admin": true})
	assign("msa", map[string]any{"visible_to": []string{"owner"}})
	want("owner only, inherited from msa", map[string]bool{"owner": true})
	assign("msa~suit", map[string]any{"visible_to": []string{"admins", "auditors"}})
	want("admins and auditors, on msa/suit", map[string]bool{"tenant admin": true, "ws admin": true, "auditor": true})
	assign("msa~suit", map[string]any{"hide_generation_metadata": false})
	want("not hidden", map[string]bool{"owner": true, "tenant admin": true, "ws admin": true, "auditor": true, "ws viewer": true})
}

// ---- files ----

func TestImages_fileServingTypesETagsAndRanges(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	pngData := bdPNG(600, 300)
	jpgData := btJPEG(t, 40, 80)
	webp, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==") // 1×1 lossless
	cases := []struct {
		name, filename, ctype, thumbType string
		data                             []byte
		w, h, tw, th                     int
	}{
		{"PNG", "picture.jpg", "image/png", "image/png", pngData, 600, 300, 256, 128},
		{"JPEG", "picture.png", "image/jpeg", "image/jpeg", jpgData, 40, 80, 40, 80},
		{"WebP", "picture", "image/webp", "image/png", webp, 1, 1, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/images", k.owner.Token,
				apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: c.filename, Data: c.data}))
			var v btImage
			btMust(t, r, http.StatusCreated).JSON(t, &v)
			if v.ContentType != c.ctype || v.Width != c.w || v.Height != c.h || v.Name != c.filename || v.SizeBytes != int64(len(c.data)) {
				t.Errorf("uploaded %s named %s: %+v", c.name, c.filename, v)
			}
			file := "/api/v1/images/" + v.ID.String() + "/file"
			f := btMust(t, env.Do(http.MethodGet, file, k.owner.Token, nil), http.StatusOK)
			etag := f.Header.Get("ETag")
			if !bytes.Equal(f.Body, c.data) || f.Header.Get("Content-Type") != c.ctype || etag == "" ||
				f.Header.Get("X-Content-Type-Options") != "nosniff" || f.Header.Get("Accept-Ranges") != "bytes" {
				t.Errorf("file: %d bytes, headers %v", len(f.Body), f.Header)
			}
			r = env.DoWith(http.MethodGet, file, k.owner.Token, http.Header{"If-None-Match": {etag}})
			if r.Status != http.StatusNotModified || len(r.Body) != 0 {
				t.Errorf("If-None-Match: %d with %d bytes, want 304 and nothing", r.Status, len(r.Body))
			}
			if r := env.DoWith(http.MethodGet, file, k.owner.Token, http.Header{"If-None-Match": {`"other"`}}); r.Status != http.StatusOK {
				t.Errorf("If-None-Match with another tag: %d", r.Status)
			}
			n := len(c.data)
			r = env.DoWith(http.MethodGet, file, k.owner.Token, http.Header{"Range": {"bytes=0-9"}})
			if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, c.data[:10]) ||
				r.Header.Get("Content-Range") != fmt.Sprintf("bytes 0-9/%d", n) {
				t.Errorf("Range 0-9: %d %q %d bytes", r.Status, r.Header.Get("Content-Range"), len(r.Body))
			}
			r = env.DoWith(http.MethodGet, file, k.owner.Token, http.Header{"Range": {"bytes=-4"}})
			if r.Status != http.StatusPartialContent || !bytes.Equal(r.Body, c.data[n-4:]) {
				t.Errorf("Range -4: %d %d bytes", r.Status, len(r.Body))
			}
			if r := env.DoWith(http.MethodGet, file, k.owner.Token, http.Header{"Range": {fmt.Sprintf("bytes=%d-", n+10)}}); r.Status != http.StatusRequestedRangeNotSatisfiable {
				t.Errorf("Range past the end: %d", r.Status)
			}
			th := btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+v.ID.String()+"/thumbnail", k.owner.Token, nil), http.StatusOK)
			if th.Header.Get("Content-Type") != c.thumbType || th.Header.Get("ETag") == "" || th.Header.Get("ETag") == etag {
				t.Errorf("thumbnail headers %v (file ETag %s)", th.Header, etag)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(th.Body))
			if err != nil || "image/"+format != c.thumbType || cfg.Width != c.tw || cfg.Height != c.th {
				t.Errorf("thumbnail: %s %dx%d (%v), want %s %dx%d", format, cfg.Width, cfg.Height, err, c.thumbType, c.tw, c.th)
			}
		})
	}
}

// ---- bad input ----

// Bad uploads are 400/413 in the error shape, and leave neither a row nor a file.
func TestImages_uploadRefusesBadInputAndLeavesNothingBehind(t *testing.T) {
	const maxBytes = 256 << 10
	env := apptest.Start(t, func(c *configs.Config) { c.UploadMaxBytes = maxBytes })
	tn := env.SignUp(t)
	admin := tn.Admin.Token
	r := btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces", admin, map[string]any{"name": "Elsewhere", "slug": "elsewhere"}), http.StatusCreated)
	var ws struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &ws)
	elsewhere := btBoard(t, env, admin, "elsewhere", map[string]any{"name": "Elsewhere"})
	here := btBoard(t, env, admin, "default", map[string]any{"name": "Here"})
	valid := bdPNG(20, 20)

	big := make([]byte, maxBytes+1)
	copy(big, valid)
	cases := []struct {
		name     string
		body     apptest.Form
		status   int
		code     string
		field    string
		boardRef *uuid.UUID
	}{
		{"a text file named .png", btFormOf("notes.png", []byte("hello, I am not an image\n"), nil), 400, "invalid", "file", nil},
		{"a truncated PNG", btFormOf("cut.png", valid[:len(valid)/2], nil), 400, "invalid", "file", nil},
		{"a PNG header of 20000×20000 (refused before decoding)", btFormOf("bomb.png", btPNGHeader(20000, 20000), nil), 413, "too_large", "", nil},
		{"a PNG header of 1×50000 (one side too long)", btFormOf("strip.png", btPNGHeader(1, 50000), nil), 413, "too_large", "", nil},
		{"an empty upload", btFormOf("empty.png", nil, nil), 400, "invalid", "file", nil},
		{"no file part", apptest.NewForm(map[string]string{"name": "nothing"}), 400, "invalid", "file", nil},
		{"a file over the size limit", btFormOf("huge.png", big, nil), 413, "too_large", "", nil},
		{"a board of another workspace", btFormOf("x.png", valid, map[string]string{"board_id": elsewhere.String()}), 400, "invalid", "board_id", nil},
		{"a board id that is no id", btFormOf("x.png", valid, map[string]string{"board_id": "../../etc"}), 400, "invalid", "board_id", nil},
		{"a board that does not exist", btFormOf("x.png", valid, map[string]string{"board_id": uuid.NewString()}), 400, "invalid", "board_id", nil},
		{"metadata that is not an object", btFormOf("x.png", valid, map[string]string{"metadata": "[]"}), 400, "invalid", "metadata", nil},
		{"a name of invalid UTF-8", btFormOf("x.png", valid, map[string]string{"name": "bad \xff name"}), 400, "invalid", "name", nil},
		{"a name too long", btFormOf("x.png", valid, map[string]string{"name": strings.Repeat("n", 256)}), 400, "invalid", "name", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.Do(http.MethodPost, "/api/v1/workspaces/default/images", admin, c.body)
			btErr(t, r, c.status, c.code, c.field)
			if n := bdCount(t, env, tn.ID, "SELECT count(*) FROM images"); n != 0 {
				t.Errorf("%d image rows after a refused upload", n)
			}
			if n := btFiles(t, env); n != 0 {
				t.Errorf("%d files under DATA_DIR/images after a refused upload", n)
			}
		})
	}
	// A JSON body is no upload either.
	btErr(t, env.Do(http.MethodPost, "/api/v1/workspaces/default/images", admin, map[string]any{"file": "x"}), http.StatusBadRequest, "invalid", "file")
	// Control: the same valid file is accepted onto a board of the workspace.
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/default/images", admin, btFormOf("ok.png", valid, map[string]string{"board_id": here.String()})), http.StatusCreated)
	if n := btFiles(t, env); n != btFilesPerImage {
		t.Errorf("%d files after one good upload, want the file, its thumbnail and its stripped copy", n)
	}
}

func TestBoards_badInput(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	tok := k.owner.Token
	b := btBoard(t, env, tok, "msa/suit", map[string]any{"name": "Fine"})
	path := "/api/v1/boards/" + b.String()
	inRocket := btImageID(t, btUpload(t, env, tok, "msa/rocket", nil, bdPNG(2, 2), nil))
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"create with a visibility that does not exist", "POST", "/api/v1/workspaces/msa~suit/boards", map[string]any{"name": "X", "visibility": "secret"}, 400, "invalid", "visibility"},
		{"create without a name", "POST", "/api/v1/workspaces/msa~suit/boards", map[string]any{"name": ""}, 400, "invalid", "name"},
		{"create with a name too long", "POST", "/api/v1/workspaces/msa~suit/boards", map[string]any{"name": strings.Repeat("b", 201)}, 400, "invalid", "name"},
		{"create with an unknown field", "POST", "/api/v1/workspaces/msa~suit/boards", map[string]any{"name": "X", "owner_id": uuid.New()}, 400, "invalid", ""},
		{"create in a workspace that does not exist", "POST", "/api/v1/workspaces/nowhere/boards", map[string]any{"name": "X"}, 404, "not_found", ""},
		{"set a visibility that does not exist", "PATCH", path, map[string]any{"visibility": "everyone"}, 400, "invalid", "visibility"},
		{"change nothing", "PATCH", path, map[string]any{}, 400, "invalid", "body"},
		{"a board id that is no id", "GET", "/api/v1/boards/not-an-id", nil, 404, "not_found", ""},
		{"a board that does not exist", "GET", "/api/v1/boards/" + uuid.NewString(), nil, 404, "not_found", ""},
		{"delete_images that is no boolean", "DELETE", path + "?delete_images=yes", nil, 400, "invalid", "delete_images"},
		{"a member role that does not exist", "POST", path + "/members", map[string]any{"user_id": w.users[wsViewer].ID, "role": "admin"}, 400, "invalid", "role"},
		{"move without a destination", "POST", path + "/move", map[string]any{}, 400, "invalid", "workspace_id"},
		{"move to a workspace that does not exist", "POST", path + "/move", map[string]any{"workspace_id": "nowhere"}, 404, "not_found", ""},
		{"add no images", "POST", path + "/images", map[string]any{"image_ids": []uuid.UUID{}}, 400, "invalid", "image_ids"},
		{"add an image of another workspace", "POST", path + "/images", map[string]any{"image_ids": []uuid.UUID{inRocket}}, 400, "invalid", "image_ids"},
		{"list with a board filter that is no id", "GET", "/api/v1/workspaces/msa~suit/images?board_id=all", nil, 400, "invalid", "board_id"},
		{"list with a limit out of range", "GET", "/api/v1/workspaces/msa~suit/boards?limit=1000", nil, 400, "invalid", "limit"},
		{"rename an image to nothing", "PATCH", "/api/v1/images/" + uuid.NewString(), map[string]any{"name": ""}, 400, "invalid", "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			btErr(t, env.Do(c.method, c.path, tok, c.body), c.status, c.code, c.field)
		})
	}
	var v btBoardView
	btMust(t, env.Do(http.MethodGet, path, tok, nil), http.StatusOK).JSON(t, &v)
	if v.Visibility != "private" || v.Name != "Fine" {
		t.Errorf("the board after bad input: %+v", v)
	}
}

// ---- listing, moving, workspaces ----

func TestBoards_listsShowOnlyWhatTheCallerCanReadWithCursorPaging(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	tok := k.owner.Token
	private := btBoard(t, env, tok, "msa/suit", map[string]any{"name": "Private"})
	shared := btBoard(t, env, tok, "msa/suit", map[string]any{"name": "Shared", "visibility": "shared"})
	public := btBoard(t, env, tok, "msa/suit", map[string]any{"name": "Public", "visibility": "public"})
	mine := btBoard(t, env, tok, "msa/suit", map[string]any{"name": "Member's"})
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+mine.String()+"/members", tok,
		map[string]any{"user_id": w.users[wsViewer].ID, "role": "viewer"}), http.StatusCreated)
	imgOf := map[uuid.UUID]uuid.UUID{}
	for _, b := range []uuid.UUID{private, shared, public, mine} {
		b := b
		imgOf[b] = btImageID(t, btUpload(t, env, tok, "msa/suit", &b, bdPNG(3, 3), nil))
	}
	ownersLoose := btImageID(t, btUpload(t, env, tok, "msa/suit", nil, bdPNG(3, 3), nil))

	all := func(token, base string) []uuid.UUID {
		var out []uuid.UUID
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		next := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			p := base + sep + "limit=1"
			if next != "" {
				p += "&cursor=" + next
			}
			var page struct {
				Items      []struct{ ID uuid.UUID } `json:"items"`
				NextCursor *string                  `json:"next_cursor"`
			}
			btMust(t, env.Do(http.MethodGet, p, token, nil), http.StatusOK).JSON(t, &page)
			if len(page.Items) > 1 {
				t.Fatalf("a page of limit 1 has %d items", len(page.Items))
			}
			for _, it := range page.Items {
				out = append(out, it.ID)
			}
			if page.NextCursor == nil {
				return out
			}
			next = *page.NextCursor
		}
	}
	sorted := func(ids ...uuid.UUID) []uuid.UUID {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return ids
	}
	if got := all(w.token(wsViewer), "/api/v1/workspaces/msa~suit/boards"); !slices.Equal(got, sorted(shared, public, mine)) {
		t.Errorf("boards the workspace viewer lists: %v, want %v", got, sorted(shared, public, mine))
	}
	if got := all(w.token(tenantAdmin), "/api/v1/workspaces/msa~suit/boards"); !slices.Equal(got, sorted(private, shared, public, mine)) {
		t.Errorf("boards the tenant admin lists: %v", got)
	}
	if got := all(w.token(auditor), "/api/v1/workspaces/msa~suit/boards"); len(got) != 4 {
		t.Errorf("boards the auditor lists: %v", got)
	}
	if got := all(w.token(wsEditor), "/api/v1/workspaces/msa~suit/boards"); !slices.Equal(got, sorted(shared, public)) {
		t.Errorf("boards the workspace editor lists: %v", got)
	}
	// A member of the board who is not a member of the workspace cannot list the workspace.
	btMust(t, env.Do(http.MethodPost, "/api/v1/boards/"+mine.String()+"/members", tok,
		map[string]any{"user_id": w.users[member].ID, "role": "viewer"}), http.StatusCreated)
	btErr(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit/boards", w.token(member), nil), http.StatusNotFound, "not_found", "")
	btMust(t, env.Do(http.MethodGet, "/api/v1/boards/"+mine.String()+"/images", w.token(member), nil), http.StatusOK)

	viewerOwn := btImageID(t, btUpload(t, env, w.token(wsViewer), "msa/suit", &public, bdPNG(2, 2), nil))
	got := all(w.token(wsViewer), "/api/v1/workspaces/msa~suit/images")
	want := sorted(imgOf[shared], imgOf[public], imgOf[mine], viewerOwn)
	if !slices.Equal(got, want) {
		t.Errorf("images the workspace viewer lists: %v, want %v (not %s of the private board nor %s uncategorised)", got, want, imgOf[private], ownersLoose)
	}
	if got := all(tok, "/api/v1/workspaces/msa~suit/images?board_id="+public.String()); !slices.Equal(got, sorted(imgOf[public], viewerOwn)) {
		t.Errorf("images of the public board: %v", got)
	}
}

func TestBoards_moveToAnotherWorkspaceNeedsAdminsOfBothEnds(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	b := btBoard(t, env, k.owner.Token, "msa/suit", map[string]any{"name": "Traveller", "visibility": "shared"})
	img := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", &b, bdPNG(3, 3), nil))
	move := "/api/v1/boards/" + b.String() + "/move"
	to := func(ws string) map[string]any { return map[string]any{"workspace_id": ws} }

	btErr(t, env.Do(http.MethodPost, move, k.owner.Token, to("msa~suit~andromeda")), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodPost, move, w.token(wsEditor), to("msa~suit~andromeda")), http.StatusForbidden, "forbidden", "")
	btErr(t, env.Do(http.MethodPost, move, w.token(wsAdmin), to("msa~rocket")), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodPost, move, w.token(wsAdmin), to(w.ws["default"].String())), http.StatusNotFound, "not_found", "")

	var v btBoardView
	btMust(t, env.Do(http.MethodPost, move, w.token(wsAdmin), to("msa~suit~andromeda")), http.StatusOK).JSON(t, &v)
	andromeda := w.ws["msa/suit/andromeda"]
	if v.WorkspaceID != andromeda {
		t.Errorf("moved board in %s, want %s", v.WorkspaceID, andromeda)
	}
	var iv btImage
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), k.owner.Token, nil), http.StatusOK).JSON(t, &iv)
	if iv.WorkspaceID != andromeda || iv.BoardID == nil || *iv.BoardID != b {
		t.Errorf("its image: workspace %s board %v, want it moved along", iv.WorkspaceID, iv.BoardID)
	}
	list := func(ws string) []uuid.UUID {
		return btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/"+ws+"/boards", w.token(tenantAdmin), nil), http.StatusOK))
	}
	if slices.Contains(list("msa~suit"), b) || !slices.Contains(list("msa~suit~andromeda"), b) {
		t.Error("the board is not listed where it moved")
	}
	ids := btPage(t, btMust(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit~andromeda/images?board_id="+b.String(), w.token(wsViewer), nil), http.StatusOK))
	if !slices.Equal(ids, []uuid.UUID{img}) {
		t.Errorf("its images in the new workspace: %v", ids)
	}
	// Across to the sibling: the admin of msa, above both.
	btMust(t, env.Do(http.MethodPost, move, w.token(parentAdmin), to("msa~rocket")), http.StatusOK)
	btErr(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String(), w.token(wsAdmin), nil), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), w.token(wsViewer), nil), http.StatusNotFound, "not_found", "")
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+img.String(), w.token(parentViewer), nil), http.StatusOK)
	// The other tenant's admin sees nothing to move.
	btErr(t, env.Do(http.MethodPost, move, w.token(otherTenant), to("default")), http.StatusNotFound, "not_found", "")
}

// Deleting a workspace that holds boards and images: 409 without cascade; with it, boards,
// images, their files and the published index go.
func TestWorkspaces_cascadeDeleteRemovesBoardsAndImages(t *testing.T) {
	w, k := btSetup(t)
	env := w.env
	before := btFiles(t, env)
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces", w.token(wsAdmin),
		map[string]any{"name": "Short-lived", "slug": "brief", "parent_id": w.node()}), http.StatusCreated)
	b := btBoard(t, env, k.owner.Token, "msa/suit/brief", map[string]any{"name": "Contents", "visibility": "shared"})
	btMust(t, env.Do(http.MethodPatch, "/api/v1/boards/"+b.String(), k.owner.Token, map[string]any{"published": true}), http.StatusOK)
	onBoard := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit/brief", &b, bdPNG(3, 3), nil))
	loose := btImageID(t, btUpload(t, env, w.token(wsEditor), "msa/suit/brief", nil, bdPNG(3, 3), nil))
	// Something outside the workspace that must stay.
	outside := btImageID(t, btUpload(t, env, k.owner.Token, "msa/suit", nil, bdPNG(3, 3), nil))

	btErr(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit~brief", w.token(wsAdmin), nil), http.StatusConflict, "conflict", "")
	btMust(t, env.Do(http.MethodGet, "/api/v1/public/boards/"+b.String(), "", nil), http.StatusOK)
	if got := btFiles(t, env); got != before+3*btFilesPerImage {
		t.Fatalf("files %d, want %d", got, before+3*btFilesPerImage)
	}
	btMust(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit~brief?cascade=true", w.token(wsAdmin), nil), http.StatusNoContent)

	btErr(t, env.Do(http.MethodGet, "/api/v1/boards/"+b.String(), w.token(tenantAdmin), nil), http.StatusNotFound, "not_found", "")
	btErr(t, env.Do(http.MethodGet, "/api/v1/public/boards/"+b.String(), "", nil), http.StatusNotFound, "not_found", "")
	for _, id := range []uuid.UUID{onBoard, loose} {
		btErr(t, env.Do(http.MethodGet, "/api/v1/images/"+id.String(), w.token(tenantAdmin), nil), http.StatusNotFound, "not_found", "")
	}
	if n := bdCount(t, env, w.a.ID, "SELECT count(*) FROM boards WHERE id = ?", b); n != 0 {
		t.Errorf("%d board rows left", n)
	}
	if n := bdCount(t, env, w.a.ID, "SELECT count(*) FROM images WHERE id IN ?", []uuid.UUID{onBoard, loose}); n != 0 {
		t.Errorf("%d image rows left", n)
	}
	if n := bdCount(t, env, w.a.ID, "SELECT count(*) FROM public_boards WHERE board_id = ?", b); n != 0 {
		t.Errorf("%d published-index rows left", n)
	}
	// The request removed rows only; the files wait for the removal job, off the request path.
	if got := btFiles(t, env); got != before+3*btFilesPerImage {
		t.Errorf("files right after the delete %d, want %d (file removal is a job's)", got, before+3*btFilesPerImage)
	}
	btRemoveFiles(t, env, w.a.ID)
	if got := btFiles(t, env); got != before+btFilesPerImage {
		t.Errorf("files %d, want %d (only the image outside the workspace)", got, before+btFilesPerImage)
	}
	btMust(t, env.Do(http.MethodGet, "/api/v1/images/"+outside.String()+"/file", k.owner.Token, nil), http.StatusOK)
}

// btRemoveFiles runs the removal job's work for the tenant (what images:remove_files does).
// btFilesPerImage is what an upload stores: the file, its thumbnail and its stripped copy.
const btFilesPerImage = 3

func btRemoveFiles(t *testing.T, env *apptest.Env, tenantID uuid.UUID) {
	t.Helper()
	if _, more, err := env.App.Images.RemoveFiles(tenancy.WithTenant(context.Background(), tenantID), 100); err != nil || more {
		t.Fatalf("remove files of deleted images: more=%v err=%v", more, err)
	}
}

// ---- helpers ----

// btSetup is the matrix's world (tenant A's tree and actors, tenant B) with the board fixtures.
func btSetup(t *testing.T) (*world, *bdKit) {
	t.Helper()
	w := newWorld(t)
	return w, bdKitOf(t, w)
}

// btImage is an image as the API answers it.
type btImage struct {
	ID             uuid.UUID       `json:"id"`
	WorkspaceID    uuid.UUID       `json:"workspace_id"`
	OwnerID        uuid.UUID       `json:"owner_id"`
	BoardID        *uuid.UUID      `json:"board_id"`
	Name           string          `json:"name"`
	ContentType    string          `json:"content_type"`
	SizeBytes      int64           `json:"size_bytes"`
	Width          int             `json:"width"`
	Height         int             `json:"height"`
	Starred        bool            `json:"starred"`
	Metadata       json.RawMessage `json:"metadata"`
	MetadataHidden bool            `json:"metadata_hidden"`
}

// btBoardView is a board as the API answers it.
type btBoardView struct {
	ID          uuid.UUID `json:"id"`
	WorkspaceID uuid.UUID `json:"workspace_id"`
	OwnerID     uuid.UUID `json:"owner_id"`
	Name        string    `json:"name"`
	Visibility  string    `json:"visibility"`
	Published   bool      `json:"published"`
	MyRole      string    `json:"my_role"`
}

type btMembers struct {
	Items []struct {
		UserID uuid.UUID `json:"user_id"`
		Role   string    `json:"role"`
	} `json:"items"`
}

// btBoard creates a board and returns its id.
func btBoard(t *testing.T, env *apptest.Env, token, ws string, body map[string]any) uuid.UUID {
	t.Helper()
	var v btBoardView
	btMust(t, env.Do(http.MethodPost, "/api/v1/workspaces/"+bdRef(ws)+"/boards", token, body), http.StatusCreated).JSON(t, &v)
	return v.ID
}

// btUpload uploads data (as fixture.png) into the workspace, onto the board if set.
func btUpload(t *testing.T, env *apptest.Env, token, ws string, boardID *uuid.UUID, data []byte, fields map[string]string) apptest.Response {
	t.Helper()
	f := map[string]string{}
	for k, v := range fields {
		f[k] = v
	}
	if boardID != nil {
		f["board_id"] = boardID.String()
	}
	return env.Do(http.MethodPost, "/api/v1/workspaces/"+bdRef(ws)+"/images", token, btFormOf("fixture.png", data, f))
}

func btFormOf(filename string, data []byte, fields map[string]string) apptest.Form {
	return apptest.NewForm(fields, apptest.FormFile{Field: "file", Filename: filename, Data: data})
}

func btImageID(t *testing.T, r apptest.Response) uuid.UUID {
	t.Helper()
	var v btImage
	btMust(t, r, http.StatusCreated).JSON(t, &v)
	return v.ID
}

// btMust fails the test unless the answer has the status.
func btMust(t *testing.T, r apptest.Response, want int) apptest.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, truncate(r.Body))
	}
	return r
}

// btErr checks an error answer: status, the error shape, its code and (if field is set) the
// field at fault.
func btErr(t *testing.T, r apptest.Response, status int, code, field string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != status || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("got %d %s, want %d with error code %q", r.Status, truncate(r.Body), status, code)
		return
	}
	if field == "" {
		return
	}
	var fields []struct {
		Field string `json:"field"`
	}
	_ = json.Unmarshal(e.Error.Details, &fields)
	for _, f := range fields {
		if f.Field == field {
			return
		}
	}
	t.Errorf("error %s does not name the field %q", r.Body, field)
}

// btPage is the ids of a list answer's items.
func btPage(t *testing.T, r apptest.Response) []uuid.UUID {
	t.Helper()
	var page struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	r.JSON(t, &page)
	out := make([]uuid.UUID, len(page.Items))
	for i, it := range page.Items {
		out[i] = it.ID
	}
	return out
}

// btFiles counts the regular files under DATA_DIR/images (temporary upload files included).
func btFiles(t *testing.T, env *apptest.Env) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(env.Cfg.DataDir, "images"), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk DATA_DIR/images: %v", err)
	}
	return n
}

// btKeys is the sorted keys of a JSON object.
func btKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not an object: %s", raw)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func btSameJSON(raw json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// btPNGHeader is only the start of a PNG: signature and an IHDR chunk (with a correct CRC) that
// declares the size, no pixel data. Decoding it would fail; refusing it for its size must come
// first.
func btPNGHeader(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(ihdr)))
	buf.Write(chunk)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return buf.Bytes()
}

func btJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 6), G: uint8(y * 3), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustExecSQL(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
