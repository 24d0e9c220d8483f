package audit

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/tenancy"
	"github.com/atelier-hq/atelier/tenancy/batch"
)

// writer takes entries off the request path (batch.Writer): they are inserted in batches, per
// tenant, in the tenant's scoped transaction, and written by the caller when the buffer is full.
type writer struct{ w *batch.Writer[Entry] }

func newWriter(db *tenancy.DB, log *slog.Logger, buffer, size int, interval time.Duration) *writer {
	var s store
	return &writer{w: batch.New(db, batch.Config[Entry]{
		Name: "audit", Buffer: buffer, Batch: size, Interval: interval, Log: log,
		TenantOf: func(e Entry) uuid.UUID { return e.TenantID },
		Insert:   s.insert,
		Describe: func(e Entry) []slog.Attr {
			return []slog.Attr{slog.String("id", e.ID.String()), slog.String("subject", e.Subject),
				slog.String("action", e.Action), slog.String("object", e.Object), slog.String("result", e.Result)}
		},
	})}
}

// add hands the entry over. Its request id is copied first: a client-sent X-Request-ID is a
// Fiber string that points into a buffer the next request reuses, and the entry is written
// after this request has ended.
func (w *writer) add(ctx context.Context, e Entry) {
	e.RequestID = strings.Clone(e.RequestID)
	w.w.Add(ctx, e)
}

// flush waits until every entry handed over before the call is written.
func (w *writer) flush(ctx context.Context) error { return w.w.Flush(ctx) }

// close writes what is buffered and stops the goroutine. Later entries are written directly.
func (w *writer) close() { w.w.Close() }
