package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/hibiken/asynq"
)

// What asynq does with a task after a failed attempt; mirrors its processor's decision.
const (
	outcomeRetry    = "retry"
	outcomeArchived = "archived"
	outcomeRevoked  = "revoked"
)

// logFailure is the server's ErrorHandler: one record per failed attempt. An attempt that
// will be retried is a WARN; the last one is an ERROR, since the work is now not done.
func (w *Worker) logFailure(ctx context.Context, t *asynq.Task, err error) {
	id, _ := asynq.GetTaskID(ctx)
	queue, _ := asynq.GetQueueName(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	outcome := failureOutcome(retried, maxRetry, err)
	level := slog.LevelWarn
	if outcome == outcomeArchived {
		level = slog.LevelError
	}
	w.log.Log(ctx, level, "task failed",
		slog.String("task_type", t.Type()),
		slog.String("task_id", id),
		slog.String("queue", queue),
		slog.Int("retried", retried),
		slog.Int("max_retry", maxRetry),
		slog.Bool("will_retry", outcome == outcomeRetry),
		slog.String("outcome", outcome),
		slog.Any("error", err),
	)
}

// failureOutcome follows asynq v0.26's processor.handleFailedMessage: RevokeTask drops the
// task, SkipRetry or an exhausted budget archives it, anything else is retried.
func failureOutcome(retried, maxRetry int, err error) string {
	switch {
	case errors.Is(err, asynq.RevokeTask):
		return outcomeRevoked
	case retried >= maxRetry || errors.Is(err, asynq.SkipRetry):
		return outcomeArchived
	default:
		return outcomeRetry
	}
}

// logHealth reports a worker that lost Redis; asynq checks every 15s.
func (w *Worker) logHealth(err error) {
	if err != nil {
		w.log.Warn("job worker cannot reach redis", slog.Any("error", err))
	}
}
