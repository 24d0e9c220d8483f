package jobs

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

// Periodic is a task enqueued on a schedule.
type Periodic struct {
	// Cron is a five-field cron expression in UTC ("0 * * * *") or a descriptor ("@hourly",
	// "@every 1h"). "@every d" is rewritten to the equivalent wall-clock expression when d
	// divides an hour or a day (see alignEvery); other intervals tick relative to each
	// process's start, so the deduplication below cannot line them up across processes.
	Cron string
	// Task builds the task; Register calls it once.
	Task func() (*asynq.Task, error)
	// Opts are enqueue options (queue, max retry, timeout). They come after, and so override,
	// the deduplication options Register adds.
	Opts []asynq.Option
}

// Scheduler enqueues periodic tasks. Every worker process may run one: each tick is enqueued
// once however many schedulers fire for it (see dedupeOpts).
type Scheduler struct {
	s   *asynq.Scheduler
	log *slog.Logger
}

// NewScheduler returns a scheduler on the broker's Redis. Register tasks, then Start.
func NewScheduler(b *Broker, log *slog.Logger) *Scheduler {
	s := &Scheduler{log: orDefault(log)}
	s.s = asynq.NewScheduler(b.ConnOpt(), &asynq.SchedulerOpts{
		Logger:          newAsynqLogger(s.log),
		LogLevel:        asynqLogLevel,
		PostEnqueueFunc: s.logEnqueue,
	})
	return s
}

// Register adds p to the schedule.
func (s *Scheduler) Register(p Periodic) error {
	e, err := entryOf(p)
	if err != nil {
		return err
	}
	if _, err := s.s.Register(e.spec, e.task, e.opts...); err != nil {
		return fmt.Errorf("periodic %s %q: %w", e.task.Type(), p.Cron, err)
	}
	s.log.Info("periodic task registered", slog.String("task_type", e.task.Type()),
		slog.String("cron", p.Cron), slog.String("schedule", e.spec))
	return nil
}

// entry is what a Periodic becomes in asynq's scheduler: at every tick of spec it enqueues task
// with opts. Tests fire ticks with it without waiting for the wall clock.
type entry struct {
	spec string
	task *asynq.Task
	opts []asynq.Option
}

func entryOf(p Periodic) (entry, error) {
	if p.Task == nil {
		return entry{}, fmt.Errorf("periodic %q: nil Task", p.Cron)
	}
	spec := alignEvery(p.Cron)
	schedule, err := cron.ParseStandard(spec)
	if err != nil {
		return entry{}, fmt.Errorf("periodic %q: %w", p.Cron, err)
	}
	t, err := p.Task()
	if err != nil {
		return entry{}, fmt.Errorf("periodic %q: build task: %w", p.Cron, err)
	}
	opts := append(dedupeOpts(shortestPeriod(schedule)), p.Opts...)
	return entry{spec: spec, task: t, opts: opts}, nil
}

// Start begins ticking in the background. It does not block.
func (s *Scheduler) Start() error {
	if err := s.s.Start(); err != nil {
		return err
	}
	s.log.Info("job scheduler started")
	return nil
}

// Shutdown stops ticking; tasks already enqueued stay queued.
func (s *Scheduler) Shutdown() {
	s.s.Shutdown()
	s.log.Info("job scheduler stopped")
}

// logEnqueue is asynq's PostEnqueueFunc, called after every tick. asynq passes no task when
// the enqueue fails, so failure records carry only the error.
func (s *Scheduler) logEnqueue(info *asynq.TaskInfo, err error) {
	switch {
	case err == nil:
		s.log.Debug("periodic task enqueued", slog.String("task_type", info.Type),
			slog.String("task_id", info.ID), slog.String("queue", info.Queue))
	case errors.Is(err, asynq.ErrDuplicateTask), errors.Is(err, asynq.ErrTaskIDConflict):
		// Another process's scheduler enqueued this tick first, or the previous run is still
		// queued or retrying: both are the deduplication working.
		s.log.Debug("periodic task skipped: already queued", slog.Any("reason", err))
	default:
		s.log.Error("periodic task enqueue failed", slog.Any("error", err))
	}
}
