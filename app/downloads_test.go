package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/downloads"
)

// dlClock is a clock the test moves.
type dlClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *dlClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *dlClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// dlWorld is one tenant with its admin, alice and bob (editors of the default workspace, each
// through a grant a test may revoke) and carol (no grant), a recording queue and a clock the test
// moves.
type dlWorld struct {
	env               *apptest.Env
	tn                apptest.Tenant
	alice, bob, carol apptest.User
	bobGrant          uuid.UUID
	q                 *dlQueue
	clock             *dlClock
}

func newDLWorld(t *testing.T) *dlWorld {
	t.Helper()
	env := apptest.Start(t)
	w := &dlWorld{env: env, tn: env.SignUp(t), q: dlRecord(env), clock: &dlClock{now: time.Now().UTC()}}
	env.App.Downloads.SetClock(w.clock.Now)
	w.alice = env.NewUser(t, w.tn, "member")
	w.bob = env.NewUser(t, w.tn, "member")
	w.carol = env.NewUser(t, w.tn, "member")
	w.grant(t, w.alice.ID, "editor")
	w.bobGrant = w.grant(t, w.bob.ID, "editor")
	return w
}

func (w *dlWorld) grant(t *testing.T, user uuid.UUID, role string) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/default/grants", w.tn.Admin.Token,
		map[string]any{"subject_type": "user", "subject_id": user, "role": role})
	if r.Status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.Status, r.Body)
	}
	var g struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &g)
	return g.ID
}

func (w *dlWorld) board(t *testing.T, token, visibility string) uuid.UUID {
	t.Helper()
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/default/boards", token,
		map[string]any{"name": "board " + uuid.NewString()[:8], "visibility": visibility})
	if r.Status != http.StatusCreated {
		t.Fatalf("create board: %d %s", r.Status, r.Body)
	}
	var b struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &b)
	return b.ID
}

// upload stores a PNG named name (on the board if set) and returns its id and bytes.
func (w *dlWorld) upload(t *testing.T, token string, board *uuid.UUID, name string, side int) (uuid.UUID, []byte) {
	t.Helper()
	data := bdPNG(side, side)
	fields := map[string]string{"name": name}
	if board != nil {
		fields["board_id"] = board.String()
	}
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces/default/images", token,
		apptest.NewForm(fields, apptest.FormFile{Field: "file", Filename: "x.png", Data: data}))
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	return v.ID, data
}

func (w *dlWorld) build(t *testing.T, id, requester uuid.UUID) {
	t.Helper()
	dlBuild(t, w.env, w.tn.ID, id, requester)
}

// zipOf fetches and opens the download's zip as the token's holder.
func (w *dlWorld) zipOf(t *testing.T, token string, id uuid.UUID) (map[string][]byte, []string, apptest.Response) {
	t.Helper()
	r := w.env.Do(http.MethodGet, "/api/v1/downloads/"+id.String()+"/file", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("fetch zip: %d %s", r.Status, r.Body)
	}
	return readZip(t, r.Body), zipNames(t, r.Body), r
}

func readZip(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s is compressed (method %d); images are stored", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}

func zipNames(t *testing.T, body []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// A board's images in one zip: queued once, built, fetched with names made safe and unique, the
// file served with ETag, If-None-Match, Range and a Content-Disposition name.
func TestDownloads_boardZipIsBuiltAndServedToItsOwner(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	b := w.board(t, w.alice.Token, "shared")
	one, oneData := w.upload(t, w.alice.Token, &b, "cat.png", 5)
	_, twoData := w.upload(t, w.alice.Token, &b, "cat.png", 6)
	_, evilData := w.upload(t, w.alice.Token, &b, "../../etc/passwd", 7)

	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": b})
	if v.Status != downloads.StatusPending || v.ImageCount != 3 || v.Bytes != int64(len(oneData)+len(twoData)+len(evilData)) {
		t.Fatalf("created %+v", v)
	}
	if n := w.q.queued(); n != 1 {
		t.Fatalf("%d tasks queued, want 1", n)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/downloads/"+v.ID.String()+"/file", w.bob.Token, nil); r.Status != http.StatusNotFound {
		t.Fatalf("file before the build: %d, want 404", r.Status)
	}
	w.build(t, v.ID, w.bob.ID)
	w.build(t, v.ID, w.bob.ID) // a redelivered task changes nothing
	got := dlGet(t, w.env, w.bob.Token, v.ID)
	if got.Status != downloads.StatusReady || got.Progress != 1 || got.OmittedCount != 0 || got.Checksum == "" {
		t.Fatalf("after build %+v", got)
	}
	files, names, r := w.zipOf(t, w.bob.Token, v.ID)
	wantNames := []string{"cat.png", "cat (2).png", "_.._etc_passwd.png", downloads.ManifestName}
	if strings.Join(names, "|") != strings.Join(wantNames, "|") {
		t.Errorf("entries %q, want %q", names, wantNames)
	}
	if !bytes.Equal(files["cat.png"], oneData) || !bytes.Equal(files["cat (2).png"], twoData) || !bytes.Equal(files["_.._etc_passwd.png"], evilData) {
		t.Error("entry contents differ from the uploads")
	}
	if !strings.Contains(string(files[downloads.ManifestName]), one.String()) {
		t.Errorf("manifest does not list the images:\n%s", files[downloads.ManifestName])
	}
	sum := sha256.Sum256(r.Body)
	if hex.EncodeToString(sum[:]) != got.Checksum || int64(len(r.Body)) != got.Bytes {
		t.Errorf("checksum/bytes %s/%d, zip is %x/%d", got.Checksum, got.Bytes, sum, len(r.Body))
	}
	etag := r.Header.Get("ETag")
	if etag != `"`+got.Checksum+`"` || r.Header.Get("Content-Type") != "application/zip" ||
		!strings.Contains(r.Header.Get("Content-Disposition"), `filename="download-`+v.ID.String()+`.zip"`) {
		t.Errorf("headers %v", r.Header)
	}
	path := "/api/v1/downloads/" + v.ID.String() + "/file"
	if r := w.env.DoWith(http.MethodGet, path, w.bob.Token, http.Header{"If-None-Match": {etag}}); r.Status != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r.Status)
	}
	part := w.env.DoWith(http.MethodGet, path, w.bob.Token, http.Header{"Range": {"bytes=10-29"}})
	if part.Status != http.StatusPartialContent || !bytes.Equal(part.Body, r.Body[10:30]) ||
		part.Header.Get("Content-Range") != "bytes 10-29/"+strconv.Itoa(len(r.Body)) {
		t.Errorf("Range: %d %q (%d bytes)", part.Status, part.Header.Get("Content-Range"), len(part.Body))
	}
	if r := w.env.DoWith(http.MethodGet, path, w.bob.Token, http.Header{"Range": {"bytes=999999999-"}}); r.Status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end: %d, want 416", r.Status)
	}
	// The list holds the owner's own downloads only.
	var page struct {
		Items []dlView `json:"items"`
	}
	w.env.Do(http.MethodGet, "/api/v1/downloads", w.bob.Token, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != v.ID {
		t.Errorf("bob lists %+v", page.Items)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/downloads", w.alice.Token, nil); strings.Contains(string(r.Body), v.ID.String()) {
		t.Errorf("alice's list shows bob's download: %s", r.Body)
	}
}

// InvokeAI step 1: POST /download took image names without checking them. Here one unreadable id
// (another user's uncategorised image, or one that does not exist) answers 404 naming it, and
// nothing is recorded or queued.
func TestDownloads_InvokeAI_uncheckedIdsQueueNothing(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	mine, _ := w.upload(t, w.bob.Token, nil, "mine.png", 4)
	hers, _ := w.upload(t, w.alice.Token, nil, "hers.png", 4) // uncategorised: alice's alone
	priv := w.board(t, w.alice.Token, "private")
	onPrivate, _ := w.upload(t, w.alice.Token, &priv, "private.png", 4)
	for _, c := range []struct {
		name  string
		ids   []uuid.UUID
		field string
	}{
		{"another user's uncategorised image", []uuid.UUID{mine, hers}, "image_ids[1]"},
		{"an image on a private board", []uuid.UUID{onPrivate, mine}, "image_ids[0]"},
		{"an id that does not exist", []uuid.UUID{mine, uuid.New()}, "image_ids[1]"},
	} {
		r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, map[string]any{"image_ids": c.ids})
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s: %d %s, want 404 naming %s", c.name, r.Status, r.Body, c.field)
		}
		if strings.Contains(string(r.Body), "private.png") || strings.Contains(string(r.Body), "hers.png") {
			t.Errorf("%s: the answer leaks a name: %s", c.name, r.Body)
		}
	}
	if n := w.q.queued(); n != 0 {
		t.Errorf("%d tasks queued after refused requests", n)
	}
	if n := bdCount(t, w.env, w.tn.ID, "SELECT count(*) FROM downloads"); n != 0 {
		t.Errorf("%d download rows after refused requests", n)
	}
}

// InvokeAI steps 2 and 3: the zip's name was a guessable token and GET /download/{name} served
// anyone. Here a download is addressed by id and every route answers 404 to anyone but its owner:
// another member, the tenant admin, another tenant's admin (and 401 to nobody at all).
func TestDownloads_InvokeAI_guessedIdFetchedByAnotherUser(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	other := w.env.SignUp(t)
	img, _ := w.upload(t, w.bob.Token, nil, "bob.png", 4)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}})
	w.build(t, v.ID, w.bob.ID)
	base := "/api/v1/downloads/" + v.ID.String()
	for _, who := range []struct {
		name  string
		token string
		want  int
	}{
		{"another member", w.alice.Token, http.StatusNotFound},
		{"the tenant admin", w.tn.Admin.Token, http.StatusNotFound},
		{"another tenant's admin", other.Admin.Token, http.StatusNotFound},
		{"nobody", "", http.StatusUnauthorized},
	} {
		for _, rq := range []struct{ method, path string }{
			{http.MethodGet, base}, {http.MethodGet, base + "/file"}, {http.MethodPost, base + "/link"}, {http.MethodDelete, base},
		} {
			r := w.env.Do(rq.method, rq.path, who.token, nil)
			if r.Status != who.want || bytes.Contains(r.Body, []byte("bob.png")) {
				t.Errorf("%s %s as %s: %d %s, want %d", rq.method, rq.path, who.name, r.Status, r.Body, who.want)
			}
		}
	}
	// A made-up link is 404 like any other.
	if r := w.env.Do(http.MethodGet, "/api/v1"+downloads.LinkPath+strings.Repeat("A", 118), "", nil); r.Status != http.StatusNotFound {
		t.Errorf("forged link: %d", r.Status)
	}
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusReady {
		t.Errorf("the owner's download after the attempts: %+v", got)
	}
}

// InvokeAI step 4: a capability link must die. A signed link works without an Authorization
// header until it expires (clock moved past it), and not after; nor once the download is deleted
// or its owner disabled.
func TestDownloads_InvokeAI_linkReusedAfterExpiry(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	ready := func() (uuid.UUID, string) {
		img, _ := w.upload(t, w.bob.Token, nil, "bob.png", 4)
		v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}})
		w.build(t, v.ID, w.bob.ID)
		return v.ID, dlMint(t, w.env, w.bob.Token, v.ID)
	}
	fetch := func(link string) int { return w.env.Do(http.MethodGet, link, "", nil).Status }

	_, link := ready()
	if !strings.HasPrefix(link, "/api/v1"+downloads.LinkPath) {
		t.Fatalf("link %q is not under /api/v1%s", link, downloads.LinkPath)
	}
	if s := fetch(link); s != http.StatusOK {
		t.Fatalf("fresh link: %d", s)
	}
	w.clock.Add(14 * time.Minute)
	if s := fetch(link); s != http.StatusOK {
		t.Fatalf("link after 14 minutes: %d", s)
	}
	w.clock.Add(time.Minute) // the default lifetime is 15 minutes
	if s := fetch(link); s != http.StatusNotFound {
		t.Errorf("link reused after its expiry: %d, want 404", s)
	}

	id, link := ready()
	if r := w.env.Do(http.MethodDelete, "/api/v1/downloads/"+id.String(), w.bob.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.Status)
	}
	if s := fetch(link); s != http.StatusNotFound {
		t.Errorf("link to a deleted download: %d, want 404", s)
	}

	_, link = ready()
	if r := w.env.Do(http.MethodPatch, "/api/v1/users/"+w.bob.ID.String(), w.tn.Admin.Token, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable bob: %d %s", r.Status, r.Body)
	}
	if s := fetch(link); s != http.StatusNotFound {
		t.Errorf("link of a disabled user: %d, want 404", s)
	}
}

// A link never outlives its download: a download about to expire mints a link that ends with it.
func TestDownloads_linkEndsWithTheDownload(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, _ := w.upload(t, w.bob.Token, nil, "bob.png", 4)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}})
	w.build(t, v.ID, w.bob.ID)
	w.clock.Add(24*time.Hour - 5*time.Minute)
	link := dlMint(t, w.env, w.bob.Token, v.ID)
	if s := w.env.Do(http.MethodGet, link, "", nil).Status; s != http.StatusOK {
		t.Fatalf("link: %d", s)
	}
	w.clock.Add(6 * time.Minute)
	if s := w.env.Do(http.MethodGet, link, "", nil).Status; s != http.StatusNotFound {
		t.Errorf("link after the download expired: %d, want 404", s)
	}
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusExpired {
		t.Errorf("status after expiry: %s", got.Status)
	}
	if r := w.env.Do(http.MethodPost, "/api/v1/downloads/"+v.ID.String()+"/link", w.bob.Token, nil); r.Status != http.StatusConflict {
		t.Errorf("minting for an expired download: %d, want 409", r.Status)
	}
}

// InvokeAI step 5: GET /images?board_id= reached a private board's images. Here a board id the
// caller cannot read is 404 with nothing queued; and a board's snapshot cannot reach an image
// moved to a private board before the build: it is left out and listed in the manifest.
func TestDownloads_InvokeAI_boardFilterReachesPrivateImages(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	priv := w.board(t, w.alice.Token, "private")
	w.upload(t, w.alice.Token, &priv, "secret.png", 4)
	r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, map[string]any{"board_id": priv})
	if r.Status != http.StatusNotFound || bytes.Contains(r.Body, []byte("secret")) {
		t.Fatalf("private board: %d %s, want 404", r.Status, r.Body)
	}
	if n := w.q.queued(); n != 0 {
		t.Fatalf("%d tasks queued for an unreadable board", n)
	}

	shared := w.board(t, w.alice.Token, "shared")
	kept, _ := w.upload(t, w.alice.Token, &shared, "kept.png", 4)
	moved, _ := w.upload(t, w.alice.Token, &shared, "moved.png", 5)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": shared})
	if r := w.env.Do(http.MethodPost, "/api/v1/boards/"+priv.String()+"/images", w.alice.Token,
		map[string]any{"image_ids": []uuid.UUID{moved}}); r.Status != http.StatusNoContent {
		t.Fatalf("move to the private board: %d %s", r.Status, r.Body)
	}
	w.build(t, v.ID, w.bob.ID)
	got := dlGet(t, w.env, w.bob.Token, v.ID)
	if got.Status != downloads.StatusReady || got.OmittedCount != 1 {
		t.Fatalf("after build %+v", got)
	}
	files, names, _ := w.zipOf(t, w.bob.Token, v.ID)
	if len(names) != 2 || names[0] != "kept.png" {
		t.Errorf("entries %q, want kept.png and the manifest", names)
	}
	m := string(files[downloads.ManifestName])
	if !strings.Contains(m, kept.String()) || !strings.Contains(m, "Left out (1)") || !strings.Contains(m, moved.String()) ||
		strings.Contains(m, "moved.png") {
		t.Errorf("manifest:\n%s", m)
	}
}

// The grant story: bob may read the shared board when he asks; his grant is revoked
// before the worker runs; the build, acting as bob at that moment, leaves every image out.
func TestDownloads_InvokeAI_grantRevokedBetweenEnqueueAndRun(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	shared := w.board(t, w.alice.Token, "shared")
	a, _ := w.upload(t, w.alice.Token, &shared, "a.png", 4)
	b, _ := w.upload(t, w.alice.Token, &shared, "b.png", 4)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{a, b}})
	if r := w.env.Do(http.MethodDelete, "/api/v1/workspaces/default/grants/"+w.bobGrant.String(), w.tn.Admin.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	w.build(t, v.ID, w.bob.ID)
	got := dlGet(t, w.env, w.bob.Token, v.ID)
	if got.Status != downloads.StatusReady || got.OmittedCount != 2 {
		t.Fatalf("after build %+v", got)
	}
	files, names, _ := w.zipOf(t, w.bob.Token, v.ID)
	if len(names) != 1 || names[0] != downloads.ManifestName {
		t.Errorf("entries %q: a revoked reader got images", names)
	}
	if m := string(files[downloads.ManifestName]); !strings.Contains(m, a.String()) || !strings.Contains(m, b.String()) {
		t.Errorf("manifest does not list the left-out images:\n%s", m)
	}
}

// A board deleted, or a requester disabled, between the request and the build: the download
// fails cleanly with a reason, and no file is ever served.
func TestDownloads_boardDeletedOrRequesterDisabledBeforeTheBuildFails(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	shared := w.board(t, w.alice.Token, "shared")
	w.upload(t, w.alice.Token, &shared, "a.png", 4)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": shared})
	if r := w.env.Do(http.MethodDelete, "/api/v1/boards/"+shared.String(), w.alice.Token, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete board: %d %s", r.Status, r.Body)
	}
	w.build(t, v.ID, w.bob.ID)
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusFailed || !strings.Contains(got.Error, "board") {
		t.Errorf("deleted board: %+v", got)
	}

	mine, _ := w.upload(t, w.alice.Token, nil, "mine.png", 4)
	v = dlCreate(t, w.env, w.alice.Token, map[string]any{"image_ids": []uuid.UUID{mine}})
	if r := w.env.Do(http.MethodPatch, "/api/v1/users/"+w.alice.ID.String(), w.tn.Admin.Token, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d", r.Status)
	}
	w.build(t, v.ID, w.alice.ID)
	if d := dlRow(t, w.env, w.tn.ID, v.ID); d.Status != downloads.StatusFailed || !strings.Contains(d.Error, "sign in") {
		t.Errorf("disabled requester: %s %q", d.Status, d.Error)
	}
}

// The quota profile bounds the number of images and their total size: 413 naming the limit,
// nothing queued.
func TestDownloads_quotaLimitsAnswer413NamingTheLimit(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	a, aData := w.upload(t, w.bob.Token, nil, "a.png", 4)
	b, _ := w.upload(t, w.bob.Token, nil, "b.png", 4)
	assign := func(settings map[string]any) {
		r := w.env.Do(http.MethodPost, "/api/v1/profiles", w.tn.Admin.Token,
			map[string]any{"type": "quota", "name": "q " + uuid.NewString()[:6], "settings": settings})
		if r.Status != http.StatusCreated {
			t.Fatalf("create profile: %d %s", r.Status, r.Body)
		}
		var p struct {
			ID uuid.UUID `json:"id"`
		}
		r.JSON(t, &p)
		if r := w.env.Do(http.MethodPut, "/api/v1/workspaces/default/profiles/quota", w.tn.Admin.Token,
			map[string]any{"profile_id": p.ID}); r.Status != http.StatusOK {
			t.Fatalf("assign profile: %d %s", r.Status, r.Body)
		}
	}
	assign(map[string]any{"max_bulk_download_images": 1})
	r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, map[string]any{"image_ids": []uuid.UUID{a, b}})
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), downloads.LimitImages) {
		t.Errorf("two images over a limit of one: %d %s", r.Status, r.Body)
	}
	assign(map[string]any{"max_bulk_download_bytes": len(aData) - 1})
	r = w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, map[string]any{"image_ids": []uuid.UUID{a}})
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), downloads.LimitBytes) {
		t.Errorf("bytes over the limit: %d %s", r.Status, r.Body)
	}
	if n := w.q.queued(); n != 0 {
		t.Errorf("%d tasks queued over the limits", n)
	}
}

// Bad input is a clear 400 naming the field, never a 500.
func TestDownloads_badInputNamesTheField(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, _ := w.upload(t, w.bob.Token, nil, "a.png", 4)
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"nothing", map[string]any{}, "image_ids"},
		{"empty list", map[string]any{"image_ids": []uuid.UUID{}}, "image_ids"},
		{"both", map[string]any{"image_ids": []uuid.UUID{img}, "board_id": uuid.New()}, "board_id"},
		{"not an id", map[string]any{"image_ids": []string{"x"}}, "image_ids"},
		{"unknown field", map[string]any{"image_ids": []uuid.UUID{img}, "zip": "deflate"}, "zip"},
	} {
		r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, c.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", c.name, r.Status, r.Body, c.field)
		}
	}
	// The optional workspace: one the caller cannot see is 404; images elsewhere are refused.
	if r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}, "workspace": "elsewhere"}); r.Status != http.StatusNotFound {
		t.Errorf("unknown workspace: %d %s", r.Status, r.Body)
	}
	r := w.env.Do(http.MethodPost, "/api/v1/workspaces", w.tn.Admin.Token, map[string]any{"name": "Other", "slug": "other"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create workspace: %d %s", r.Status, r.Body)
	}
	if r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.tn.Admin.Token, map[string]any{"image_ids": []uuid.UUID{img}, "workspace": "other"}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "image_ids[0]") {
		t.Errorf("image outside the named workspace: %d %s", r.Status, r.Body)
	}
	if v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}, "workspace": "default"}); v.Status != downloads.StatusPending {
		t.Errorf("in the named workspace: %+v", v)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/downloads/nope", w.bob.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("malformed id: %d, want 404 like any unknown download", r.Status)
	}
}

// A user's downloads waiting or being built at once are bounded: the next one is 429 until one
// finishes.
func TestDownloads_tooManyActiveDownloadsAnswer429(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, _ := w.upload(t, w.bob.Token, nil, "a.png", 4)
	body := map[string]any{"image_ids": []uuid.UUID{img}}
	var first dlView
	for i := range w.env.App.Downloads.Config().MaxActivePerUser {
		v := dlCreate(t, w.env, w.bob.Token, body)
		if i == 0 {
			first = v
		}
	}
	if r := w.env.Do(http.MethodPost, "/api/v1/downloads", w.bob.Token, body); r.Status != http.StatusTooManyRequests {
		t.Fatalf("one more: %d %s, want 429", r.Status, r.Body)
	}
	hers, _ := w.upload(t, w.alice.Token, nil, "b.png", 4)
	dlCreate(t, w.env, w.alice.Token, map[string]any{"image_ids": []uuid.UUID{hers}}) // the bound is per user
	w.build(t, first.ID, w.bob.ID)
	dlCreate(t, w.env, w.bob.Token, body)
}

// ticking is a clock that moves a second on every reading, so that every image of a build is
// "a second later" and reports progress.
type ticking struct {
	mu  sync.Mutex
	now time.Time
}

func (c *ticking) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// Progress reaches the row and the owner as the archive is written, at most once per
// ProgressEvery, always between 0 and 1, and the last event is the ready one.
func TestDownloads_progressIsReportedToTheOwnerWhileBuilding(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	b := w.board(t, w.alice.Token, "shared")
	for i := range 4 {
		w.upload(t, w.alice.Token, &b, "p.png", 4+i)
	}
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": b})
	events := make(chanNotifier, 64)
	s := w.env.App.Downloads
	deps := s.Deps
	deps.Notifier = events
	cfg := s.Config()
	cfg.ProgressEvery = time.Second
	cfg.Now = (&ticking{now: time.Now().UTC()}).Now
	svc := downloads.NewService(deps, cfg)
	if err := svc.Build(context.Background(), downloads.BuildPayload{TenantID: w.tn.ID, DownloadID: v.ID, RequesterID: w.bob.ID}); err != nil {
		t.Fatal(err)
	}
	close(events)
	var progress []float64
	var last downloads.Download
	for d := range events {
		if d.OwnerID != w.bob.ID {
			t.Errorf("event for %s", d.OwnerID)
		}
		if d.Status == downloads.StatusRunning && d.Progress > 0 {
			progress = append(progress, d.Progress)
		}
		last = d
	}
	if len(progress) == 0 || progress[len(progress)-1] > 1 {
		t.Errorf("progress events %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Errorf("progress went back: %v", progress)
		}
	}
	if last.Status != downloads.StatusReady || last.Progress != 1 {
		t.Errorf("last event %s %v", last.Status, last.Progress)
	}
}
