package app_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/downloads"
	"github.com/atelier-hq/atelier/tenancy"
)

// Fixtures for the download tests (the matrix rows and app/downloads_test.go).

// dlQueue records the build tasks a download request queues instead of sending them to Redis,
// so a test can say exactly what was queued (nothing, for a refused request) and run the build
// itself at the moment it chooses.
type dlQueue struct {
	mu    sync.Mutex
	tasks []downloads.BuildPayload
}

func (q *dlQueue) Enqueue(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	p, err := jobs.Decode[downloads.BuildPayload](t)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, p)
	return &asynq.TaskInfo{ID: p.DownloadID.String(), Type: t.Type()}, nil
}

// queued is how many build tasks were queued.
func (q *dlQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.tasks)
}

// dlRecord makes the app's downloads queue into a recorder. Call it before the first request.
func dlRecord(env *apptest.Env) *dlQueue {
	q := &dlQueue{}
	env.App.Downloads.Queue = q
	return q
}

var (
	dlQueuesMu sync.Mutex
	dlQueues   = map[*world]*dlQueue{}
)

// dlQueueOf is the matrix world's recorder.
func dlQueueOf(w *world) *dlQueue {
	dlQueuesMu.Lock()
	defer dlQueuesMu.Unlock()
	if q, ok := dlQueues[w]; ok {
		return q
	}
	q := dlRecord(w.env)
	dlQueues[w] = q
	return q
}

// dlView is a download as the API answers it.
type dlView struct {
	ID           uuid.UUID `json:"id"`
	Status       string    `json:"status"`
	ImageCount   int       `json:"image_count"`
	OmittedCount int       `json:"omitted_count"`
	Bytes        int64     `json:"bytes"`
	Progress     float64   `json:"progress"`
	Error        string    `json:"error"`
	Checksum     string    `json:"checksum"`
}

// dlCreate asks for a download and expects 202.
func dlCreate(t testing.TB, env *apptest.Env, token string, body any) dlView {
	t.Helper()
	r := env.Do(http.MethodPost, "/api/v1/downloads", token, body)
	if r.Status != http.StatusAccepted {
		t.Fatalf("create download: %d %s", r.Status, r.Body)
	}
	var v dlView
	r.JSON(t, &v)
	return v
}

// dlBuild runs the download's build task now, as the worker would.
func dlBuild(t *testing.T, env *apptest.Env, tenantID, downloadID, requester uuid.UUID) {
	t.Helper()
	task, err := jobs.NewTask(downloads.TaskBuild, downloads.BuildPayload{TenantID: tenantID, DownloadID: downloadID, RequesterID: requester})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.App.Downloads.BuildHandler().ProcessTask(context.Background(), task); err != nil {
		t.Fatalf("build download %s: %v", downloadID, err)
	}
}

// dlGet reads a download as its owner.
func dlGet(t *testing.T, env *apptest.Env, token string, id uuid.UUID) dlView {
	t.Helper()
	r := env.Do(http.MethodGet, "/api/v1/downloads/"+id.String(), token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get download: %d %s", r.Status, r.Body)
	}
	var v dlView
	r.JSON(t, &v)
	return v
}

// dlMint mints a link as the owner and returns its path.
func dlMint(t *testing.T, env *apptest.Env, token string, id uuid.UUID) string {
	t.Helper()
	r := env.Do(http.MethodPost, "/api/v1/downloads/"+id.String()+"/link", token, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("mint link: %d %s", r.Status, r.Body)
	}
	var l struct {
		URL string `json:"url"`
	}
	r.JSON(t, &l)
	return l.URL
}

// dlReady is a ready download of the actor in the matrix world, of one uncategorised image the
// actor owns; for actors with nothing in tenant A (anonymous, the other tenant) the board
// owner's.
func dlReady(t *testing.T, w *world, who actor) uuid.UUID {
	t.Helper()
	dlQueueOf(w)
	k := bdKitOf(t, w)
	user := k.owner
	if inA(who) {
		user = w.users[who]
	}
	img := k.imageRow(t, "msa/suit", nil, who)
	v := dlCreate(t, w.env, user.Token, map[string]any{"image_ids": []uuid.UUID{img}})
	dlBuild(t, w.env, w.a.ID, v.ID, user.ID)
	return v.ID
}

// dlRow reads a download row below the API.
func dlRow(t testing.TB, env *apptest.Env, tenantID, id uuid.UUID) downloads.Download {
	t.Helper()
	var d downloads.Download
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	if err := env.App.DB.Tx(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", id).Take(&d).Error }); err != nil {
		t.Fatalf("download row %s: %v", id, err)
	}
	return d
}
