package rbac

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

//go:embed model.conf
var modelText string

// RulesTable is where the gorm adapter keeps the policy. Its tenant_id is derived from each
// rule's domain field, so the table is tenant-keyed like every other.
const RulesTable = "casbin_rule"

// maxHierarchy bounds the walk: object node, up to 12 ancestors, the grant, a group.
const maxHierarchy = 16

// Root is the node of the tenant itself; a grant on it holds everywhere in the tenant.
const Root = "tenant"

// WorkspaceNode names a workspace's node in the policy graph.
func WorkspaceNode(id uuid.UUID) string { return "ws:" + id.String() }

// UserSubject names a user in the policy graph.
func UserSubject(id uuid.UUID) string { return SubjectUser + ":" + id.String() }

// ErrDenied is a decision against the caller. Services turn it into 403 or, where the object is
// not visible to the caller at all, 404.
var ErrDenied = errors.New("rbac: denied")

// Bus carries "tenant T's policy changed" between processes (Redis pub/sub in production).
type Bus interface {
	Publish(ctx context.Context, tenantID uuid.UUID) error
}

// Auditor records decisions; the enforcer reports every denial to it.
type Auditor interface {
	Record(ctx context.Context, e AuditEntry)
}

// AuditEntry is one decision or change for the audit log.
type AuditEntry struct {
	Subject string
	Action  string
	Object  string
	Allowed bool
	Reason  map[string]any
}

// Enforcer holds one casbin enforcer per tenant, loaded on first use from the rules table
// through the gorm adapter, and dropped on every node when the tenant's policy changes.
type Enforcer struct {
	db      *tenancy.DB
	log     *slog.Logger
	bus     Bus
	auditor Auditor
	now     func() time.Time
	recheck time.Duration

	mu      sync.RWMutex
	tenants map[uuid.UUID]*tenantPolicy
	// budget bounds the estimated bytes of the loaded policies (0: no bound); held is their sum.
	// Past the budget the least recently used tenants are dropped (they load again on use).
	budget, held int64
	// clock orders uses for the eviction (a counter, not time).
	clock atomic.Int64
	// changes counts the policy changes seen per tenant. A load keeps its result only if no
	// change came while it ran, and callers after a change never join a load begun before it.
	changes map[uuid.UUID]uint64
	// forgotAt is when this process last heard of a committed change to the tenant's policy
	// (Forget). A load whose snapshot was begun before then may predate the change: it serves
	// the request that made it (whose snapshot it matches) and nobody else.
	forgotAt map[uuid.UUID]time.Time
	loading  singleflight.Group
}

// tenantPolicy is one tenant's loaded policy.
type tenantPolicy struct {
	ce *casbin.SyncedEnforcer
	// links is ce's role manager for g, the node graph; g's rules are nowhere else (see
	// newTenantPolicy).
	links *graph
	// expires is the earliest future grant expiry (zero: none). The first decision at or after
	// it reloads the policy, so an expired grant stops counting at its expiry time even while
	// the policy stays warm.
	expires time.Time
	parents map[string]string
	access  map[string]accessAssignment
	dom     string
	// version is the tenant's policy version the policy was loaded at; checked is when (unix
	// nanoseconds of the enforcer's clock) it was last found current in the database.
	version int64
	checked atomic.Int64
	// size is the policy's estimated heap (rules × RuleBytes); used the enforcer's clock at its
	// last decision.
	size int64
	used atomic.Int64
	// rootRoles caches RolesOn(user, Root): uuid.UUID -> []string.
	rootRoles sync.Map
}

// policyVersion is the tenant's row of policy_versions, moved forward by triggers on every table
// the policy is loaded from.
type policyVersion struct {
	TenantID uuid.UUID `gorm:"column:tenant_id;primaryKey"`
	Version  int64     `gorm:"column:version"`
}

func (policyVersion) TableName() string { return "policy_versions" }

// DefaultRecheck is how long a loaded policy is trusted before its version is compared with the
// database again.
const DefaultRecheck = time.Second

// NewEnforcer checks the model and returns an enforcer with nothing loaded.
func NewEnforcer(db *tenancy.DB, bus Bus, log *slog.Logger) (*Enforcer, error) {
	if _, err := model.NewModelFromString(modelText); err != nil {
		return nil, fmt.Errorf("rbac model: %w", err)
	}
	return &Enforcer{db: db, bus: bus, log: log, now: func() time.Time { return time.Now().UTC() },
		recheck: DefaultRecheck, tenants: map[uuid.UUID]*tenantPolicy{}, changes: map[uuid.UUID]uint64{},
		forgotAt: map[uuid.UUID]time.Time{}}, nil
}

// RuleBytes is the heap one loaded rule (grant, role permission or hierarchy link) is counted at
// against the budget: what BenchmarkAuthorizeCold measures per tenant (policy-KB/tenant) divided
// by the tenant's rules — 157 KB for 1,173 rules (1,000 grants) in the 10kGrants set, rounded up.
const RuleBytes = 160

// SetBudget bounds the estimated memory of the loaded policies to bytes (0: no bound): past it,
// the least recently used tenants' policies are dropped and load again on their next decision.
func (e *Enforcer) SetBudget(bytes int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.budget = bytes
	e.evictLocked()
}

// IsLoaded reports whether the tenant's policy is held in memory.
func (e *Enforcer) IsLoaded(tenantID uuid.UUID) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.tenants[tenantID]
	return ok
}

// Held is the estimated heap of the loaded policies, in bytes.
func (e *Enforcer) Held() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.held
}

// keepLocked caches a loaded policy, replacing the tenant's previous one, and evicts past the
// budget. e.mu is held.
func (e *Enforcer) keepLocked(tenantID uuid.UUID, tp *tenantPolicy) {
	e.dropLocked(tenantID)
	tp.used.Store(e.clock.Add(1))
	e.tenants[tenantID] = tp
	e.held += tp.size
	e.evictLocked()
}

// dropLocked removes the tenant's policy from the cache. e.mu is held.
func (e *Enforcer) dropLocked(tenantID uuid.UUID) {
	if old, ok := e.tenants[tenantID]; ok {
		e.held -= old.size
		delete(e.tenants, tenantID)
	}
}

// evictLocked drops the least recently used policies until the held estimate is within 90% of
// the budget (the slack keeps a full cache from evicting on every load). e.mu is held.
func (e *Enforcer) evictLocked() {
	if e.budget <= 0 || e.held <= e.budget {
		return
	}
	type use struct {
		id   uuid.UUID
		used int64
	}
	order := make([]use, 0, len(e.tenants))
	for id, tp := range e.tenants {
		order = append(order, use{id, tp.used.Load()})
	}
	slices.SortFunc(order, func(a, b use) int { return cmp.Compare(a.used, b.used) })
	for _, u := range order {
		if e.held <= e.budget*9/10 {
			break
		}
		e.dropLocked(u.id)
		e.changes[u.id]++
	}
}

// SetAuditor makes the enforcer report denials.
func (e *Enforcer) SetAuditor(a Auditor) { e.auditor = a }

// SetClock replaces the clock (tests of expiry).
func (e *Enforcer) SetClock(now func() time.Time) { e.now = now }

// SetRecheck sets how long a loaded policy is trusted before its version is checked again.
func (e *Enforcer) SetRecheck(d time.Duration) { e.recheck = d }

// Authorize decides whether the principal in ctx may do the action on the node, and reports a
// denial to the auditor. A personal access token never does more than its owner, nor more than
// its scopes: without the `write` scope it may only read.
func (e *Enforcer) Authorize(ctx context.Context, action Action, node string) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return ErrDenied
	}
	if p.Kind == tenancy.CredentialPAT && !action.ReadOnly() && !p.HasScope("write") {
		e.audit(ctx, p, action, node, false, map[string]any{"rule": "token lacks the write scope"})
		return fmt.Errorf("%w: token lacks the write scope", ErrDenied)
	}
	allowed, err := e.Allowed(ctx, p.TenantID, p.UserID, node, action)
	if err != nil {
		return err
	}
	if !allowed {
		e.audit(ctx, p, action, node, false, map[string]any{"rule": "no grant allows it"})
		return ErrDenied
	}
	return nil
}

func (e *Enforcer) audit(ctx context.Context, p tenancy.Principal, action Action, node string, allowed bool, reason map[string]any) {
	if e.auditor == nil {
		return
	}
	e.auditor.Record(ctx, AuditEntry{Subject: UserSubject(p.UserID), Action: string(action), Object: node,
		Allowed: allowed, Reason: reason})
}

// Allowed reports whether the user may do the action on the node of the tenant.
func (e *Enforcer) Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action Action) (bool, error) {
	if !action.Known() {
		return false, nil
	}
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return false, err
	}
	return tp.ce.Enforce(UserSubject(userID), tp.dom, node, string(action))
}

// ReadOnlyFor reports whether the access profile in force on the node makes it read-only for
// the user (a `read_only` profile there or above, and the user no tenant admin). Rights that do
// not come from a grant — board membership, owning an image — are bound by it too: the modules
// that grant them ask here before any write.
func (e *Enforcer) ReadOnlyFor(ctx context.Context, tenantID, userID uuid.UUID, node string) (bool, error) {
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return false, err
	}
	return tp.accessVerdict(UserSubject(userID), node, "", WorkspaceUpdate) == "read_only", nil
}

// RolesOn lists the roles the user holds on the node itself or inherits from above it.
func (e *Enforcer) RolesOn(ctx context.Context, tenantID, userID uuid.UUID, node string) ([]string, error) {
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if node != Root {
		return tp.rolesOn(userID, node)
	}
	// A user's tenant-wide roles are asked on every GET /me: kept with the loaded policy, which
	// is replaced whenever the tenant's policy changes. Callers get their own copy.
	if r, ok := tp.rootRoles.Load(userID); ok {
		return slices.Clone(r.([]string)), nil
	}
	roles, err := tp.rolesOn(userID, node)
	if err != nil {
		return nil, err
	}
	tp.rootRoles.Store(userID, slices.Clip(roles))
	return slices.Clone(roles), nil
}

func (tp *tenantPolicy) rolesOn(userID uuid.UUID, node string) ([]string, error) {
	policies, err := tp.ce.GetFilteredPolicy(0, tp.dom)
	if err != nil {
		return nil, err
	}
	roles := []string{}
	for _, p := range policies {
		ok, err := tp.ce.GetRoleManager().HasLink(node, p[1]+"@"+UserSubject(userID), tp.dom)
		if err != nil {
			return nil, err
		}
		if ok {
			roles = append(roles, p[1])
		}
	}
	return roles, nil
}

// Holds reports whether a role the user holds on the node (there or above) includes the action,
// whatever access profile is in force. It is for rights that follow from standing rather than
// from doing: an admin reads what they could change, also while a read_only profile freezes the
// subtree. Decisions to act use Allowed.
func (e *Enforcer) Holds(ctx context.Context, tenantID, userID uuid.UUID, node string, action Action) (bool, error) {
	if !action.Known() {
		return false, nil
	}
	roles, err := e.RolesOn(ctx, tenantID, userID, node)
	if err != nil {
		return false, err
	}
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return false, err
	}
	for _, role := range roles {
		if ok, _ := tp.ce.GetNamedRoleManager("g2").HasLink(role, string(action), tp.dom); ok {
			return true, nil
		}
	}
	return false, nil
}

// Scope is what a listing may show: a node is visible when the nearest of the scope's nodes on
// its path up to the root is one of Nodes, or when there is none and All is set. Except lists
// the nodes where reading stops again (an access profile takes the action away there) — until
// a deeper node of Nodes gives it back.
type Scope struct {
	All    bool
	Nodes  []uuid.UUID // workspace ids whose subtrees are visible
	Except []uuid.UUID // workspace ids whose subtrees are not, down to a deeper node of Nodes
}

// Readable returns where the user may do the (read) action: the listing filter modules push
// into SQL, so that listing agrees with reading. It comes from the loaded policy, not from
// loading rows to filter them: whether a workspace is readable depends only on the grants on
// its path and on the access profile nearest to it, so it is decided once at every node that
// carries a grant of the user or an access profile (the markers), and a workspace follows the
// nearest marker above it.
func (e *Enforcer) Readable(ctx context.Context, tenantID, userID uuid.UUID, action Action) (Scope, error) {
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return Scope{}, err
	}
	return tp.readable(userID, action)
}

func (tp *tenantPolicy) readable(userID uuid.UUID, action Action) (Scope, error) {
	policies, err := tp.ce.GetFilteredPolicy(0, tp.dom)
	if err != nil {
		return Scope{}, err
	}
	rm := tp.ce.GetRoleManager()
	// markers: node → whether the user holds a role carrying the action right there.
	markers := map[string]bool{Root: false}
	for _, p := range policies {
		role := p[1]
		if ok, _ := tp.ce.GetNamedRoleManager("g2").HasLink(role, string(action), tp.dom); !ok {
			continue
		}
		holders, err := rm.GetUsers(role+"@"+UserSubject(userID), tp.dom)
		if err != nil {
			return Scope{}, err
		}
		for _, h := range holders {
			nodes := []string{h}
			if strings.HasPrefix(h, role+"@"+SubjectGroup+":") {
				if nodes, err = rm.GetUsers(h, tp.dom); err != nil {
					return Scope{}, err
				}
			}
			for _, n := range nodes {
				markers[n] = true
			}
		}
	}
	for n := range tp.access {
		if _, ok := markers[n]; !ok {
			markers[n] = false
		}
	}
	sub := UserSubject(userID)
	var scope Scope
	for n, granted := range markers {
		// A node where the action is granted and no access profile bears on it is readable
		// without asking; the root with no grant of its own has nothing above it.
		ok := granted && !tp.profileBears(n, action)
		if !ok && (granted || n != Root) {
			if ok, err = tp.ce.Enforce(sub, tp.dom, n, string(action)); err != nil {
				return Scope{}, err
			}
		}
		if n == Root {
			scope.All = ok
			continue
		}
		id, err := uuid.Parse(strings.TrimPrefix(n, "ws:"))
		if err != nil || !strings.HasPrefix(n, "ws:") {
			continue
		}
		if ok {
			scope.Nodes = append(scope.Nodes, id)
		} else {
			scope.Except = append(scope.Except, id)
		}
	}
	if !scope.All && len(scope.Nodes) == 0 {
		scope.Except = nil
	}
	return scope, nil
}

// Sync checks the loaded policy's version against the database now, whatever the recheck
// interval, on ctx's unit of work: the decisions that follow in that unit use the current policy.
// A service calls it inside a write transaction, under the lock that orders the changes it
// decides on (workspace moves and deletes).
func (e *Enforcer) Sync(ctx context.Context, tenantID uuid.UUID) error {
	e.mu.RLock()
	tp := e.tenants[tenantID]
	e.mu.RUnlock()
	if tp != nil {
		tp.checked.Store(0)
	}
	_, err := e.tenant(ctx, tenantID)
	return err
}

// Forget drops the tenant's loaded policy here; the next decision reloads it. It is called once
// the change has committed, so a snapshot begun after it holds the change.
func (e *Enforcer) Forget(tenantID uuid.UUID) {
	e.mu.Lock()
	e.dropLocked(tenantID)
	e.changes[tenantID]++
	e.forgotAt[tenantID] = time.Now()
	e.mu.Unlock()
}

// Changed must be called after a transaction that changed the tenant's policy has committed:
// it drops the policy here and tells every other process to do the same.
func (e *Enforcer) Changed(ctx context.Context, tenantID uuid.UUID) error {
	e.Forget(tenantID)
	if e.bus == nil {
		return nil
	}
	if err := e.bus.Publish(ctx, tenantID); err != nil {
		return fmt.Errorf("publish policy change: %w", err)
	}
	return nil
}

// Loaded reports how many tenants' policies are held in memory.
func (e *Enforcer) Loaded() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.tenants)
}

// tenant returns the tenant's policy: the loaded one while it is current, else a fresh load.
// Loads run on the caller's unit of work (tenancy.Unit), never on a second connection. A load
// made inside a write transaction may see that transaction's uncommitted changes, so it serves
// that decision only and is neither cached nor shared.
func (e *Enforcer) tenant(ctx context.Context, tenantID uuid.UUID) (*tenantPolicy, error) {
	e.mu.RLock()
	tp, ok := e.tenants[tenantID]
	gen := e.changes[tenantID]
	e.mu.RUnlock()
	now := e.now()
	if ok && (tp.expires.IsZero() || now.Before(tp.expires)) {
		current, err := e.current(ctx, tenantID, tp, now)
		if err != nil {
			return nil, err
		}
		if current {
			tp.used.Store(e.clock.Add(1))
			return tp, nil
		}
		e.mu.Lock()
		if e.tenants[tenantID] == tp {
			e.dropLocked(tenantID)
			e.changes[tenantID]++
			e.forgotAt[tenantID] = time.Now() // a change committed before this check's snapshot
		}
		gen = e.changes[tenantID]
		e.mu.Unlock()
	}
	if tenancy.InWriteTx(ctx) {
		return e.load(ctx, tenantID)
	}
	v, err, shared := e.loading.Do(fmt.Sprintf("%s/%d", tenantID, gen), func() (any, error) {
		asked := time.Now()
		tp, err := e.load(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		// The load read the request's snapshot, which may have been begun before the change
		// this process last heard of (a request that started before a revoke and decides after
		// it): such a policy matches that request's reads but is kept for nobody else.
		began, ok := tenancy.SnapshotBegan(ctx)
		if !ok {
			began = asked // no read unit: the load began its own transaction after asked
		}
		e.mu.Lock()
		fresh := began.After(e.forgotAt[tenantID])
		if fresh && e.changes[tenantID] == gen {
			e.keepLocked(tenantID, tp)
		}
		e.mu.Unlock()
		return loaded{tp, fresh}, nil
	})
	if err != nil {
		return nil, err
	}
	l := v.(loaded)
	if shared && !l.fresh {
		// Another request's older snapshot: load on this request's own.
		return e.load(ctx, tenantID)
	}
	return l.tp, nil
}

// loaded is a policy load's result, with whether its snapshot holds every change heard of.
type loaded struct {
	tp    *tenantPolicy
	fresh bool
}

// current reports whether the loaded policy is still the tenant's latest. Within the recheck
// interval it is trusted; after it, one caller compares the version with the database (on its
// own unit of work) while the others go on with the loaded policy, which is then at most one
// interval old. A failed check fails closed for the caller that made it.
func (e *Enforcer) current(ctx context.Context, tenantID uuid.UUID, tp *tenantPolicy, now time.Time) (bool, error) {
	last := tp.checked.Load()
	if now.UnixNano()-last < int64(e.recheck) || !tp.checked.CompareAndSwap(last, now.UnixNano()) {
		return true, nil
	}
	var pv policyVersion
	err := e.db.ReadTx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) error {
		return tx.Limit(1).Find(&pv).Error
	})
	if err != nil {
		tp.checked.Store(last)
		return false, fmt.Errorf("check policy version of tenant %s: %w", tenantID, err)
	}
	return pv.Version == tp.version, nil
}

// load reads the tenant's policy on ctx's unit of work and builds it as of the enforcer's clock.
func (e *Enforcer) load(ctx context.Context, tenantID uuid.UUID) (*tenantPolicy, error) {
	dom := tenantID.String()
	var rows *policyRows
	err := e.db.ReadTx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) (err error) {
		rows, err = readPolicy(tx, dom)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load policy of tenant %s: %w", tenantID, err)
	}
	return newTenantPolicy(dom, rows, e.now())
}

// effectiveAccess is the nearest `access` profile on the path from node up to the tenant root,
// and the node it is assigned on.
func (tp *tenantPolicy) effectiveAccess(node string) (accessAssignment, string, bool) {
	n := node
	for depth := 0; depth <= maxHierarchy; depth++ {
		if as, ok := tp.access[n]; ok {
			return as, n, true
		}
		if n == Root {
			break
		}
		parent, ok := tp.parents[n]
		if !ok {
			parent = Root
		}
		n = parent
	}
	return accessAssignment{}, "", false
}

// profileBears reports whether the access profile in force on the node can take the action
// away from anyone there (read_only for a change, or the action denied to some role).
func (tp *tenantPolicy) profileBears(node string, act Action) bool {
	as, _, ok := tp.effectiveAccess(node)
	if !ok {
		return false
	}
	s := as.Settings.Data()
	if s.ReadOnly && !act.ReadOnly() {
		return true
	}
	for _, denied := range s.Deny {
		if slices.ContainsFunc(denied, func(d Action) bool { return d == act || d.Implies(act) }) {
			return true
		}
	}
	return false
}

// profileAllows is the model's profileAllows(sub, obj, role, act): the access profile in force
// on the object's node may make the subtree read-only (tenant admins excepted) or take actions
// away from a role.
func (tp *tenantPolicy) profileAllows(args ...any) (any, error) {
	if len(args) != 4 {
		return false, fmt.Errorf("profileAllows takes 4 arguments, got %d", len(args))
	}
	sub, _ := args[0].(string)
	node, _ := args[1].(string)
	role, _ := args[2].(string)
	act, _ := args[3].(string)
	return tp.accessVerdict(sub, node, role, Action(act)) == "", nil
}

// accessVerdict says why the access profile refuses (empty: it does not).
func (tp *tenantPolicy) accessVerdict(sub, node, role string, act Action) string {
	as, _, ok := tp.effectiveAccess(node)
	if !ok {
		return ""
	}
	s := as.Settings.Data()
	if s.ReadOnly && !act.ReadOnly() && !tp.tenantAdmin(sub) {
		return "read_only"
	}
	for _, denied := range s.Deny[role] {
		if denied == act || denied.Implies(act) {
			return "denied for role " + role
		}
	}
	return ""
}

func (tp *tenantPolicy) tenantAdmin(sub string) bool {
	ok, _ := tp.ce.GetRoleManager().HasLink(Root, RoleAdmin+"@"+sub, tp.dom)
	return ok
}

// adapterFor binds the gorm adapter to a tenant-scoped transaction, so that loading and saving
// rules is subject to the same tenant scope (and row-level security) as every other table.
func adapterFor(tx *gorm.DB) (*gormadapter.Adapter, error) {
	gormadapter.TurnOffAutoMigrate(tx)
	a, err := gormadapter.NewAdapterByDBUseTableName(tx, "", RulesTable)
	if err != nil {
		return nil, fmt.Errorf("policy adapter: %w", err)
	}
	return a, nil
}
