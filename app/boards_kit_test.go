package app_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/tenancy"
)

// Fixtures for the board and image tests (the matrix rows and app/boards_test.go). Boards are made
// through the API by a fixed board owner — a user of tenant A no actor is, editor of msa/suit and
// msa/rocket — and the actor's board role (owner, editor, viewer) is given per cell: the owner adds
// the actor as a member, or hands the board over to them.

// bdKit is the board fixtures of one world.
type bdKit struct {
	w *world
	// owner creates the fixture boards and uploads their images.
	owner apptest.User
	// extra is a plain user rows add to, promote on and remove from boards.
	extra apptest.User
	mu    sync.Mutex
	cache map[string]any
}

var (
	bdKitsMu sync.Mutex
	bdKits   = map[*world]*bdKit{}
)

// bdKitOf returns the world's board fixtures, creating the owner and the extra user once.
func bdKitOf(t *testing.T, w *world) *bdKit {
	t.Helper()
	bdKitsMu.Lock()
	defer bdKitsMu.Unlock()
	if k, ok := bdKits[w]; ok {
		return k
	}
	k := &bdKit{w: w, cache: map[string]any{}}
	k.owner = w.env.NewUser(t, w.a, "member")
	w.grant(t, k.owner.ID, "editor", "msa/suit", nil)
	w.grant(t, k.owner.ID, "editor", "msa/rocket", nil)
	k.extra = w.env.NewUser(t, w.a, "member")
	bdKits[w] = k
	return k
}

// cached builds a fixture once per key: for rows whose fixture does not depend on the actor and
// that change nothing.
func (k *bdKit) cached(key string, build func() any) any {
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.cache[key]; ok {
		return v
	}
	v := build()
	k.cache[key] = v
	return v
}

// bdSpec describes a fixture board.
type bdSpec struct {
	ws         string // workspace path; msa/suit when empty
	visibility string // private when empty
	published  bool
	// role is the actor's board role: "" (not a member), owner, editor or viewer. Anonymous and
	// the other tenant's admin cannot be members and stay outsiders.
	role string
	// images puts two images on the board: one of the board's creator and one of the actor.
	// They are rows only (fast), unless files asks for uploads through the API, with files.
	images, files bool
}

// bdBoard is a fixture board.
type bdBoard struct {
	ID uuid.UUID
	// CreatorImage is an image the fixed owner put on the board (after a transfer to the actor,
	// another member's image); ActorImage is the actor's own (the creator's for outsiders who
	// cannot own anything in tenant A).
	CreatorImage, ActorImage uuid.UUID
}

// inA reports whether the actor is a user of tenant A.
func inA(who actor) bool { return who != anonymous && who != otherTenant }

// board creates a fresh board per the spec.
func (k *bdKit) board(t *testing.T, who actor, s bdSpec) bdBoard {
	t.Helper()
	w := k.w
	ws := s.ws
	if ws == "" {
		ws = "msa/suit"
	}
	body := map[string]any{"name": "board " + w.unique()}
	if s.visibility != "" {
		body["visibility"] = s.visibility
	}
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/"+bdRef(ws)+"/boards", k.owner.Token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: create board: %d %s", r.Status, r.Body)
	}
	var b struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &b)
	out := bdBoard{ID: b.ID}
	if s.published {
		k.mustDo(t, http.MethodPatch, "/api/v1/boards/"+b.ID.String(), map[string]any{"published": true}, http.StatusOK)
	}
	switch {
	case s.files:
		out.CreatorImage = k.upload(t, ws, &b.ID)
		out.ActorImage = k.upload(t, ws, &b.ID)
		k.give(t, out.ActorImage, who)
	case s.images:
		out.CreatorImage = k.imageRow(t, ws, &b.ID, anonymous)
		out.ActorImage = k.imageRow(t, ws, &b.ID, who)
	}
	if s.role != "" && inA(who) {
		role := s.role
		if role == "owner" {
			role = "editor"
		}
		k.mustDo(t, http.MethodPost, "/api/v1/boards/"+b.ID.String()+"/members",
			map[string]any{"user_id": w.users[who].ID, "role": role}, http.StatusCreated)
		if s.role == "owner" {
			k.mustDo(t, http.MethodPatch, "/api/v1/boards/"+b.ID.String(),
				map[string]any{"owner_id": w.users[who].ID}, http.StatusOK)
		}
	}
	return out
}

// addMember makes the user a member of the board (as its creator, who stays a member after a
// transfer, as an editor).
func (k *bdKit) addMember(t *testing.T, boardID, userID uuid.UUID, role string) {
	t.Helper()
	k.mustDo(t, http.MethodPost, "/api/v1/boards/"+boardID.String()+"/members",
		map[string]any{"user_id": userID, "role": role}, http.StatusCreated)
}

// uncategorised makes an image with no board in msa/suit, the actor's (the board owner's for
// outsiders); with files, uploaded through the API, else a row only.
func (k *bdKit) uncategorised(t *testing.T, who actor, files bool) uuid.UUID {
	t.Helper()
	if !files {
		return k.imageRow(t, "msa/suit", nil, who)
	}
	id := k.upload(t, "msa/suit", nil)
	k.give(t, id, who)
	return id
}

// imageRow inserts an image row without files, below the API: the actor's (the board owner's
// for outsiders), for rows that never touch the file.
func (k *bdKit) imageRow(t *testing.T, ws string, boardID *uuid.UUID, who actor) uuid.UUID {
	t.Helper()
	owner := k.owner.ID
	if inA(who) {
		owner = k.w.users[who].ID
	}
	id, _ := uuid.NewV7()
	bdExec(t, k.w.env, k.w.a.ID, `INSERT INTO images (tenant_id, id, workspace_id, owner_id, board_id, name, content_type,
		size_bytes, width, height, sha256) VALUES (?, ?, ?, ?, ?, 'row.png', 'image/png', 1, 1, 1, '00')`,
		k.w.a.ID, id, k.w.ws[ws], owner, boardID)
	return id
}

// upload stores a small PNG as the fixed owner.
func (k *bdKit) upload(t *testing.T, ws string, boardID *uuid.UUID) uuid.UUID {
	t.Helper()
	return bdUpload(t, k.w.env, k.owner.Token, ws, boardID, bdPNG(8, 6))
}

// give makes the actor the image's direct owner, below the API (as if they had uploaded it).
func (k *bdKit) give(t *testing.T, imageID uuid.UUID, who actor) {
	t.Helper()
	if !inA(who) {
		return
	}
	bdExec(t, k.w.env, k.w.a.ID, "UPDATE images SET owner_id = ? WHERE id = ?", k.w.users[who].ID, imageID)
}

func (k *bdKit) mustDo(t *testing.T, method, path string, body any, want int) {
	t.Helper()
	if r := k.w.env.Do(method, path, k.owner.Token, body); r.Status != want {
		t.Fatalf("fixture: %s %s: %d %s", method, path, r.Status, r.Body)
	}
}

// bdRef is a workspace path as the API's {ws}.
func bdRef(path string) string {
	out := []byte(path)
	for i, c := range out {
		if c == '/' {
			out[i] = '~'
		}
	}
	return string(out)
}

// bdUpload uploads data into the workspace (on the board if set) and returns the image id.
func bdUpload(t *testing.T, env *apptest.Env, token, ws string, boardID *uuid.UUID, data []byte) uuid.UUID {
	t.Helper()
	r := env.Do(http.MethodPost, "/api/v1/workspaces/"+bdRef(ws)+"/images", token, bdForm(boardID, "fixture.png", data))
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: upload: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	return v.ID
}

// bdForm is an upload body.
func bdForm(boardID *uuid.UUID, filename string, data []byte) apptest.Form {
	fields := map[string]string{}
	if boardID != nil {
		fields["board_id"] = boardID.String()
	}
	return apptest.NewForm(fields, apptest.FormFile{Field: "file", Filename: filename, Data: data})
}

// bdPNG encodes a w×h PNG with a gradient, so that files differ by size.
func bdPNG(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / max(w, 1)), G: uint8(y * 255 / max(h, 1)), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// bdExec runs a statement in the tenant's scope, below the API.
func bdExec(t *testing.T, env *apptest.Env, tenantID uuid.UUID, sql string, args ...any) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return tx.Exec(sql, args...).Error }); err != nil {
		t.Fatalf("fixture: %s: %v", sql, err)
	}
}

// bdCount counts rows in the tenant's scope.
func bdCount(t *testing.T, env *apptest.Env, tenantID uuid.UUID, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return tx.Raw(sql, args...).Scan(&n).Error }); err != nil {
		t.Fatalf("count: %s: %v", sql, err)
	}
	return n
}
