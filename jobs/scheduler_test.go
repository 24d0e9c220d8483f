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
		var runs atomic.Int32
		e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:tick", func(context.Context, *asynq.Task) error {
				runs.Add(1)
				return nil
			})
		})
		e.startScheduler(t, e.tickPeriodic("@every 1s"))
		eventually(t, 10*time.Second, "a periodic run", func() bool { return runs.Load() > 0 })
		if recs := e.logs.records(t, "periodic task enqueued"); len(recs) == 0 || recs[0]["task_type"] != "test:tick" {
			t.Fatalf("enqueue records = %v", recs)
		}
	})
}

// Two processes' schedulers fire for the same tick; the task runs once. The handler is
// instant, so this also covers a run that finishes before the second scheduler fires.
func TestScheduler_twoSchedulersRunATickOnce(t *testing.T) {
	t.Parallel()
	forEachBroker(t, func(t *testing.T, e *env) {
		var runs atomic.Int32
		e.startWorker(t, func(w *Worker) {
			w.HandleFunc("test:tick", func(context.Context, *asynq.Task) error {
				runs.Add(1)
				return nil
			})
		})
		// "@every" counts from the whole second a scheduler starts in; start both just after
		// a second boundary so that they share their first tick, as cron specs always do.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
		p := e.tickPeriodic("@every 2s")
		a, b := e.startScheduler(t, p), e.startScheduler(t, p)

		enqueued := func() int { return len(e.logs.records(t, "periodic task enqueued")) }
		skipped := func() int { return len(e.logs.records(t, "periodic task skipped: already queued")) }
		eventually(t, 10*time.Second, "both schedulers' first tick and a run", func() bool {
			return enqueued()+skipped() >= 2 && runs.Load() > 0
		})
		// Stop before the next tick: 2s after the first, and the run was held back 1s.
		a.Shutdown()
		b.Shutdown()
		e.drained(t) // nothing left that could run a second time
		if n, en, sk := runs.Load(), enqueued(), skipped(); n != 1 || en != 1 || sk != 1 {
			t.Fatalf("runs = %d, enqueued = %d, skipped = %d; want 1, 1, 1", n, en, sk)
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
