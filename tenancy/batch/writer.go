// Package batch takes tenant rows off the request path and inserts them in batches, each
// tenant's rows in that tenant's scoped transaction (the audit log and the token access log).
package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// Defaults of Config.
const (
	DefaultBuffer       = 1024
	DefaultBatch        = 100
	DefaultInterval     = 100 * time.Millisecond
	DefaultWriteTimeout = 10 * time.Second
	DefaultRetryDelay   = 100 * time.Millisecond
)

// warnEvery is how often, at most, a full buffer is logged.
const warnEvery = time.Second

// errTimedOut marks an attempt the write timeout cut short: the database is stuck, so trying the
// same rows one by one would only stall the writer once per row.
var errTimedOut = errors.New("write timed out")

// Config describes the entries and how they are written. Zero sizes and durations take the
// defaults; TenantOf and Insert are required.
type Config[T any] struct {
	// Name is what the log messages call the entries ("audit", "token access log").
	Name string
	// Buffer is how many entries may wait for the writer.
	Buffer int
	// Batch is the most entries one Insert carries, and the count that triggers a write before
	// the interval has passed.
	Batch int
	// Interval is how long an entry may wait for its batch.
	Interval time.Duration
	// TenantOf is the tenant an entry belongs to; its rows are inserted in its scoped transaction.
	TenantOf func(T) uuid.UUID
	// Insert writes rows of one tenant, at most Batch of them, inside its scoped transaction.
	Insert func(tx *gorm.DB, rows []T) error
	// Describe returns the attributes that identify a lost entry in the log (optional).
	Describe func(T) []slog.Attr
	// Log receives the warnings and the losses (default: discarded).
	Log *slog.Logger
	// WriteTimeout bounds one insert attempt, so a stuck database cannot stall the writer.
	WriteTimeout time.Duration
	// RetryDelay is the pause before the one retry of a failed batch.
	RetryDelay time.Duration
}

// Writer puts entries in a bounded channel that one goroutine drains, inserting them in batches,
// tenant by tenant, in each tenant's scoped transaction. Nothing is dropped silently: when the
// channel is full (or the writer is closed) the entry is written by the caller instead, and an
// entry that cannot be written after a retry is logged as lost and counted (Lost).
type Writer[T any] struct {
	db  *tenancy.DB
	cfg Config[T]
	log *slog.Logger

	in      chan T
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}

	// mu is held for reading while an entry is handed to the channel and for writing while the
	// writer is closed, so no entry reaches the channel after the last drain.
	mu       sync.RWMutex
	closed   bool
	stopOnce sync.Once
	lastWarn atomic.Int64 // unix nanoseconds of the last "buffer full" warning
	lost     atomic.Int64
}

// New starts the writer; Close stops it.
func New[T any](db *tenancy.DB, cfg Config[T]) *Writer[T] {
	if cfg.TenantOf == nil || cfg.Insert == nil {
		panic("batch: Config.TenantOf and Config.Insert are required")
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	if cfg.Name == "" {
		cfg.Name = "batch"
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer[T]{db: db, cfg: cfg, log: log,
		in: make(chan T, cfg.Buffer), flushes: make(chan chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Add hands the entry to the writer, or writes it on the caller's path when the buffer is full or
// the writer is closed: back-pressure on the caller rather than a silent drop. That write waits
// until the caller's unit of work holds no connection (at once outside a transaction, else when
// its transaction ends); ctx's cancellation does not stop it.
func (w *Writer[T]) Add(ctx context.Context, e T) {
	w.mu.RLock()
	if !w.closed {
		select {
		case w.in <- e:
			w.mu.RUnlock()
			return
		default:
		}
	}
	closed := w.closed
	w.mu.RUnlock()
	if !closed {
		w.warnFull(ctx)
	}
	// The caller may hold its request's connection: write once the unit of work has let it go,
	// never by asking the pool for a second one while holding the first.
	tenancy.AfterUnit(ctx, func() { w.write(tenancy.Detached(context.WithoutCancel(ctx)), []T{e}) })
}

// Flush waits until every entry added before the call is written (or given up as lost).
func (w *Writer[T]) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case w.flushes <- ack:
	case <-w.done:
		return nil // closed: the last drain wrote everything
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is buffered and stops the goroutine. Later entries are written directly.
// Calling it again is harmless.
func (w *Writer[T]) Close() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	<-w.done
}

// Lost is how many entries could not be written (each also logged at error level).
func (w *Writer[T]) Lost() int64 { return w.lost.Load() }

// warnFull logs that the buffer overflowed, at most once every warnEvery.
func (w *Writer[T]) warnFull(ctx context.Context) {
	now := time.Now().UnixNano()
	last := w.lastWarn.Load()
	if now-last < int64(warnEvery) || !w.lastWarn.CompareAndSwap(last, now) {
		return
	}
	w.log.WarnContext(ctx, w.cfg.Name+" buffer full: writing entries on the caller's path",
		slog.Int("buffer", cap(w.in)))
}

func (w *Writer[T]) run() {
	defer close(w.done)
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	pending := make([]T, 0, w.cfg.Batch)
	flush := func() {
		if len(pending) == 0 {
			return
		}
		w.write(context.Background(), pending)
		clear(pending) // drop the references the entries hold
		pending = pending[:0]
	}
	take := func(e T) {
		pending = append(pending, e)
		if len(pending) >= w.cfg.Batch {
			flush()
		}
	}
	// drain takes what the channel holds now, and only that: every entry added before the flush
	// or close that asks for it is there, and callers that keep adding cannot make it endless.
	// This goroutine is the only receiver, so none of these receives blocks.
	drain := func() {
		for n := len(w.in); n > 0; n-- {
			take(<-w.in)
		}
		flush()
	}
	for {
		select {
		case e := <-w.in:
			take(e)
		case <-tick.C:
			flush()
		case ack := <-w.flushes:
			drain()
			close(ack)
		case <-w.stop:
			drain()
			return
		}
	}
}

// write inserts the entries tenant by tenant, in the order the tenants first appear, in chunks
// of the batch size.
func (w *Writer[T]) write(ctx context.Context, entries []T) {
	var order []uuid.UUID
	byTenant := map[uuid.UUID][]T{}
	for _, e := range entries {
		tenantID := w.cfg.TenantOf(e)
		if _, ok := byTenant[tenantID]; !ok {
			order = append(order, tenantID)
		}
		byTenant[tenantID] = append(byTenant[tenantID], e)
	}
	for _, tenantID := range order {
		rows := byTenant[tenantID]
		for start := 0; start < len(rows); start += w.cfg.Batch {
			w.insert(ctx, tenantID, rows[start:min(start+w.cfg.Batch, len(rows))])
		}
	}
}

// insert writes one chunk, retrying it once. If it still fails it is written row by row, so one
// bad row cannot take its neighbours with it; rows that still fail are lost. When an attempt
// times out the database is stuck and what is left is lost at once.
func (w *Writer[T]) insert(ctx context.Context, tenantID uuid.UUID, rows []T) {
	if tenantID == uuid.Nil {
		w.lose(ctx, tenantID, rows, tenancy.ErrNoTenant)
		return
	}
	err := w.attempt(ctx, tenantID, rows)
	if err == nil {
		return
	}
	w.log.WarnContext(ctx, w.cfg.Name+" write failed; retrying once", slog.String("tenant_id", tenantID.String()),
		slog.Int("entries", len(rows)), slog.Any("error", err))
	time.Sleep(w.cfg.RetryDelay)
	if err = w.attempt(ctx, tenantID, rows); err == nil {
		return
	}
	if len(rows) == 1 || errors.Is(err, errTimedOut) {
		w.lose(ctx, tenantID, rows, err)
		return
	}
	for i := range rows {
		err := w.attempt(ctx, tenantID, rows[i:i+1])
		if errors.Is(err, errTimedOut) {
			w.lose(ctx, tenantID, rows[i:], err)
			return
		}
		if err != nil {
			w.lose(ctx, tenantID, rows[i:i+1], err)
		}
	}
}

// attempt runs Insert once in the tenant's scoped transaction, bounded by the write timeout.
func (w *Writer[T]) attempt(ctx context.Context, tenantID uuid.UUID, rows []T) error {
	tctx, cancel := context.WithTimeout(tenancy.WithTenant(ctx, tenantID), w.cfg.WriteTimeout)
	defer cancel()
	err := w.db.Tx(tctx, func(tx *gorm.DB) error { return w.cfg.Insert(tx, rows) })
	if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("%w after %s: %w", errTimedOut, w.cfg.WriteTimeout, err)
	}
	return err
}

// lose counts the rows as lost and logs them once, with what identifies the (first) entry.
func (w *Writer[T]) lose(ctx context.Context, tenantID uuid.UUID, rows []T, err error) {
	w.lost.Add(int64(len(rows)))
	attrs := []slog.Attr{slog.String("tenant_id", tenantID.String()), slog.Int("lost", len(rows)),
		slog.Any("error", err)}
	if w.cfg.Describe != nil {
		if d := w.cfg.Describe(rows[0]); len(rows) == 1 {
			attrs = append(attrs, d...)
		} else {
			attrs = append(attrs, slog.Attr{Key: "first", Value: slog.GroupValue(d...)})
		}
	}
	w.log.LogAttrs(ctx, slog.LevelError, w.cfg.Name+" entries lost: write failed", attrs...)
}
