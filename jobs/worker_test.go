package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

type greeting struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestWorker_processesEnqueuedTaskWithDecodedPayload(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		got := make(chan greeting, 1)
		e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:greet", func(_ context.Context, task *asynq.Task) error {
				g, err := Decode[greeting](task)
				if err != nil {
					return err
				}
				got <- g
				return nil
			})
		})
		want := greeting{Name: "Ada", Count: 3}
		task, err := NewTask("test:greet", want)
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.client(t).Enqueue(context.Background(), task, asynq.Queue(e.queue))
		if err != nil || info == nil {
			t.Fatalf("Enqueue = %v, %v; want info and no error", info, err)
		}
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("handler got %+v, want %+v", g, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("task was not processed within 10s")
		}
	})
}

func TestWorker_retriesFailingTaskUntilItSucceeds(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		var attempts atomic.Int32
		done := make(chan struct{})
		e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:flaky", func(context.Context, *asynq.Task) error {
				if attempts.Add(1) <= 2 {
					return errors.New("upstream unavailable")
				}
				close(done)
				return nil
			})
		})
		task, _ := NewTask("test:flaky", struct{}{})
		if _, err := e.client(t).Enqueue(context.Background(), task, asynq.Queue(e.queue), asynq.MaxRetry(3)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("task did not succeed within 10s; attempts = %d", attempts.Load())
		}
		if n := attempts.Load(); n != 3 {
			t.Fatalf("attempts = %d, want 3", n)
		}
		failures := e.logs.records(t, "task failed")
		if len(failures) != 2 {
			t.Fatalf("%d failure records, want 2: %v", len(failures), failures)
		}
		for i, rec := range failures {
			if rec["level"] != "WARN" || rec["task_type"] != "test:flaky" || rec["retried"] != float64(i) ||
				rec["max_retry"] != float64(3) || rec["will_retry"] != true || rec["error"] != "upstream unavailable" {
				t.Errorf("failure record %d = %v", i, rec)
			}
		}
	})
}

func TestWorker_failedTaskIsArchivedWithoutRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		task    *asynq.Task
		opts    []asynq.Option
		handler func(context.Context, *asynq.Task) error
		wantLog string // the logging middleware's record of the attempt
	}{
		{
			name: "malformed payload skips its retries",
			task: asynq.NewTask("test:decode", []byte(`{"name": 42`)),
			opts: []asynq.Option{asynq.MaxRetry(5)},
			handler: func(_ context.Context, task *asynq.Task) error {
				_, err := Decode[greeting](task)
				return err
			},
			wantLog: "task finished",
		},
		{
			name: "panic with no retry left",
			task: asynq.NewTask("test:panic", nil),
			opts: []asynq.Option{asynq.MaxRetry(0)},
			handler: func(context.Context, *asynq.Task) error {
				panic("boom")
			},
			wantLog: "task panicked",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachBroker(t, func(t *testing.T, e *env) {
				var attempts atomic.Int32
				w := e.startWorker(t, func(w *Worker) {
					w.HandleFunc(tc.task.Type(), func(ctx context.Context, task *asynq.Task) error {
						attempts.Add(1)
						return tc.handler(ctx, task)
					})
				})
				opts := append([]asynq.Option{asynq.Queue(e.queue)}, tc.opts...)
				info, err := e.client(t).Enqueue(context.Background(), tc.task, opts...)
				if err != nil {
					t.Fatal(err)
				}
				// The failure is logged before asynq archives the task; stopping the worker
				// waits for that bookkeeping, after which the state no longer changes.
				e.logs.waitRecords(t, "task failed", 1)
				w.Shutdown()
				if st := e.taskState(t, info.ID); st != asynq.TaskStateArchived {
					t.Fatalf("task state = %v, want archived", st)
				}
				if n := attempts.Load(); n != 1 {
					t.Fatalf("attempts = %d, want 1", n)
				}
				failures := e.logs.records(t, "task failed")
				if len(failures) != 1 || failures[0]["level"] != "ERROR" || failures[0]["will_retry"] != false ||
					failures[0]["outcome"] != "archived" {
					t.Fatalf("failure records = %v, want one ERROR record with outcome archived", failures)
				}
				if recs := e.logs.records(t, tc.wantLog); len(recs) != 1 {
					t.Fatalf("%d %q records, want 1", len(recs), tc.wantLog)
				}
			})
		})
	}
}

func TestWorker_routesExactTypeOnly(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		var wrong atomic.Int32
		w := e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:purge", func(context.Context, *asynq.Task) error {
				wrong.Add(1)
				return nil
			})
		})
		task := asynq.NewTask("test:purge_all", nil)
		info, err := e.client(t).Enqueue(context.Background(), task, asynq.Queue(e.queue), asynq.MaxRetry(0))
		if err != nil {
			t.Fatal(err)
		}
		e.logs.waitRecords(t, "task failed", 1)
		w.Shutdown()
		if st := e.taskState(t, info.ID); st != asynq.TaskStateArchived {
			t.Fatalf("task state = %v, want archived", st)
		}
		if n := wrong.Load(); n != 0 {
			t.Fatalf("handler of test:purge ran %d times for test:purge_all", n)
		}
	})
}

func TestClient_sameIdempotencyKeyRunsOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opt  func() asynq.Option
	}{
		{"task id", func() asynq.Option { return asynq.TaskID("export-" + time.Now().Format(time.RFC3339Nano)) }},
		{"unique", func() asynq.Option { return asynq.Unique(time.Minute) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachBroker(t, func(t *testing.T, e *env) {
				c := e.client(t)
				key := tc.opt()
				task, _ := NewTask("test:export", greeting{Name: "once"})
				first, err := c.Enqueue(context.Background(), task, asynq.Queue(e.queue), key)
				if err != nil || first == nil {
					t.Fatalf("first Enqueue = %v, %v; want info and no error", first, err)
				}
				second, err := c.Enqueue(context.Background(), task, asynq.Queue(e.queue), key)
				if err != nil || second != nil {
					t.Fatalf("second Enqueue = %v, %v; want nil info and no error", second, err)
				}
				var runs atomic.Int32
				ran := make(chan struct{}, 2)
				w := e.startWorker(t, func(w *Worker) {
					w.HandleFunc("test:export", func(context.Context, *asynq.Task) error {
						runs.Add(1)
						ran <- struct{}{}
						return nil
					})
				})
				receive(t, ran, "run")
				e.settled(t, w) // nothing left that could run a second time
				if n := runs.Load(); n != 1 {
					t.Fatalf("runs = %d, want 1", n)
				}
			})
		})
	}
}
