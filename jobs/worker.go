package jobs

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/hibiken/asynq"
)

// WorkerConfig tunes a Worker. The zero value is the production default.
type WorkerConfig struct {
	// Concurrency is how many tasks run at once; default 10.
	Concurrency int
	// Queues maps queue name to priority weight; default critical 6, default 3, low 1.
	Queues map[string]int
	// ShutdownTimeout is how long Shutdown waits for running tasks; zero means asynq's 8s.
	ShutdownTimeout time.Duration
	// RetryDelay chooses the wait before retry n of t; nil means asynq's exponential backoff.
	// Each task sets its own attempt budget with asynq.MaxRetry.
	RetryDelay func(n int, err error, t *asynq.Task) time.Duration
	// PollInterval is how often an idle worker looks for new tasks and moves due scheduled and
	// retried tasks to their queue; zero means asynq's defaults (1s and 5s). Tests shorten it.
	PollInterval time.Duration
}

func (cfg WorkerConfig) withDefaults() WorkerConfig {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}
	}
	return cfg
}

// Worker runs task handlers: an asynq server plus the mux that routes task types.
type Worker struct {
	srv *asynq.Server
	mux *asynq.ServeMux
	cfg WorkerConfig
	log *slog.Logger
}

// NewWorker builds a worker on the broker's Redis. Register handlers, then Start.
func NewWorker(b *Broker, cfg WorkerConfig, log *slog.Logger) *Worker {
	cfg = cfg.withDefaults()
	w := &Worker{mux: asynq.NewServeMux(), cfg: cfg, log: orDefault(log)}
	w.mux.Use(w.logTask)
	w.srv = asynq.NewServer(b.ConnOpt(), asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   maps.Clone(cfg.Queues),
		ShutdownTimeout:          cfg.ShutdownTimeout,
		RetryDelayFunc:           cfg.RetryDelay,
		ErrorHandler:             asynq.ErrorHandlerFunc(w.logFailure),
		HealthCheckFunc:          w.logHealth,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		Logger:                   newAsynqLogger(w.log),
		LogLevel:                 asynqLogLevel,
	})
	return w
}

// Handle routes tasks of exactly type typ to h. Register every type before Start.
func (w *Worker) Handle(typ string, h asynq.Handler) {
	w.mux.Handle(typ, exactType(typ, h))
}

// HandleFunc routes tasks of exactly type typ to fn.
func (w *Worker) HandleFunc(typ string, fn func(context.Context, *asynq.Task) error) {
	w.Handle(typ, asynq.HandlerFunc(fn))
}

// exactType undoes asynq's prefix routing: its mux hands "auth:purge_all" to the handler of
// "auth:purge" when that is the longest registered prefix. A type nobody handles gets asynq's
// not-found error, which is retried: a newer worker of a rolling deploy may know the type.
func exactType(typ string, h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if t.Type() != typ {
			return asynq.NotFound(ctx, t)
		}
		return h.ProcessTask(ctx, t)
	})
}

// Use adds middleware around every handler (registered before Start), outside the logging.
func (w *Worker) Use(mws ...asynq.MiddlewareFunc) { w.mux.Use(mws...) }

// Start begins processing in the background. It does not block.
func (w *Worker) Start() error {
	if err := w.srv.Start(w.mux); err != nil {
		return err
	}
	w.log.Info("job worker started", slog.Int("concurrency", w.cfg.Concurrency), slog.Any("queues", w.cfg.Queues))
	return nil
}

// Shutdown stops taking tasks and waits up to ShutdownTimeout for running ones; tasks still
// running after that go back to their queue and run again later.
func (w *Worker) Shutdown() {
	w.srv.Shutdown()
	w.log.Info("job worker stopped")
}

// logTask logs each run at DEBUG. It does not recover panics: asynq's processor already turns a
// handler panic into an error (logged with its stack by asynq and as a failure by logFailure).
func (w *Worker) logTask(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		log := w.log.With(slog.String("task_type", t.Type()), slog.String("task_id", id))
		log.DebugContext(ctx, "task started")
		start := time.Now()
		returned := false
		defer func() {
			if !returned {
				log.DebugContext(ctx, "task panicked", slog.Duration("duration", time.Since(start)))
			}
		}()
		err := next.ProcessTask(ctx, t)
		returned = true
		log.DebugContext(ctx, "task finished", slog.Duration("duration", time.Since(start)), slog.Bool("ok", err == nil))
		return err
	})
}
