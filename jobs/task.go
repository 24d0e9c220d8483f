package jobs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hibiken/asynq"
)

// Queue names of the default worker configuration, highest priority first.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// NewTask builds a task of type typ ("module:verb", e.g. "auth:purge_refresh_tokens") with
// payload encoded as JSON. opts become the task's defaults; Enqueue may override them.
func NewTask[T any](typ string, payload T, opts ...asynq.Option) (*asynq.Task, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	// asynq appends enqueue-time options to the task's own slice; clipping forces a copy, so
	// enqueuing one task from several goroutines cannot write into a shared backing array.
	return asynq.NewTask(typ, data, slices.Clip(opts)...), nil
}

// Decode reads a task's JSON payload. A payload that does not decode will never decode, so the
// error wraps asynq.SkipRetry: the task is archived at once instead of retried.
func Decode[T any](t *asynq.Task) (T, error) {
	var v T
	if err := json.Unmarshal(t.Payload(), &v); err != nil {
		return v, fmt.Errorf("decode %s payload: %w (%w)", t.Type(), err, asynq.SkipRetry)
	}
	return v, nil
}

// checkType enforces the "module:verb" naming, which keeps task types unique across modules.
func checkType(typ string) error {
	module, verb, ok := strings.Cut(typ, ":")
	if !ok || module == "" || verb == "" || strings.ContainsAny(typ, " \t\n") {
		return fmt.Errorf("task type %q: want module:verb", typ)
	}
	return nil
}
