package app_test

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/queue"
)

// The worker process of TestQueue_workerSIGKILLedMidItem: this test binary run again with
// ATELIER_QUEUE_WORKER set. It works the test's queue and, once the first node of an item has
// run, holds there (a node that never ends) until it is killed.
func TestQueue_helperWorkerProcess(t *testing.T) {
	if os.Getenv("ATELIER_QUEUE_WORKER") == "" {
		return // only as the helper process
	}
	cfg := configs.Defaults()
	cfg.DatabaseURL = os.Getenv("ATELIER_QUEUE_DATABASE_URL")
	cfg.RedisURL = os.Getenv("ATELIER_QUEUE_REDIS_URL")
	cfg.DataDir = os.Getenv("ATELIER_QUEUE_DATA_DIR")
	cfg.JWTSecret = os.Getenv("ATELIER_QUEUE_JWT_SECRET")
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	name := os.Getenv("ATELIER_QUEUE_WORKER")
	a.Queue.SetTaskQueue(name)
	a.Queue.SetNodeHook(func(uuid.UUID, string) { select {} })
	w := jobs.NewWorker(a.Broker, jobs.WorkerConfig{Queues: map[string]int{name: 1}, PollInterval: 20 * time.Millisecond}, log)
	a.RegisterTasks(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	select {}
}

// A worker SIGKILLed in the middle of an item leaves it running with a lease; nothing of its
// results was written (no row, no file). Once the lease has passed the sweeper fails it with the
// reason and an event, and the owner's retry runs it to the end on another worker.
func TestQueue_workerSIGKILLedMidItem_isFailedAfterItsLeaseAndLeavesNoHalfWrittenImage(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	cmd := exec.Command(os.Args[0], "-test.run=^TestQueue_helperWorkerProcess$")
	cmd.Env = append(os.Environ(), "ATELIER_QUEUE_WORKER="+w.queue, "ATELIER_QUEUE_DATABASE_URL="+w.n1.Cfg.DatabaseURL,
		"ATELIER_QUEUE_REDIS_URL="+w.n1.Cfg.RedisURL, "ATELIER_QUEUE_DATA_DIR="+w.n1.Cfg.DataDir,
		"ATELIER_QUEUE_JWT_SECRET="+w.n1.Cfg.JWTSecret)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	s := stream(t, w.n1, w.n1, w.userA.Token)
	imagesBefore := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`)
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	// The worker is a fresh process (this binary, built with the race detector): on a busy
	// machine it may take a while to open the app, so its first event gets a wide bound, and its
	// output is shown if it never comes.
	startBy := time.Now().Add(90 * time.Second)
	for {
		ev, ok := s.TryNext(time.Until(startBy))
		if !ok {
			t.Fatalf("no event from the worker process within 90s; its output:\n%s", out.String())
		}
		if ev.Name != "queue_item" {
			continue
		}
		d := dataOf(t, ev)
		if d["item_id"] == id.String() && d["node"] == "in" {
			break
		}
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("worker exit: %v\n%s", err, out.String())
	}
	exited <- nil // for the clean-up

	v := w.item(t, w.userA.Token, id)
	if v.Status != queue.StatusRunning || v.Progress <= 0 || v.Progress >= 1 {
		t.Fatalf("item after the kill: %s at %v", v.Status, v.Progress)
	}
	if n := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`); n != imagesBefore {
		t.Fatalf("%d images after the kill, want %d", n, imagesBefore)
	}
	assertFilesMatchRows(t, w)

	q := w.n1.App.Queue
	if n, err := q.Sweep(tenancyCtx(w.a.ID)); err != nil || n != 0 {
		t.Fatalf("sweep within the lease: %d, %v", n, err)
	}
	q.SetClock(func() time.Time { return time.Now().UTC().Add(w.n1.Cfg.QueueLease + time.Minute) })
	n, err := q.Sweep(tenancyCtx(w.a.ID))
	q.SetClock(func() time.Time { return time.Now().UTC() })
	if err != nil || n != 1 {
		t.Fatalf("sweep after the lease: %d, %v", n, err)
	}
	evs := until(t, s, id)
	if last := evs[len(evs)-1]; last.Status != queue.StatusFailed || !strings.Contains(last.Error, "lease expired") {
		t.Fatalf("event after the sweep: %+v", last)
	}

	w.startWorker(t)
	if r := w.n1.Do(http.MethodPost, "/api/v1/queue/"+id.String()+"/retry", w.userA.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if evs := until(t, s, id); evs[len(evs)-1].Status != queue.StatusCompleted {
		t.Fatalf("retried item: %+v", evs[len(evs)-1])
	}
	assertFilesMatchRows(t, w)
}

// assertFilesMatchRows checks the image storage: no temp file left, and every stored file
// belongs to an image row.
func assertFilesMatchRows(t *testing.T, w *qWorld) {
	t.Helper()
	root := filepath.Join(w.n1.Cfg.DataDir, "images", w.a.ID.String())
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimSuffix(strings.TrimSuffix(d.Name(), ".thumb"), ".clean")
		id, perr := uuid.Parse(name)
		if perr != nil {
			t.Errorf("stray file %s", path)
			return nil
		}
		if bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images WHERE id = ?`, id) != 1 {
			t.Errorf("file %s has no image row", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
