package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrNoTenant is returned when tenant data is touched without a tenant in context or outside
// DB.Tx. It is a programming error, never the caller's fault.
var ErrNoTenant = errors.New("tenancy: tenant data accessed without a tenant scope")

// AppRole is the PostgreSQL role every tenant transaction runs as. It owns nothing and does not
// bypass row-level security, whatever role the connection logged in with.
const AppRole = "atelier_app"

// Dialect names the database backend.
type Dialect string

// Backends.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is the database handle. Tenant tables are reached only through Tx, which scopes every
// statement to the tenant in context (in the SQL and, on PostgreSQL, by row-level security).
type DB struct {
	gorm    *gorm.DB
	dialect Dialect
	// reader serves ReadTx. On SQLite it is a pool of read-only connections beside the single
	// writer connection (WAL lets readers run while a write transaction is open); on PostgreSQL
	// it is gorm itself.
	reader *gorm.DB
	tracer *statementTracer
}

// OnStatement makes fn see the SQL of every statement the PostgreSQL pool runs from now on,
// whichever way it was issued (gorm or straight on a transaction's connection), transaction
// control (BEGIN, COMMIT, …) excepted; nil stops it. Tests count statements per request with it.
func (d *DB) OnStatement(fn func(sql string)) {
	if fn == nil {
		d.tracer.hook.Store(nil)
		return
	}
	d.tracer.hook.Store(&fn)
}

// statementTracer is the pgx tracer behind OnStatement: one atomic load per statement when unused.
type statementTracer struct{ hook atomic.Pointer[func(string)] }

func (t *statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if fn := t.hook.Load(); fn != nil && !txControl(data.SQL) {
		(*fn)(data.SQL)
	}
	return ctx
}

func (*statementTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func txControl(sql string) bool {
	word, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	switch strings.ToLower(word) {
	case "begin", "commit", "rollback", "savepoint", "release":
		return true
	}
	return false
}

// Options configure Open.
type Options struct {
	// DatabaseURL is a PostgreSQL DSN; empty selects the embedded SQLite file in DataDir.
	DatabaseURL string
	DataDir     string
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
	Logger       *slog.Logger
}

// Open connects to the configured backend and installs the tenant scope.
func Open(opts Options) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 gormLogger(opts.Logger),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	}
	var (
		g       *gorm.DB
		reader  *gorm.DB
		err     error
		dialect Dialect
		tracer  = &statementTracer{}
	)
	if opts.DatabaseURL != "" {
		dialect = Postgres
		var pc *pgx.ConnConfig
		if pc, err = pgx.ParseConfig(opts.DatabaseURL); err != nil {
			return nil, fmt.Errorf("parse database url: %w", err)
		}
		pc.Tracer = tracer
		g, err = gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*pc,
			// uuid.UUID parameters are sent as 16 bytes, not through their driver.Valuer's string
			// (which pgx then parses back, at some 18 allocations a parameter).
			stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
				pgxuuid.Register(c.TypeMap())
				return nil
			}))}), cfg)
	} else {
		dialect = SQLite
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		file := filepath.Join(opts.DataDir, "atelier.db")
		g, err = gorm.Open(sqlite.Open(file+
			"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"), cfg)
		if err == nil {
			reader, err = gorm.Open(sqlite.Open(file+
				"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=query_only(1)&_txlock=deferred"), cfg)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		// One writer at a time is what SQLite allows; a single connection avoids lock errors.
		sqlDB.SetMaxOpenConns(1)
		readDB, err := reader.DB()
		if err != nil {
			return nil, err
		}
		readDB.SetMaxOpenConns(4)
		if err := registerScope(reader); err != nil {
			return nil, err
		}
	} else {
		reader = g
		n := opts.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := registerScope(g); err != nil {
		return nil, err
	}
	return &DB{gorm: g, dialect: dialect, reader: reader, tracer: tracer}, nil
}

// Dialect reports the backend.
func (d *DB) Dialect() Dialect { return d.dialect }

// Ping checks the database is reachable.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the pools.
func (d *DB) Close() error {
	pools := []*gorm.DB{d.gorm}
	if d.reader != nil && d.reader != d.gorm {
		pools = append(pools, d.reader)
	}
	var errs []error
	for _, g := range pools {
		sqlDB, err := g.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type scopedTxKey struct{}

// Tx runs fn in a transaction scoped to the tenant in ctx. Every statement on a tenant model is
// limited to that tenant; on PostgreSQL the transaction also runs as AppRole with the tenant set
// for row-level security (SET LOCAL semantics: the setting dies with the transaction, so a pooled
// connection never carries one tenant's scope to the next user). Inside a unit of work (see Unit)
// it joins the unit's open transaction instead of taking a second connection.
func (d *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return d.tx(ctx, d.gorm, fn)
}

// ReadTx is Tx for reads. Inside a unit of work it joins the unit's transaction like Tx. Outside
// one, on SQLite it runs on a read-only connection beside the single writer (WAL), so a read never
// waits for a write transaction in progress; on PostgreSQL it is exactly Tx, a read-write
// transaction: nothing makes it read-only, fn must only read.
func (d *DB) ReadTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return d.tx(ctx, d.reader, fn)
}

func (d *DB) tx(ctx context.Context, g *gorm.DB, fn func(tx *gorm.DB) error) error {
	tenantID, ok := TenantFrom(ctx)
	if !ok {
		return ErrNoTenant
	}
	u := unitFrom(ctx)
	if u != nil {
		if err, joined := u.join(tenantID, fn); joined {
			return err
		}
	}
	ctx = context.WithValue(ctx, scopedTxKey{}, tenantID)
	err := g.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := d.enterScope(tx, tenantID); err != nil {
			return err
		}
		if u == nil {
			return fn(tx)
		}
		u.tx, u.tenant = tx, tenantID
		defer func() { u.tx = nil }()
		return fn(tx)
	})
	if u != nil {
		u.runAfter()
	}
	return err
}

// enterScope makes a PostgreSQL transaction run as AppRole for the tenant (row-level security).
func (d *DB) enterScope(tx *gorm.DB, tenantID uuid.UUID) error {
	if d.dialect != Postgres {
		return nil
	}
	// Straight on the transaction's connection: this runs before every tenant transaction, and
	// gorm's statement building would cost more than the statement. Without parameters pgx sends
	// it as one simple-protocol message (no bind, no encoding of arguments): the values are a
	// constant and a uuid.UUID's canonical form (hex digits and dashes), nothing a caller wrote.
	if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, scopeSQL(tenantID)); err != nil {
		return fmt.Errorf("enter tenant scope: %w", err)
	}
	return nil
}

// scopeSQL is the statement that enters the tenant scope, with its values written out.
func scopeSQL(tenantID uuid.UUID) string {
	return "SELECT set_config('role', '" + AppRole + "', true), set_config('app.tenant_id', '" + tenantID.String() + "', true)"
}

// Registry returns a handle for the tables that are not owned by a tenant (the tenant registry
// itself). Tenant models are refused on it by the scope plugin.
func (d *DB) Registry(ctx context.Context) *gorm.DB {
	return d.gorm.WithContext(ctx)
}

// Raw returns the unscoped handle for migrations and administrative maintenance. Nothing on a
// request path may use it.
func (d *DB) Raw() *gorm.DB { return d.gorm }

// TxTenant returns the tenant a transaction handed out by Tx or ReadTx is scoped to, for the
// few statements written out by hand on its connection (tx.Statement.ConnPool).
func TxTenant(tx *gorm.DB) (uuid.UUID, bool) { return scopedTenant(tx.Statement.Context) }

// scopedTenant returns the tenant of the enclosing Tx.
func scopedTenant(ctx context.Context) (uuid.UUID, bool) {
	if ctx == nil {
		return uuid.Nil, false
	}
	id, ok := ctx.Value(scopedTxKey{}).(uuid.UUID)
	return id, ok
}

// slowQuery is the duration past which a statement is logged.
const slowQuery = 200 * time.Millisecond

func gormLogger(l *slog.Logger) logger.Interface {
	if l == nil {
		return logger.Discard
	}
	return quietLogger{logger.NewSlogLogger(l, logger.Config{
		SlowThreshold:             slowQuery,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	})}
}

// quietLogger renders a statement (gorm's Trace formats the SQL of every statement before it
// decides whether to log it) only for the statements it logs: failed and slow ones.
type quietLogger struct{ logger.Interface }

func (q quietLogger) LogMode(level logger.LogLevel) logger.Interface {
	return quietLogger{q.Interface.LogMode(level)}
}

func (q quietLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if (err == nil || errors.Is(err, gorm.ErrRecordNotFound)) && time.Since(begin) <= slowQuery {
		return
	}
	q.Interface.Trace(ctx, begin, fc, err)
}
