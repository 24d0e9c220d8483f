package jobs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// testRedisURL is the real Redis the tests use; they fail, never skip, when it is missing.
func testRedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// forEachBroker runs fn against the real Redis and against the embedded miniredis.
func forEachBroker(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, bc := range []struct{ name, url string }{
		{"redis", testRedisURL()},
		{"embedded", ""},
	} {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, bc.url))
		})
	}
}

// env is one test's broker, private queue and captured log.
type env struct {
	b     *Broker
	queue string
	log   *slog.Logger
	logs  *syncBuffer
}

// newEnv opens a broker and a queue name no other test uses, and deletes the queue's keys
// when the test ends, so packages sharing one Redis do not see each other's tasks.
func newEnv(t *testing.T, redisURL string) *env {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := OpenBroker(ctx, redisURL, log)
	if err != nil {
		t.Fatalf("cannot reach the test Redis %q (start redis-server or set TEST_REDIS_URL): %v", redisURL, err)
	}
	e := &env{b: b, queue: fmt.Sprintf("jobstest-%016x", rand.Uint64()), log: log, logs: logs}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	t.Cleanup(func() { e.deleteQueue(t) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured log:\n%s", logs.String())
		}
	})
	return e
}

// deleteQueue removes the queue through asynq's inspector, then the keys the inspector leaves
// behind (stats counters, completed set, uniqueness locks).
func (e *env) deleteQueue(t *testing.T) {
	t.Helper()
	insp := asynq.NewInspector(e.b.ConnOpt())
	defer insp.Close()
	if err := insp.DeleteQueue(e.queue, true); err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Errorf("delete queue %s: %v", e.queue, err)
	}
	ctx := context.Background()
	rdb := e.b.Redis()
	iter := rdb.Scan(ctx, 0, "asynq:{"+e.queue+"}:*", 100).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("delete %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan keys of queue %s: %v", e.queue, err)
	}
}

// startWorker runs a fast-polling worker on the test queue until the test ends.
func (e *env) startWorker(t *testing.T, register func(w *Worker)) *Worker {
	t.Helper()
	w := NewWorker(e.b, WorkerConfig{
		Concurrency:     4,
		Queues:          map[string]int{e.queue: 1},
		ShutdownTimeout: 2 * time.Second,
		RetryDelay:      func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond },
		PollInterval:    50 * time.Millisecond,
	}, e.log)
	register(w)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Shutdown)
	return w
}

// client returns a Client closed when the test ends.
func (e *env) client(t *testing.T) *Client {
	t.Helper()
	c := NewClient(e.b, e.log)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// taskState returns the task's state, or 0 when asynq no longer has it.
func (e *env) taskState(t *testing.T, id string) asynq.TaskState {
	t.Helper()
	insp := asynq.NewInspector(e.b.ConnOpt())
	defer insp.Close()
	info, err := insp.GetTaskInfo(e.queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return 0
	}
	if err != nil {
		t.Fatalf("inspect task %s: %v", id, err)
	}
	return info.State
}

// settled stops the worker, which waits for its running tasks and for asynq's bookkeeping of
// their outcome (done, retried, archived), and then checks that the queue holds nothing that
// could still run: a duplicate is then either a second run already counted or a task left here.
// No polling: after Shutdown the queue no longer changes under the test.
func (e *env) settled(t *testing.T, w *Worker) {
	t.Helper()
	w.Shutdown()
	insp := asynq.NewInspector(e.b.ConnOpt())
	defer insp.Close()
	q, err := insp.GetQueueInfo(e.queue)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return
	}
	if err != nil {
		t.Fatalf("inspect queue %s: %v", e.queue, err)
	}
	if n := q.Pending + q.Active + q.Scheduled + q.Retry + q.Aggregating; n != 0 {
		t.Fatalf("queue %s still holds %d tasks that could run (%+v)", e.queue, n, q)
	}
}

// receive waits for a value the test's handler sends. The bound only keeps a broken worker
// from hanging the test; nothing is asserted about how long it took.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitBound):
		t.Fatalf("no %s within %s", what, waitBound)
		panic("unreachable")
	}
}

// waitBound is how long a test waits for an event before it declares the code broken.
const waitBound = 10 * time.Second

// syncBuffer is a log sink that test goroutines may read while workers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// wrote is closed (and replaced) at every write, to wake waitRecords.
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		close(s.wrote)
		s.wrote = nil
	}
	return s.buf.Write(p)
}

// written returns a channel closed at the next write.
func (s *syncBuffer) written() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote == nil {
		s.wrote = make(chan struct{})
	}
	return s.wrote
}

// waitRecords waits until n records with message msg have been logged and returns them. It
// wakes on each write instead of polling.
func (s *syncBuffer) waitRecords(t *testing.T, msg string, n int) []map[string]any {
	t.Helper()
	timeout := time.After(waitBound)
	for {
		next := s.written() // taken before reading, so a write in between is not missed
		if recs := s.records(t, msg); len(recs) >= n {
			return recs
		}
		select {
		case <-next:
		case <-timeout:
			t.Fatalf("%q logged fewer than %d times within %s", msg, n, waitBound)
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// records returns the captured JSON records whose message is msg.
func (s *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader([]byte(s.String())))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}
