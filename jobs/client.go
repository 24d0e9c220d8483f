package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"
)

// Client enqueues tasks. It is safe for concurrent use; make one per process.
type Client struct {
	c   *asynq.Client
	log *slog.Logger
}

// NewClient returns a client on the broker's Redis.
func NewClient(b *Broker, log *slog.Logger) *Client {
	return &Client{c: asynq.NewClient(b.ConnOpt()), log: orDefault(log)}
}

// Enqueue queues t; opts override the task's own options.
//
// Idempotency: pass asynq.TaskID(key) or asynq.Unique(ttl) to enqueue a unit of work at most
// once. If the key is already taken, Enqueue returns a nil *asynq.TaskInfo and a nil error:
// asking twice for the same work is not a failure. Know what each key covers:
//
//   - TaskID(key) is taken while a task with that ID exists in the queue in any state
//     (pending, scheduled, active, retry, archived, or completed while asynq.Retention keeps
//     it). A task that succeeded without Retention is deleted at once and frees its ID.
//   - Unique(ttl) locks (queue, type, payload) until the task succeeds or ttl passes,
//     whichever comes first; ttl is whole seconds, at least 1s.
func (c *Client) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	if t == nil {
		return nil, errors.New("enqueue: nil task")
	}
	info, err := c.c.EnqueueContext(ctx, t, opts...)
	switch {
	case errors.Is(err, asynq.ErrDuplicateTask), errors.Is(err, asynq.ErrTaskIDConflict):
		c.log.DebugContext(ctx, "task already queued", slog.String("task_type", t.Type()), slog.Any("reason", err))
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("enqueue %s: %w", t.Type(), err)
	}
	c.log.DebugContext(ctx, "task enqueued", slog.String("task_type", info.Type),
		slog.String("task_id", info.ID), slog.String("queue", info.Queue))
	return info, nil
}

// Close releases the client's connections.
func (c *Client) Close() error {
	return c.c.Close()
}
