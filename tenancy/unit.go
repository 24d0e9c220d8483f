package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// ErrOtherTenant is a Tx for one tenant asked inside a unit of work already bound to another. It
// is a programming error: one request or job works in one tenant.
var ErrOtherTenant = errors.New("tenancy: unit of work is bound to another tenant")

// Unit is one request's (or one job's) unit of work: at most one database connection and, for a
// read unit, one snapshot. Every DB.Tx and DB.ReadTx made with a context that carries the unit
// joins the transaction the unit has open instead of asking the pool for a second connection
// (Keto's WithLatestSnapshot, Gitea's db.WithTx): a decision that has to load a tenant's policy
// in the middle of a request reads it on the request's own connection.
//
//   - A read unit (safe HTTP methods) opens one read-only REPEATABLE READ transaction on first
//     use and keeps it until End: the middleware's checks, the decision and the handler's reads
//     all see the same snapshot.
//   - A write unit opens nothing by itself. The outermost Tx commits when it returns, as without
//     a unit, so code after it runs after the commit; Tx calls nested in it (with any context
//     derived from the unit's) join it through a savepoint, so a nested failure undoes only its
//     own part.
//
// A unit belongs to one goroutine, like the request or task that owns it.
type Unit struct {
	db       *DB
	ctx      context.Context
	readOnly bool

	tenant uuid.UUID
	tx     *gorm.DB  // the open transaction, nil when none
	began  time.Time // when tx was begun: its snapshot holds every commit made before then
	after  []func()
	ended  bool
}

type unitKey struct{}

// BeginUnit returns ctx carrying a new unit of work on the database. End must be called when the
// request or task is done. readOnly makes it a read unit (one snapshot, no writes).
func (d *DB) BeginUnit(ctx context.Context, readOnly bool) (context.Context, *Unit) {
	u := &Unit{db: d, readOnly: readOnly}
	ctx = context.WithValue(ctx, unitKey{}, u)
	u.ctx = ctx
	return ctx, u
}

// End closes the read unit's transaction, if one is open, and runs the work deferred with
// AfterUnit. It is safe to call on a write unit whose Tx calls have all returned.
func (u *Unit) End() {
	if u == nil {
		return
	}
	if u.tx != nil && u.readOnly {
		// A read-only transaction has nothing to keep; commit merely releases the snapshot.
		_ = u.tx.Commit().Error
		u.tx = nil
	}
	// Code that outlives the request with its context (a response body streamed after the
	// handler) gets connections of its own from now on.
	u.ended = true
	u.runAfter()
}

func (u *Unit) runAfter() {
	for len(u.after) > 0 {
		fns := u.after
		u.after = nil
		for _, fn := range fns {
			fn()
		}
	}
}

func unitFrom(ctx context.Context) *Unit {
	if ctx == nil {
		return nil
	}
	u, _ := ctx.Value(unitKey{}).(*Unit)
	return u
}

// Detached returns ctx without its unit of work: statements made with it take their own
// connection. Only code that runs after the unit has released its connection may use it.
func Detached(ctx context.Context) context.Context {
	if unitFrom(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, unitKey{}, (*Unit)(nil))
}

// AfterUnit runs fn once the unit of work in ctx holds no connection: at once when there is no
// unit or it has no transaction open, else when its outermost Tx returns (committed or not) or
// its read snapshot ends. Work that needs a connection of its own (an overflowing audit batch)
// goes there rather than waiting for a second connection while the request holds one.
func AfterUnit(ctx context.Context, fn func()) {
	u := unitFrom(ctx)
	if u == nil || u.tx == nil {
		fn()
		return
	}
	u.after = append(u.after, fn)
}

// InWriteTx reports whether ctx carries a unit with a read-write transaction open: what is read
// there may include the transaction's own uncommitted changes, so it must not be cached.
func InWriteTx(ctx context.Context) bool {
	u := unitFrom(ctx)
	return u != nil && u.tx != nil && !u.readOnly
}

// join runs fn in the unit's transaction, opening it first if the unit is a read unit with none
// open yet. ok is false when the unit has nothing to join (a write unit between transactions).
func (u *Unit) join(tenantID uuid.UUID, fn func(tx *gorm.DB) error) (err error, ok bool) {
	if u.tx == nil {
		if !u.readOnly || u.ended {
			return nil, false
		}
		if err := u.open(tenantID); err != nil {
			return err, true
		}
	}
	if u.tenant != tenantID {
		return fmt.Errorf("%w (unit %s, asked %s)", ErrOtherTenant, u.tenant, tenantID), true
	}
	if u.readOnly {
		return fn(u.tx), true
	}
	// A savepoint: a nested failure rolls back its own statements and leaves the outer
	// transaction usable (PostgreSQL aborts a whole transaction on a failed statement).
	return u.tx.Transaction(fn), true
}

// open begins the read unit's snapshot on the reader pool, scoped to the tenant.
func (u *Unit) open(tenantID uuid.UUID) error {
	d := u.db
	ctx := context.WithValue(u.ctx, scopedTxKey{}, tenantID)
	var opts *sql.TxOptions
	if d.dialect == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	// gorm's Begin would copy its session twice (WithContext, then Begin); the transaction is
	// begun on the pool directly and handed to one session, as Begin itself does.
	pool, ok := d.reader.Statement.ConnPool.(gorm.TxBeginner)
	if !ok {
		return fmt.Errorf("begin read unit: the pool cannot begin transactions")
	}
	began := time.Now()
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read unit: %w", err)
	}
	tx := d.reader.Session(&gorm.Session{Context: ctx, NewDB: true})
	tx.Statement.ConnPool = sqlTx
	if err := d.enterScope(tx, tenantID); err != nil {
		_ = tx.Rollback().Error
		return err
	}
	u.tx, u.tenant, u.began = tx, tenantID, began
	return nil
}

// SnapshotBegan reports when the snapshot of ctx's read unit was begun, if one is open: every
// transaction that committed before that time is in it (a REPEATABLE READ snapshot is taken at
// the first statement after BEGIN). Caches use it to tell a read that may predate a change they
// were told of from one that cannot.
func SnapshotBegan(ctx context.Context) (time.Time, bool) {
	u := unitFrom(ctx)
	if u == nil || !u.readOnly || u.tx == nil {
		return time.Time{}, false
	}
	return u.began, true
}
