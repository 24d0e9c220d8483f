package batch_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/tenancy"
	"github.com/atelier-hq/atelier/tenancy/batch"
)

// entry is what the tests write: a users row, a plain tenant table whose CHECK on the e-mail's
// length lets a test make one row unwritable.
type entry struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	TenantID     uuid.UUID `gorm:"primaryKey"`
	Email        string
	PasswordHash string
}

func (entry) TableName() string { return "users" }

func row(tenantID uuid.UUID, tag string) entry {
	id := uuid.New()
	return entry{TenantID: tenantID, ID: id, Email: tag + "-" + id.String()[:8] + "@t.test", PasswordHash: "h"}
}

// harness is one test's freshly migrated PostgreSQL database with a registered tenant, an
// Insert that reports its calls, the writer's log, and the configuration the test adjusts
// before start.
type harness struct {
	db   *tenancy.DB
	raw  *sql.DB // the login role: sees every tenant's rows
	a    uuid.UUID
	logs *logs
	cfg  batch.Config[entry]

	calls  chan call
	n      atomic.Int64
	before func(tx *gorm.DB, rows []entry) error // runs ahead of each insert; its error fails it
}

// call is one Insert the writer made: its rows and the tenant its transaction was scoped to.
type call struct {
	rows  []entry
	scope string
}

func setup(t *testing.T) *harness {
	t.Helper()
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: apptest.NewDatabase(t), MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	raw, err := db.Raw().DB()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, raw: raw, logs: &logs{}, calls: make(chan call, 4096)}
	h.a = h.tenant(t)
	h.cfg = batch.Config[entry]{Name: "test log", Buffer: 64, Batch: 1000, Interval: time.Hour,
		Log:      slog.New(h.logs),
		TenantOf: func(e entry) uuid.UUID { return e.TenantID },
		Insert:   h.insert,
		Describe: func(e entry) []slog.Attr { return []slog.Attr{slog.String("email", e.Email)} },
	}
	return h
}

// start starts the writer on h.cfg; it is closed when the test ends.
func (h *harness) start(t *testing.T) *batch.Writer[entry] {
	w := batch.New(h.db, h.cfg)
	t.Cleanup(w.Close)
	return w
}

// tenant registers a tenant (as the login role: the registry is no tenant's table).
func (h *harness) tenant(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if _, err := h.raw.Exec(`INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'B')`, id, "b-"+id.String()[:8]); err != nil {
		t.Fatalf("register tenant: %v", err)
	}
	return id
}

func (h *harness) insert(tx *gorm.DB, rows []entry) error {
	h.n.Add(1)
	var scope string
	if err := tx.Raw(`SELECT current_setting('app.tenant_id', true)`).Scan(&scope).Error; err != nil {
		return err
	}
	h.calls <- call{rows: append([]entry(nil), rows...), scope: scope}
	if h.before != nil {
		if err := h.before(tx, rows); err != nil {
			return err
		}
	}
	return tx.Create(&rows).Error
}

// next waits for the writer's next Insert.
func (h *harness) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-h.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no insert within 10s")
		return call{}
	}
}

// noCall fails if an Insert was reported.
func (h *harness) noCall(t *testing.T) {
	t.Helper()
	select {
	case c := <-h.calls:
		t.Fatalf("unexpected insert of %d rows", len(c.rows))
	default:
	}
}

// count is how many users rows match, whatever their tenant.
func (h *harness) count(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	if err := h.raw.QueryRow(`SELECT count(*) FROM users WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// tenantOf is the tenant a row landed in (uuid.Nil if it is not there).
func (h *harness) tenantOf(t *testing.T, id uuid.UUID) uuid.UUID {
	t.Helper()
	var s string
	err := h.raw.QueryRow(`SELECT CAST(tenant_id AS TEXT) FROM users WHERE id = $1`, id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil
	}
	if err != nil {
		t.Fatalf("read row: %v", err)
	}
	return uuid.MustParse(s)
}

func flush(t *testing.T, w *batch.Writer[entry]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// logs is a slog.Handler that keeps the records, their attributes flattened ("group.key").
// The writer logs through no With or WithGroup, so those keep nothing.
type logs struct {
	mu   sync.Mutex
	recs []logged
}

type logged struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	rec := logged{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	var flatten func(prefix string, a slog.Attr)
	flatten = func(prefix string, a slog.Attr) {
		if a.Value.Kind() != slog.KindGroup {
			rec.attrs[prefix+a.Key] = a.Value.String()
			return
		}
		for _, g := range a.Value.Group() {
			flatten(prefix+a.Key+".", g)
		}
	}
	r.Attrs(func(a slog.Attr) bool { flatten("", a); return true })
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, rec)
	return nil
}

// at returns the records of the level.
func (l *logs) at(level slog.Level) []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logged
	for _, r := range l.recs {
		if r.level == level {
			out = append(out, r)
		}
	}
	return out
}

// A full batch is written without waiting for the interval or a flush; what is left waits
// for one. Every insert carries at most a batch.
func TestWriter_batchSizeTriggersAWriteAndFlushWritesTheRest(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.cfg.Batch = 3
	w := h.start(t)
	for i := 0; i < 7; i++ {
		w.Add(context.Background(), row(h.a, "size"))
	}
	for i := 0; i < 2; i++ {
		if c := h.next(t); len(c.rows) != 3 {
			t.Fatalf("insert %d carried %d rows, want a full batch of 3", i, len(c.rows))
		}
	}
	h.noCall(t) // the 7th waits: the interval is an hour
	flush(t, w)
	if c := h.next(t); len(c.rows) != 1 {
		t.Fatalf("flush inserted %d rows, want the 1 left", len(c.rows))
	}
	if n := h.count(t, "email LIKE 'size-%'"); n != 7 || w.Lost() != 0 {
		t.Fatalf("%d rows written, %d lost; want 7 and 0", n, w.Lost())
	}
}

// Without a full batch or a flush, the interval writes what waits.
func TestWriter_intervalWritesAPartialBatch(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.cfg.Interval = 20 * time.Millisecond
	w := h.start(t)
	e := row(h.a, "tick")
	w.Add(context.Background(), e)
	if c := h.next(t); len(c.rows) != 1 || c.rows[0].ID != e.ID {
		t.Fatalf("interval insert: %+v", c.rows)
	}
}

// Flush returns once everything added before it, from any goroutine, is in the database; it
// gives up when its context ends.
func TestWriter_flushWaitsForEverythingAddedBeforeIt(t *testing.T) {
	t.Parallel()
	h := setup(t)
	b := h.tenant(t)
	h.cfg.Batch, h.cfg.Buffer = 50, 4096
	w := h.start(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			tenantID := []uuid.UUID{h.a, b}[g%2]
			for i := 0; i < 100; i++ {
				w.Add(context.Background(), row(tenantID, fmt.Sprintf("burst%d", g)))
			}
		}(g)
	}
	wg.Wait()
	flush(t, w)
	if n := h.count(t, "email LIKE 'burst%'"); n != 800 {
		t.Fatalf("after Flush: %d rows, want 800", n)
	}

	// A writer stuck in an insert cannot answer; Flush returns the context's error.
	release := make(chan struct{})
	h.before = func(*gorm.DB, []entry) error { <-release; return nil }
	w.Add(context.Background(), row(h.a, "stuck"))
	flushCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Flush(flushCtx) }()
	for c := h.next(t); !strings.HasPrefix(c.rows[0].Email, "stuck"); c = h.next(t) {
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush with a cancelled context: %v", err)
	}
	close(release)
	flush(t, w)
	if n := h.count(t, "email LIKE 'stuck-%'"); n != 1 {
		t.Fatalf("stuck row: %d written", n)
	}
}

// With the buffer full, Add writes the entry itself before returning, and says so in the log
// (not once per entry).
func TestWriter_fullBufferWritesOnTheCallersPath(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.cfg.Buffer, h.cfg.Batch = 1, 1
	entered, release := make(chan struct{}), make(chan struct{})
	h.before = func(_ *gorm.DB, rows []entry) error {
		if strings.HasPrefix(rows[0].Email, "blocker") {
			close(entered)
			<-release
		}
		return nil
	}
	w := h.start(t)
	w.Add(context.Background(), row(h.a, "blocker"))
	<-entered                                       // the writer's goroutine is busy with the blocker
	w.Add(context.Background(), row(h.a, "queued")) // fills the buffer of one
	for _, e := range []entry{row(h.a, "direct"), row(h.a, "direct")} {
		w.Add(context.Background(), e)
		if got := h.tenantOf(t, e.ID); got != h.a {
			t.Fatalf("Add returned with the buffer full but the entry is not written (tenant %v)", got)
		}
	}
	if n := h.count(t, "email LIKE 'queued-%' OR email LIKE 'blocker-%'"); n != 0 {
		t.Fatalf("%d queued rows written while the writer was blocked", n)
	}
	close(release)
	flush(t, w)
	if n := h.count(t, "email LIKE 'queued-%' OR email LIKE 'blocker-%' OR email LIKE 'direct-%'"); n != 4 || w.Lost() != 0 {
		t.Fatalf("%d rows written, %d lost; want 4 and 0", n, w.Lost())
	}
	warns := h.logs.at(slog.LevelWarn)
	if len(warns) != 1 || warns[0].msg != "test log buffer full: writing entries on the caller's path" ||
		warns[0].attrs["buffer"] != "1" {
		t.Errorf("want one buffer-full warning for two entries written directly: %+v", warns)
	}
}

// Close writes what is buffered; entries added afterwards are written directly, Flush after
// Close has nothing to wait for, and a second Close is harmless.
func TestWriter_closeDrainsAndLaterEntriesAreWrittenDirectly(t *testing.T) {
	t.Parallel()
	h := setup(t)
	w := h.start(t)
	for i := 0; i < 5; i++ {
		w.Add(context.Background(), row(h.a, "close"))
	}
	h.noCall(t)
	if n := h.count(t, "email LIKE 'close-%'"); n != 0 {
		t.Fatalf("%d rows written before a batch was due: Add must not touch the database", n)
	}
	w.Close()
	if n := h.count(t, "email LIKE 'close-%'"); n != 5 {
		t.Fatalf("after Close: %d rows, want 5", n)
	}
	e := row(h.a, "close")
	w.Add(context.Background(), e)
	if got := h.tenantOf(t, e.ID); got != h.a {
		t.Fatalf("entry added after Close not written (tenant %v)", got)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
	w.Close()
	if w.Lost() != 0 || len(h.logs.at(slog.LevelWarn)) != 0 {
		t.Errorf("lost %d; warnings %+v", w.Lost(), h.logs.at(slog.LevelWarn))
	}
}

// Entries of two tenants, interleaved, are inserted tenant by tenant in the order the tenants
// first appear, each in a transaction scoped to its own tenant, and land in their tenant.
func TestWriter_eachTenantsEntriesLandInTheirTenant(t *testing.T) {
	t.Parallel()
	h := setup(t)
	b := h.tenant(t)
	w := h.start(t)
	var added []entry
	for i := 0; i < 6; i++ {
		e := row([]uuid.UUID{b, h.a}[i%2], "mix")
		added = append(added, e)
		w.Add(context.Background(), e)
	}
	flush(t, w)
	first, second := h.next(t), h.next(t)
	h.noCall(t)
	for i, c := range []call{first, second} {
		want := []uuid.UUID{b, h.a}[i]
		if c.scope != want.String() || len(c.rows) != 3 {
			t.Fatalf("insert %d: %d rows in the scope of %q, want 3 in %s", i, len(c.rows), c.scope, want)
		}
		for _, e := range c.rows {
			if e.TenantID != want {
				t.Fatalf("insert %d scoped to %s carries a row of %s", i, want, e.TenantID)
			}
		}
	}
	for _, e := range added {
		if got := h.tenantOf(t, e.ID); got != e.TenantID {
			t.Errorf("row of %s landed in %v", e.TenantID, got)
		}
	}
}

// A failed insert is retried once; a chunk that fails again is written row by row, so only the
// bad row is lost, counted and logged with what identifies it.
func TestWriter_retryThenRowByRowLosesOnlyTheBadRow(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.cfg.RetryDelay = time.Millisecond
	var failed atomic.Bool
	h.before = func(*gorm.DB, []entry) error {
		if failed.CompareAndSwap(false, true) {
			return errors.New("injected failure")
		}
		return nil
	}
	w := h.start(t)

	w.Add(context.Background(), row(h.a, "retried"))
	flush(t, w)
	if n := h.count(t, "email LIKE 'retried-%'"); n != 1 || w.Lost() != 0 || h.n.Load() != 2 {
		t.Fatalf("retried row: %d written, %d lost, %d inserts; want 1, 0, 2", n, w.Lost(), h.n.Load())
	}
	if warns := h.logs.at(slog.LevelWarn); len(warns) != 1 || warns[0].msg != "test log write failed; retrying once" ||
		warns[0].attrs["entries"] != "1" || warns[0].attrs["error"] != "injected failure" {
		t.Fatalf("warnings of a retried write: %+v", warns)
	}

	bad := entry{TenantID: h.a, ID: uuid.New(), Email: "x", PasswordHash: "h"} // violates the e-mail CHECK
	w.Add(context.Background(), row(h.a, "good"))
	w.Add(context.Background(), bad)
	w.Add(context.Background(), row(h.a, "good"))
	flush(t, w)
	if n := h.count(t, "email LIKE 'good-%'"); n != 2 || w.Lost() != 1 {
		t.Fatalf("%d good rows written, %d lost; want 2 and 1", n, w.Lost())
	}
	errs := h.logs.at(slog.LevelError)
	if len(errs) != 1 || errs[0].msg != "test log entries lost: write failed" || errs[0].attrs["lost"] != "1" ||
		errs[0].attrs["email"] != "x" || errs[0].attrs["tenant_id"] != h.a.String() || errs[0].attrs["error"] == "" {
		t.Fatalf("want the one lost row reported: %+v", errs)
	}
}

// When an attempt runs into the write timeout the database is stuck: the chunk is retried once
// and then lost at once, not tried again row by row (which would stall the writer once per row).
// The writer goes on with the next entries.
func TestWriter_stuckDatabaseLosesTheChunkWithoutARowByRowStall(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.cfg.WriteTimeout, h.cfg.RetryDelay = 500*time.Millisecond, time.Millisecond
	var stuck atomic.Bool
	stuck.Store(true)
	h.before = func(tx *gorm.DB, _ []entry) error {
		if stuck.Load() {
			return tx.Exec(`SELECT pg_sleep(30)`).Error
		}
		return nil
	}
	w := h.start(t)
	for i := 0; i < 5; i++ {
		w.Add(context.Background(), row(h.a, "stuck"))
	}
	flush(t, w)
	// Two attempts at most (an attempt can time out before its transaction reaches Insert).
	if w.Lost() != 5 || h.n.Load() > 2 {
		t.Fatalf("%d lost after %d inserts; want all 5 lost after the attempt and its retry", w.Lost(), h.n.Load())
	}
	errs := h.logs.at(slog.LevelError)
	if len(errs) != 1 || errs[0].attrs["lost"] != "5" || !strings.Contains(errs[0].attrs["error"], "write timed out") ||
		!strings.HasPrefix(errs[0].attrs["first.email"], "stuck-") {
		t.Fatalf("want the timed-out chunk reported once: %+v", errs)
	}
	stuck.Store(false)
	w.Add(context.Background(), row(h.a, "after"))
	flush(t, w)
	if n := h.count(t, "email LIKE 'after-%'"); n != 1 {
		t.Fatalf("entry after the stall: %d written", n)
	}
}

// An entry without a tenant cannot be scoped: it is lost at once, without an insert.
func TestWriter_entryWithoutATenantIsLostWithoutAnAttempt(t *testing.T) {
	t.Parallel()
	h := setup(t)
	w := h.start(t)
	w.Add(context.Background(), row(uuid.Nil, "orphan"))
	flush(t, w)
	if w.Lost() != 1 || h.n.Load() != 0 || len(h.logs.at(slog.LevelError)) != 1 {
		t.Fatalf("%d lost after %d inserts, errors %+v; want 1 lost, no insert, one error", w.Lost(), h.n.Load(),
			h.logs.at(slog.LevelError))
	}
}
