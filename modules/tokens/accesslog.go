package tokens

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/tenancy"
	"github.com/atelier-hq/atelier/tenancy/batch"
)

// Request is one answered request as the edge saw it: its final status is the one the error
// handler wrote, 4xx and 5xx included.
type Request struct {
	At        time.Time
	RequestID string
	Method    string
	Path      string
	Status    int
	ClientIP  string
	UserAgent string
}

// LoggerConfig tunes the access log writer. Zero fields take the defaults.
type LoggerConfig struct {
	// Buffer is how many entries may wait for the writer (default 8192).
	Buffer int
	// Batch is the most entries one insert carries, and the count that triggers a write before
	// the interval has passed (default 500, at most 1000).
	Batch int
	// Interval is how long an entry may wait for its batch (default 200ms).
	Interval time.Duration
}

// Defaults of LoggerConfig.
const (
	DefaultLogBuffer   = 8192
	DefaultLogBatch    = 500
	DefaultLogInterval = 200 * time.Millisecond

	maxLogBatch = 1000
)

// Bounds of the recorded strings (longer values are cut).
const (
	maxMethod    = 16
	maxPath      = 2048
	maxClientIP  = 64
	maxUserAgent = 512
	maxRequestID = 128
)

// Logger writes the access log of personal access tokens off the request path (batch.Writer):
// Record puts the entry in a bounded channel; one goroutine drains it and inserts batches, tenant
// by tenant, in the tenant's scoped transaction. Nothing is dropped silently: when the channel is
// full (or the logger is closed) the entry is written by the caller instead, and an entry that
// cannot be written after a retry is logged as lost and counted (Lost).
type Logger struct {
	w *batch.Writer[AccessEntry]
}

// NewLogger starts the writer; Close stops it.
func NewLogger(db *tenancy.DB, log *slog.Logger, cfg LoggerConfig) *Logger {
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultLogBuffer
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultLogBatch
	}
	// One insert carries 10 parameters a row; PostgreSQL takes at most 65,535 a statement.
	cfg.Batch = min(cfg.Batch, maxLogBatch)
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultLogInterval
	}
	var s store
	return &Logger{w: batch.New(db, batch.Config[AccessEntry]{
		Name: "token access log", Buffer: cfg.Buffer, Batch: cfg.Batch, Interval: cfg.Interval, Log: log,
		TenantOf: func(e AccessEntry) uuid.UUID { return e.TenantID },
		Insert:   s.insertLog,
		Describe: func(e AccessEntry) []slog.Attr {
			return []slog.Attr{slog.String("token_id", e.TokenID.String()), slog.String("method", e.Method),
				slog.String("path", e.Path), slog.Int("status", e.Status), slog.Time("at", e.At)}
		},
	})}
}

// Record logs r against the token that made the request: the personal access token principal
// in ctx or, for a refused genuine token, the token in err (see RefusedError). Requests made
// with anything else are not a token's and are ignored. A nil Logger records nothing.
func (l *Logger) Record(ctx context.Context, err error, r Request) {
	if l == nil {
		return
	}
	var tenantID, tokenID uuid.UUID
	if p, ok := tenancy.PrincipalFrom(ctx); ok && p.Kind == tenancy.CredentialPAT {
		tenantID, tokenID = p.TenantID, p.TokenID
	} else if err == nil {
		return
	} else {
		var refused *RefusedError
		if !errors.As(err, &refused) {
			return
		}
		tenantID, tokenID = refused.TenantID, refused.TokenID
	}
	id, e := uuid.NewV7()
	if e != nil {
		id = uuid.New()
	}
	l.w.Add(ctx, AccessEntry{TenantID: tenantID, ID: id, TokenID: tokenID, At: r.At.UTC(),
		RequestID: clean(r.RequestID, maxRequestID), Method: clean(r.Method, maxMethod), Path: clean(r.Path, maxPath),
		Status: r.Status, ClientIP: clean(r.ClientIP, maxClientIP), UserAgent: clean(r.UserAgent, maxUserAgent)})
}

// Flush waits until every entry recorded before the call is written.
func (l *Logger) Flush(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.w.Flush(ctx)
}

// Close writes what is buffered and stops the writer. Later entries are written directly.
func (l *Logger) Close() {
	if l == nil {
		return
	}
	l.w.Close()
}

// Lost is how many entries could not be written (each also logged at error level).
func (l *Logger) Lost() int64 {
	if l == nil {
		return 0
	}
	return l.w.Lost()
}

// clean makes a string storable as PostgreSQL text: valid UTF-8, no NUL, at most limit bytes.
// The result is always a copy: Fiber's strings point into buffers the next request reuses, and
// the entry is written after this request has ended.
func clean(s string, limit int) string {
	if len(s) > limit {
		s = s[:limit]
	}
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return strings.Clone(s)
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	for len(s) > limit {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
