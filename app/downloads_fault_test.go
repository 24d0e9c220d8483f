package app_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/downloads"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/tenancy"
)

// faultyImages hands out image files whose reader misbehaves (panics or blocks) once the
// archive is under way: the worker dies in the middle of a zip.
type faultyImages struct {
	downloads.Images
	mu    sync.Mutex
	opens int
	// at is the open (1-based) whose reader misbehaves; -1: every one.
	at    int
	fault func() // called by the faulty reader's first Read
}

func (f *faultyImages) File(ctx context.Context, id uuid.UUID, thumb bool) (images.Image, images.ReadSeekCloser, int64, error) {
	img, r, size, err := f.Images.File(ctx, id, thumb)
	if err != nil {
		return img, r, size, err
	}
	f.mu.Lock()
	f.opens++
	n := f.opens
	f.mu.Unlock()
	if n == f.at || f.at < 0 {
		return img, &faultyReader{ReadSeekCloser: r, fault: f.fault}, size, nil
	}
	return img, r, size, nil
}

type faultyReader struct {
	images.ReadSeekCloser
	fault func()
}

func (r *faultyReader) Read([]byte) (int, error) {
	r.fault()
	return 0, io.ErrUnexpectedEOF
}

// serviceWith builds a second downloads service on the app's collaborators, with images
// replaced and the app's configuration.
func serviceWith(env interface {
	Downloads() *downloads.Service
}, imgs downloads.Images) *downloads.Service {
	s := env.Downloads()
	deps := s.Deps
	deps.Images = imgs
	return downloads.NewService(deps, s.Config())
}

type appEnv struct{ a *app.App }

func (e appEnv) Downloads() *downloads.Service { return e.a.Downloads }

// storedObjects lists the tenant's stored archives and temporary files.
func storedObjects(t *testing.T, s *downloads.Service, tenantID uuid.UUID) (committed, temp int) {
	t.Helper()
	objs, err := s.Storage.List(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Temp {
			temp++
		} else {
			committed++
		}
	}
	return committed, temp
}

// A worker that panics in the middle of a zip: nothing is served as complete, no temporary file
// remains, and the retry builds the whole archive.
func TestDownloads_fault_panicMidZipServesNothingAndTheRetryCompletes(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	b := w.board(t, w.alice.Token, "shared")
	for i := range 3 {
		w.upload(t, w.alice.Token, &b, fmt.Sprintf("%d.png", i), 5+i)
	}
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": b})
	faulty := serviceWith(appEnv{w.env.App}, &faultyImages{Images: w.env.App.Images, at: 2, fault: func() { panic("worker dies mid-zip") }})
	task, _ := jobs.NewTask(downloads.TaskBuild, downloads.BuildPayload{TenantID: w.tn.ID, DownloadID: v.ID, RequesterID: w.bob.ID})
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the faulty build did not panic")
			}
		}()
		_ = faulty.BuildHandler().ProcessTask(context.Background(), task)
	}()
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusRunning || got.Checksum != "" {
		t.Fatalf("after the crash: %+v", got)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/downloads/"+v.ID.String()+"/file", w.bob.Token, nil); r.Status != http.StatusNotFound {
		t.Fatalf("file after the crash: %d, want 404", r.Status)
	}
	if c, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); c != 0 || tmp != 0 {
		t.Fatalf("after the crash: %d archives and %d temporary files stored", c, tmp)
	}
	dlBuild(t, w.env, w.tn.ID, v.ID, w.bob.ID) // asynq's retry
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusReady {
		t.Fatalf("after the retry: %+v", got)
	}
	if files, _, _ := w.zipOf(t, w.bob.Token, v.ID); len(files) != 4 {
		t.Errorf("retried zip holds %d entries, want 3 images and the manifest", len(files))
	}
}

// A build that keeps failing is retried by the real asynq worker, and its last attempt marks the
// download failed with a clear status; nothing is left stored.
func TestDownloads_fault_lastAttemptMarksFailed(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, _ := w.upload(t, w.bob.Token, nil, "a.png", 4)
	faulty := &faultyImages{Images: w.env.App.Images, at: -1, fault: func() {}}
	events := make(chanNotifier, 64)
	svc := realWorker(t, w, faulty, events, 1)
	ctx := tenancy.WithPrincipal(context.Background(), tenancy.Principal{TenantID: w.tn.ID, UserID: w.bob.ID, Kind: tenancy.CredentialSession})
	v, err := svc.Create(ctx, downloads.CreateInput{ImageIDs: []uuid.UUID{img}})
	if err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, events, v.ID, downloads.StatusFailed)
	if d.Error != "the archive could not be built" {
		t.Errorf("failed with %q", d.Error)
	}
	faulty.mu.Lock()
	attempts := faulty.opens
	faulty.mu.Unlock()
	if attempts != 2 {
		t.Errorf("%d attempts, want 2 (MaxRetry 1)", attempts)
	}
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusFailed {
		t.Errorf("status %s", got.Status)
	}
	if c, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); c != 0 || tmp != 0 {
		t.Errorf("a failed build left %d archives and %d temporary files", c, tmp)
	}
}

// realWorker runs a downloads service with imgs on a private queue of the real Redis, built by a
// real asynq worker that retries at once; changes go to events.
func realWorker(t *testing.T, w *dlWorld, imgs downloads.Images, events chanNotifier, maxRetry int) *downloads.Service {
	t.Helper()
	queue := "test-downloads-" + uuid.NewString()[:8]
	s := w.env.App.Downloads
	deps := s.Deps
	deps.Queue, deps.Notifier, deps.Images = w.env.App.Jobs, events, imgs
	cfg := s.Config()
	cfg.Queue, cfg.MaxRetry = queue, maxRetry
	svc := downloads.NewService(deps, cfg)
	worker := jobs.NewWorker(w.env.App.Broker, jobs.WorkerConfig{Queues: map[string]int{queue: 1}, PollInterval: 50 * time.Millisecond,
		RetryDelay: func(int, error, *asynq.Task) time.Duration { return 0 }}, nil)
	worker.Handle(downloads.TaskBuild, svc.BuildHandler())
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		worker.Shutdown()
		insp := asynq.NewInspector(w.env.App.Broker.ConnOpt())
		_ = insp.DeleteQueue(queue, true)
		_ = insp.Close()
	})
	return svc
}

// waitFor waits for the download's event with the status.
func waitFor(t *testing.T, events chanNotifier, id uuid.UUID, status string) downloads.Download {
	t.Helper()
	deadline := time.After(30 * time.Second) // a bound on a broken worker, not a wait for one
	for {
		select {
		case d := <-events:
			if d.ID != id {
				t.Fatalf("event for %s", d.ID)
			}
			if d.Status == status {
				return d
			}
		case <-deadline:
			t.Fatalf("no %s event for download %s", status, id)
		}
	}
}

// The real thing: a worker process killed with SIGKILL in the middle of a zip (no deferred
// clean-up runs). Nothing is served as complete; the cleanup job removes the dead writer's
// temporary file once the grace period has passed; the redelivered task builds the archive.
func TestDownloads_fault_sigkillMidZip(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	b := w.board(t, w.alice.Token, "shared")
	for i := range 3 {
		w.upload(t, w.alice.Token, &b, fmt.Sprintf("%d.png", i), 5+i)
	}
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": b})

	cmd := exec.Command(os.Args[0], "-test.run", "^TestDownloads_fault_sigkillWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DL_KILL_WORKER=1", "DL_DATABASE_URL="+w.env.Cfg.DatabaseURL,
		"DL_REDIS_URL="+w.env.Cfg.RedisURL, "DL_DATA_DIR="+w.env.Cfg.DataDir, "DL_JWT_SECRET="+w.env.Cfg.JWTSecret,
		"DL_TENANT="+w.tn.ID.String(), "DL_DOWNLOAD="+v.ID.String(), "DL_USER="+w.bob.ID.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	blocked := false
	for sc.Scan() {
		if sc.Text() == "MID-ZIP" {
			blocked = true
			break
		}
	}
	if !blocked {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the worker process never reached the middle of the zip: %s", stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()

	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusRunning {
		t.Fatalf("after SIGKILL: %+v", got)
	}
	if r := w.env.Do(http.MethodGet, "/api/v1/downloads/"+v.ID.String()+"/file", w.bob.Token, nil); r.Status != http.StatusNotFound {
		t.Fatalf("file after SIGKILL: %d, want 404", r.Status)
	}
	if _, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); tmp != 1 {
		t.Fatalf("%d temporary files after SIGKILL, want the dead writer's one", tmp)
	}
	// The cleanup job leaves a temporary file alone while its writer may be alive…
	if _, err := w.env.App.Downloads.Cleanup(tenancy.WithTenant(context.Background(), w.tn.ID)); err != nil {
		t.Fatal(err)
	}
	if _, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); tmp != 1 {
		t.Fatalf("cleanup removed a temporary file within the grace period")
	}
	// …and removes it once nobody has written to it for the grace period.
	w.clock.Add(w.env.App.Downloads.Config().TempGrace + time.Minute)
	r, err := w.env.App.Downloads.Cleanup(tenancy.WithTenant(context.Background(), w.tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	if c, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); r.TempRemoved != 1 || c != 0 || tmp != 0 {
		t.Fatalf("after cleanup (%+v): %d archives, %d temporary files", r, c, tmp)
	}
	dlBuild(t, w.env, w.tn.ID, v.ID, w.bob.ID) // the redelivered task
	if got := dlGet(t, w.env, w.bob.Token, v.ID); got.Status != downloads.StatusReady {
		t.Fatalf("after the redelivered task: %+v", got)
	}
	if files, _, _ := w.zipOf(t, w.bob.Token, v.ID); len(files) != 4 {
		t.Errorf("rebuilt zip holds %d entries", len(files))
	}
}

// TestDownloads_fault_sigkillWorkerProcess is the worker process TestDownloads_fault_sigkillMidZip
// starts and kills; run on its own it has nothing to do and passes.
func TestDownloads_fault_sigkillWorkerProcess(t *testing.T) {
	if os.Getenv("DL_KILL_WORKER") != "1" {
		return
	}
	cfg := configs.Defaults()
	cfg.DatabaseURL, cfg.RedisURL = os.Getenv("DL_DATABASE_URL"), os.Getenv("DL_REDIS_URL")
	cfg.DataDir, cfg.JWTSecret, cfg.LogLevel = os.Getenv("DL_DATA_DIR"), os.Getenv("DL_JWT_SECRET"), "error"
	a, err := app.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	svc := serviceWith(appEnv{a}, &faultyImages{Images: a.Images, at: 2, fault: func() {
		fmt.Println("MID-ZIP")
		<-block // until SIGKILL
	}})
	task, _ := jobs.NewTask(downloads.TaskBuild, downloads.BuildPayload{TenantID: uuid.MustParse(os.Getenv("DL_TENANT")),
		DownloadID: uuid.MustParse(os.Getenv("DL_DOWNLOAD")), RequesterID: uuid.MustParse(os.Getenv("DL_USER"))})
	err = svc.BuildHandler().ProcessTask(context.Background(), task)
	t.Fatalf("the worker process finished (%v); it should have been killed", err)
}

// chanNotifier reports every change on a channel.
type chanNotifier chan downloads.Download

func (c chanNotifier) DownloadChanged(_ context.Context, d downloads.Download) {
	select {
	case c <- d:
	default:
	}
}

// End to end on the real Redis: the request queues the build, a real asynq worker runs it, and
// the owner is told it is ready (every event of the download carries its owner).
func TestDownloads_realWorkerBuildsAndNotifiesTheOwner(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, data := w.upload(t, w.bob.Token, nil, "a.png", 9)
	events := make(chanNotifier, 64)
	svc := realWorker(t, w, w.env.App.Images, events, 3)
	ctx := tenancy.WithPrincipal(context.Background(), tenancy.Principal{TenantID: w.tn.ID, UserID: w.bob.ID, Kind: tenancy.CredentialSession})
	v, err := svc.Create(ctx, downloads.CreateInput{ImageIDs: []uuid.UUID{img}})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitFor(t, events, v.ID, downloads.StatusReady); d.OwnerID != w.bob.ID || d.TenantID != w.tn.ID {
		t.Errorf("ready event for owner %s of tenant %s", d.OwnerID, d.TenantID)
	}
	files, _, _ := w.zipOf(t, w.bob.Token, v.ID)
	if string(files["a.png"]) != string(data) {
		t.Errorf("zip entries %d, a.png %d bytes", len(files), len(files["a.png"]))
	}
}

// The cleanup job expires files and rows in every tenant; a tenant that fails does not stop the
// others, and the next run catches up.
func TestDownloads_cleanupExpiresEveryTenantDespiteAFailingOne(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	other := w.env.SignUp(t)
	mk := func(token string, tenantID, user uuid.UUID, ws string) uuid.UUID {
		t.Helper()
		r := w.env.Do(http.MethodPost, "/api/v1/workspaces/"+ws+"/images", token,
			bdForm(nil, "a.png", bdPNG(4, 4)))
		if r.Status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
		var img struct {
			ID uuid.UUID `json:"id"`
		}
		r.JSON(t, &img)
		v := dlCreate(t, w.env, token, map[string]any{"image_ids": []uuid.UUID{img.ID}})
		dlBuild(t, w.env, tenantID, v.ID, user)
		return v.ID
	}
	inA := mk(w.bob.Token, w.tn.ID, w.bob.ID, "default")
	inB := mk(other.Admin.Token, other.ID, other.Admin.ID, "default")
	w.clock.Add(25 * time.Hour)

	s := w.env.App.Downloads
	deps := s.Deps
	deps.Storage = failingStorage{Storage: s.Storage, bad: w.tn.ID}
	broken := downloads.NewService(deps, s.Config())
	tenants := fixedTenants{w.tn.ID, other.ID}
	err := broken.CleanupHandler(tenants).ProcessTask(context.Background(), asynq.NewTask(downloads.TaskCleanup, nil))
	if err == nil || !strings.Contains(err.Error(), w.tn.ID.String()) {
		t.Fatalf("cleanup with a failing tenant: %v", err)
	}
	if d := dlRow(t, w.env, other.ID, inB); d.Status != downloads.StatusExpired {
		t.Errorf("the other tenant was not cleaned: %s", d.Status)
	}
	if c, _ := storedObjects(t, s, other.ID); c != 0 {
		t.Errorf("the other tenant keeps %d archives", c)
	}
	if d := dlRow(t, w.env, w.tn.ID, inA); d.Status != downloads.StatusReady {
		t.Errorf("the failing tenant's row: %s (its file could not be deleted)", d.Status)
	}
	// The next run, storage healthy again, catches up; after the retention the rows go.
	if err := s.CleanupHandler(tenants).ProcessTask(context.Background(), asynq.NewTask(downloads.TaskCleanup, nil)); err != nil {
		t.Fatal(err)
	}
	if d := dlRow(t, w.env, w.tn.ID, inA); d.Status != downloads.StatusExpired {
		t.Errorf("after the second run: %s", d.Status)
	}
	if c, _ := storedObjects(t, s, w.tn.ID); c != 0 {
		t.Errorf("tenant A keeps %d archives", c)
	}
	w.clock.Add(s.Config().RowRetention)
	if err := s.CleanupHandler(tenants).ProcessTask(context.Background(), asynq.NewTask(downloads.TaskCleanup, nil)); err != nil {
		t.Fatal(err)
	}
	if n := bdCount(t, w.env, w.tn.ID, "SELECT count(*) FROM downloads"); n != 0 {
		t.Errorf("%d rows left after the retention", n)
	}
	if n := bdCount(t, w.env, other.ID, "SELECT count(*) FROM downloads"); n != 0 {
		t.Errorf("%d rows of the other tenant left after the retention", n)
	}
}

type fixedTenants []uuid.UUID

func (f fixedTenants) IDs(context.Context) ([]uuid.UUID, error) { return f, nil }

// failingStorage fails to delete the archives of one tenant.
type failingStorage struct {
	downloads.Storage
	bad uuid.UUID
}

func (f failingStorage) Delete(ctx context.Context, tenantID uuid.UUID, name string) error {
	if tenantID == f.bad {
		return errors.New("disk says no")
	}
	return f.Storage.Delete(ctx, tenantID, name)
}

// hookImages runs a hook once, before the first image file is opened.
type hookImages struct {
	downloads.Images
	once sync.Once
	hook func()
}

func (h *hookImages) File(ctx context.Context, id uuid.UUID, thumb bool) (images.Image, images.ReadSeekCloser, int64, error) {
	h.once.Do(h.hook)
	return h.Images.File(ctx, id, thumb)
}

// asynq delivers at least once: a second delivery of a build task may run while the first is
// still writing. Each writes under its own name; the one that completes first is recorded, the
// other removes its own file, and the recorded archive is whole and served.
func TestDownloads_fault_duplicateDeliveriesNeverClobberEachOther(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	b := w.board(t, w.alice.Token, "shared")
	for i := range 2 {
		w.upload(t, w.alice.Token, &b, fmt.Sprintf("%d.png", i), 5+i)
	}
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"board_id": b})
	first := serviceWith(appEnv{w.env.App}, &hookImages{Images: w.env.App.Images, hook: func() {
		dlBuild(t, w.env, w.tn.ID, v.ID, w.bob.ID) // the second delivery runs to completion meanwhile
	}})
	task, _ := jobs.NewTask(downloads.TaskBuild, downloads.BuildPayload{TenantID: w.tn.ID, DownloadID: v.ID, RequesterID: w.bob.ID})
	if err := first.BuildHandler().ProcessTask(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	got := dlGet(t, w.env, w.bob.Token, v.ID)
	if got.Status != downloads.StatusReady {
		t.Fatalf("after both deliveries: %+v", got)
	}
	files, _, r := w.zipOf(t, w.bob.Token, v.ID)
	sum := sha256.Sum256(r.Body)
	if len(files) != 3 || hex.EncodeToString(sum[:]) != got.Checksum {
		t.Errorf("served zip: %d entries, sha256 %x, row says %s", len(files), sum, got.Checksum)
	}
	if c, tmp := storedObjects(t, w.env.App.Downloads, w.tn.ID); c != 1 || tmp != 0 {
		t.Errorf("%d archives and %d temporary files stored, want the recorded one only", c, tmp)
	}
}

// A pending download whose task was lost (an embedded broker's queue lives in memory) is queued
// again by the cleanup job, under the same task id; a fresh one is left to its queue.
func TestDownloads_cleanupQueuesLostBuildsAgain(t *testing.T) {
	t.Parallel()
	w := newDLWorld(t)
	img, _ := w.upload(t, w.bob.Token, nil, "a.png", 4)
	v := dlCreate(t, w.env, w.bob.Token, map[string]any{"image_ids": []uuid.UUID{img}})
	ctx := tenancy.WithTenant(context.Background(), w.tn.ID)
	if r, err := w.env.App.Downloads.Cleanup(ctx); err != nil || r.Requeued != 0 {
		t.Fatalf("fresh download: %+v %v", r, err)
	}
	w.clock.Add(w.env.App.Downloads.Config().TempGrace + time.Minute)
	if r, err := w.env.App.Downloads.Cleanup(ctx); err != nil || r.Requeued != 1 {
		t.Fatalf("lost task: %+v %v", r, err)
	}
	w.q.mu.Lock()
	tasks := append([]downloads.BuildPayload(nil), w.q.tasks...)
	w.q.mu.Unlock()
	if len(tasks) != 2 || tasks[1] != tasks[0] || tasks[1].DownloadID != v.ID || tasks[1].RequesterID != w.bob.ID {
		t.Errorf("queued %+v", tasks)
	}
}
