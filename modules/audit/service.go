package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
}

// Config tunes the service. Zero fields take the defaults.
type Config struct {
	// Retention is how long entries are kept; zero or less keeps them forever.
	Retention time.Duration
	// Buffer is how many entries may wait for the writer (default 8192).
	Buffer int
	// Batch is the most entries one insert carries, and the count that triggers a write
	// before the interval has passed (default 200, at most 1000).
	Batch int
	// Interval is how long an entry may wait for its batch (default 100ms).
	Interval time.Duration
}

// Defaults of Config.
const (
	DefaultBuffer   = 8192
	DefaultBatch    = 200
	DefaultInterval = 100 * time.Millisecond
	maxBatch        = 1000
	// pruneBatch bounds one retention delete, so it never holds long locks.
	pruneBatch = 1000
	// maxField bounds a recorded string (subject, action, object, request id).
	maxField = 1024
)

// Service records the audit log and answers queries on it. It implements rbac.Auditor.
type Service struct {
	db        *tenancy.DB
	authz     Authorizer
	log       *slog.Logger
	store     store
	w         *writer
	retention time.Duration
	now       func() time.Time
}

var _ rbac.Auditor = (*Service)(nil)

// NewService wires the service and starts its background writer; Close stops it.
func NewService(db *tenancy.DB, authz Authorizer, log *slog.Logger, cfg Config) *Service {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	// One insert carries 9 parameters a row; PostgreSQL takes at most 65,535 a statement.
	cfg.Batch = min(cfg.Batch, maxBatch)
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, authz: authz, log: log, retention: cfg.Retention,
		w:   newWriter(db, log, cfg.Buffer, cfg.Batch, cfg.Interval),
		now: func() time.Time { return time.Now().UTC() }}
}

// Record adds an entry for the tenant in ctx, stamped with the request id in ctx and the time
// now. It returns at once: the entry is written in the background (see Flush). The caller must
// not change e.Reason afterwards.
func (s *Service) Record(ctx context.Context, e rbac.AuditEntry) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		if p, found := tenancy.PrincipalFrom(ctx); found && p.TenantID != uuid.Nil {
			tenantID, ok = p.TenantID, true
		}
	}
	if !ok {
		s.log.ErrorContext(ctx, "audit entry without a tenant: not recorded", slog.String("subject", e.Subject),
			slog.String("action", e.Action), slog.String("object", e.Object), slog.Bool("allowed", e.Allowed))
		return
	}
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	result := ResultDeny
	if e.Allowed {
		result = ResultAllow
	}
	s.w.add(ctx, Entry{TenantID: tenantID, ID: id, At: s.now(), RequestID: clean(web.RequestIDFrom(ctx)),
		Subject: clean(e.Subject), Action: clean(e.Action), Object: clean(e.Object), Result: result,
		Reason: encodeReason(e.Reason)})
}

// Flush writes every entry recorded before the call (tests, shutdown).
func (s *Service) Flush(ctx context.Context) error { return s.w.flush(ctx) }

// Close writes what is buffered and stops the background writer. Entries recorded afterwards
// are written directly.
func (s *Service) Close() { s.w.close() }

// List pages through the tenant's audit log, newest first (audit:read on the tenant).
func (s *Service) List(ctx context.Context, f Filter, before uuid.UUID, limit int) ([]View, error) {
	if err := s.authz.Authorize(ctx, rbac.AuditRead, rbac.Root); err != nil {
		if errors.Is(err, rbac.ErrDenied) {
			return nil, apierr.Forbidden("")
		}
		return nil, err
	}
	var rows []Entry
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, f, before, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.view())
	}
	return out, nil
}

// Prune deletes the tenant's entries older than the retention, in bounded batches, and returns
// how many it deleted. It is idempotent.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	if s.retention <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-s.retention)
	var total int64
	for {
		var n int64
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			n, err = s.store.prune(tx, cutoff, pruneBatch)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune audit log: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// encodeReason turns the reason into a JSON object PostgreSQL accepts (jsonb refuses \u0000).
func encodeReason(reason map[string]any) []byte {
	if len(reason) == 0 {
		return []byte(`{}`)
	}
	b, err := json.Marshal(reason)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable_reason": err.Error()})
	}
	return bytes.ReplaceAll(b, []byte(`\u0000`), []byte(`\ufffd`))
}

// clean makes a string storable as PostgreSQL text: valid UTF-8, no NUL, bounded length.
func clean(s string) string {
	if len(s) > maxField {
		s = s[:maxField]
	}
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
