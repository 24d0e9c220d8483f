package jobs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

// tickTask is a periodic test task on the env's queue.
func (e *env) tickPeriodic(cronSpec string) Periodic {
	return Periodic{
		Cron: cronSpec,
		Task: func() (*asynq.Task, error) { return NewTask("test:tick", struct{}{}) },
		Opts: []asynq.Option{asynq.Queue(e.queue), asynq.MaxRetry(0)},
	}
}

func (e *env) startScheduler(t *testing.T, p Periodic) *Scheduler {
	t.Helper()
	s := NewScheduler(e.b, e.log)
	if err := s.Register(p); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start scheduler: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func TestScheduler_enqueuesPeriodicTaskForWorker(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		ran := make(chan struct{}, 1)
		e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:tick", func(context.Context, *asynq.Task) error {
				select {
				case ran <- struct{}{}:
				default:
				}
				return nil
			})
		})
		// asynq's scheduler ticks on the wall clock and takes no other: this one test waits
		// for a real tick (1s), to prove the wiring; the deduplication is tested by firing
		// ticks by hand below.
		e.startScheduler(t, e.tickPeriodic("@every 1s"))
		receive(t, ran, "periodic run")
		if recs := e.logs.records(t, "periodic task enqueued"); len(recs) == 0 || recs[0]["task_type"] != "test:tick" {
			t.Fatalf("enqueue records = %v", recs)
		}
	})
}

// fire does what asynq's scheduler does at a tick of p (enqueue the registered task with the
// registered options, then PostEnqueueFunc), without waiting for the wall clock to tick. It
// returns what was enqueued, or nil.
func (e *env) fire(t *testing.T, s *Scheduler, p Periodic) *asynq.TaskInfo {
	t.Helper()
	en, err := entryOf(p)
	if err != nil {
		t.Fatal(err)
	}
	c := asynq.NewClient(e.b.ConnOpt())
	defer c.Close()
	info, err := c.Enqueue(en.task, en.opts...)
	s.logEnqueue(info, err)
	return info
}

// Two processes' schedulers fire for the same tick; the task runs once. The first enqueue must
// hold the run back (dedupeOpts): otherwise a handler that finishes at once frees the lock
// before a scheduler a few milliseconds late fires, and the tick runs twice. The worker starts
// after both have fired, so the outcome does not depend on timing; the held run is then
// released at once instead of waited for.
func TestScheduler_twoSchedulersRunATickOnce(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		p := e.tickPeriodic("@every 2s")
		first := e.fire(t, NewScheduler(e.b, e.log), p)
		e.fire(t, NewScheduler(e.b, e.log), p)
		enqueued := len(e.logs.records(t, "periodic task enqueued"))
		skipped := len(e.logs.records(t, "periodic task skipped: already queued"))
		if enqueued != 1 || skipped != 1 {
			t.Fatalf("enqueued = %d, skipped = %d; want 1, 1", enqueued, skipped)
		}
		if first == nil || first.State != asynq.TaskStateScheduled {
			t.Fatalf("first tick enqueued %+v; want its run held back (scheduled)", first)
		}

		var runs atomic.Int32
		ran := make(chan struct{}, 2)
		w := e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:tick", func(context.Context, *asynq.Task) error {
				runs.Add(1)
				ran <- struct{}{}
				return nil
			})
		})
		insp := asynq.NewInspector(e.b.ConnOpt())
		defer insp.Close()
		if _, err := insp.RunAllScheduledTasks(e.queue); err != nil {
			t.Fatal(err)
		}
		receive(t, ran, "run of the tick")
		e.settled(t, w) // nothing left that could run a second time
		if n := runs.Load(); n != 1 {
			t.Fatalf("runs = %d, want 1", n)
		}
	})
}

func TestAlignEvery(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"@every 1h", "0 */1 * * *"},
		{"@every 6h", "0 */6 * * *"},
		{"@every 24h", "0 0 * * *"},
		{"@every 15m", "*/15 * * * *"},
		{"@every 1s", "@every 1s"},   // sub-minute: cron has no seconds field
		{"@every 7m", "@every 7m"},   // does not divide an hour
		{"@every 48h", "@every 48h"}, // does not divide a day
		{"@every soon", "@every soon"},
		{"0 3 * * *", "0 3 * * *"},
	}
	for _, tc := range cases {
		if got := alignEvery(tc.in); got != tc.want {
			t.Errorf("alignEvery(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := cron.ParseStandard(alignEvery(tc.in)); err != nil && tc.in != "@every soon" {
			t.Errorf("alignEvery(%q) does not parse: %v", tc.in, err)
		}
	}
}

func TestDedupeOpts_lockExpiresBeforeNextTick(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec               string
		wantHold, wantLock time.Duration
	}{
		{"@every 1s", 0, time.Second},
		{"@every 2s", time.Second, time.Second},
		{"@every 3s", time.Second, 2 * time.Second},
		{"*/5 * * * *", 2 * time.Second, 4*time.Minute + 58*time.Second},
		{"0 9 * * 1-5", 2 * time.Second, 24*time.Hour - 2*time.Second}, // shortest gap: one weekday to the next
	}
	for _, tc := range cases {
		s, err := cron.ParseStandard(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		var hold, lock time.Duration
		for _, o := range dedupeOpts(shortestPeriod(s)) {
			switch o.Type() {
			case asynq.ProcessInOpt:
				hold = o.Value().(time.Duration)
			case asynq.UniqueOpt:
				lock = o.Value().(time.Duration)
			}
		}
		if hold != tc.wantHold || lock != tc.wantLock {
			t.Errorf("%s: hold %s, lock %s; want %s, %s", tc.spec, hold, lock, tc.wantHold, tc.wantLock)
		}
	}
}

func TestScheduler_registerRejectsBadPeriodic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	s := NewScheduler(e.b, e.log)
	cases := []struct {
		name string
		p    Periodic
	}{
		{"no task", Periodic{Cron: "@hourly"}},
		{"bad cron", Periodic{Cron: "every hour", Task: e.tickPeriodic("").Task}},
		{"task error", Periodic{Cron: "@hourly", Task: func() (*asynq.Task, error) { return NewTask("bad type", 1) }}},
	}
	for _, tc := range cases {
		if err := s.Register(tc.p); err == nil {
			t.Errorf("%s: Register accepted %+v", tc.name, tc.p)
		}
	}
}
