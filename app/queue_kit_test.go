package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/queue"
)

// Fixtures for the queue tests: the events world (two API nodes on one database and Redis,
// tenant A with workspace Studio, users A and B as editors, a workspace admin; tenant B) plus a
// board and an image of A's and of B's, a private workflow of A's, and — when asked — a worker
// process. Runs go to an asynq queue of the test's own, so that parallel tests sharing the
// Redis never take each other's tasks.

type qWorld struct {
	*eventsWorld
	queue          string
	boardA, boardB uuid.UUID
	imgA, imgB     uuid.UUID
	wfA            uuid.UUID
	worker         *apptest.Env
}

func newQWorld(t *testing.T, withWorker bool) *qWorld {
	t.Helper()
	w := &qWorld{eventsWorld: newEventsWorld(t)}
	w.queue = isolateQueue(t, w.n1)
	w.n2.App.Queue.SetTaskQueue(w.queue)
	w.boardA = w.board(t, w.userA.Token)
	w.boardB = w.board(t, w.userB.Token)
	w.imgA = bdUpload(t, w.n1, w.userA.Token, w.ws.String(), &w.boardA, bdPNG(40, 30))
	w.imgB = bdUpload(t, w.n1, w.userB.Token, w.ws.String(), &w.boardB, bdPNG(30, 20))
	w.wfA = w.workflow(t, w.userA.Token, wfGraph)
	if withWorker {
		w.worker = w.startWorker(t)
	}
	return w
}

// isolateQueue sends the node's runs to an asynq queue of the test's own, removed from Redis
// when the test ends, and returns its name.
func isolateQueue(t *testing.T, n *apptest.Env) string {
	t.Helper()
	name := "qtest-" + uuid.NewString()[:12]
	n.App.Queue.SetTaskQueue(name)
	t.Cleanup(func() {
		insp := asynq.NewInspector(n.App.Broker.ConnOpt())
		defer insp.Close()
		_ = insp.DeleteQueue(name, true)
	})
	return name
}

// startWorker runs a third process of the product that only works: it takes runs from the
// test's queue.
func (w *qWorld) startWorker(t *testing.T) *apptest.Env {
	t.Helper()
	wk := w.n1.Peer(t)
	wk.App.Queue.SetTaskQueue(w.queue)
	jw := jobs.NewWorker(wk.App.Broker, jobs.WorkerConfig{Concurrency: 2, Queues: map[string]int{w.queue: 1},
		PollInterval: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second}, wk.App.Log)
	wk.App.RegisterTasks(jw)
	if err := jw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(jw.Shutdown)
	return wk
}

func (w *qWorld) board(t *testing.T, token string) uuid.UUID {
	t.Helper()
	r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/boards", token, map[string]any{"name": "board " + uuid.NewString()[:6]})
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: board: %d %s", r.Status, r.Body)
	}
	return idOf(t, r)
}

func (w *qWorld) workflow(t *testing.T, token, graph string) uuid.UUID {
	t.Helper()
	r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/workflows", token,
		map[string]any{"name": "wf " + uuid.NewString()[:6], "graph": rawJSON(graph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("fixture: workflow: %d %s", r.Status, r.Body)
	}
	return idOf(t, r)
}

func idOf(t *testing.T, r apptest.Response) uuid.UUID {
	t.Helper()
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &v)
	if v.ID == uuid.Nil {
		t.Fatalf("no id in %s", r.Body)
	}
	return v.ID
}

// enqueue asks node n to run workflow wf into board with image img as the input.
func (w *qWorld) enqueue(n *apptest.Env, token string, wf, board, img uuid.UUID) apptest.Response {
	return n.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/queue", token, map[string]any{
		"workflow_id": wf, "board_id": board, "field_values": map[string]any{"in.image_id": img}})
}

func (w *qWorld) mustEnqueue(t *testing.T, token string, wf, board, img uuid.UUID) uuid.UUID {
	t.Helper()
	r := w.enqueue(w.n1, token, wf, board, img)
	if r.Status != http.StatusCreated {
		t.Fatalf("enqueue: %d %s", r.Status, r.Body)
	}
	return idOf(t, r)
}

// itemEvent is a queue_item event's data.
type itemEvent struct {
	ItemID    uuid.UUID   `json:"item_id"`
	Status    string      `json:"status"`
	Progress  float64     `json:"progress"`
	Node      string      `json:"node"`
	Error     string      `json:"error"`
	ResultIDs []uuid.UUID `json:"result_image_ids"`
}

// until reads the stream until the item reaches a final status and returns its events.
func until(t *testing.T, s *apptest.SSE, item uuid.UUID) []itemEvent {
	t.Helper()
	var got []itemEvent
	for {
		ev := s.NextNamed(t, "queue_item")
		var d itemEvent
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatal(err)
		}
		if d.ItemID != item {
			continue
		}
		got = append(got, d)
		switch d.Status {
		case queue.StatusCompleted, queue.StatusFailed, queue.StatusCanceled:
			return got
		}
	}
}

// item reads a queue item as the token's user.
func (w *qWorld) item(t *testing.T, token string, id uuid.UUID) queue.View {
	t.Helper()
	r := w.n1.Do(http.MethodGet, "/api/v1/queue/"+id.String(), token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get item: %d %s", r.Status, r.Body)
	}
	var v queue.View
	r.JSON(t, &v)
	return v
}

func qCount(t *testing.T, w *qWorld) int64 {
	t.Helper()
	return bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM queue_items`)
}

var bg = context.Background()

// sseT is an event stream in a table.
type sseT struct{ *apptest.SSE }
