package rbac

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"
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

// maxHierarchy bounds the walk: object node, up to 8 ancestors, the grant, a group.
const maxHierarchy = 16

// Root is the node of the tenant itself; a grant on it holds everywhere in the tenant.
const Root = "tenant"

// WorkspaceNode names a workspace's node in the policy graph.
func WorkspaceNode(id uuid.UUID) string { return "ws:" + id.String() }

// UserSubject names a user in the policy graph.
func UserSubject(id uuid.UUID) string { return "user:" + id.String() }

// Enforcer holds one casbin enforcer per tenant, loaded on first use from the rules table
// through the gorm adapter, and dropped on every node when the tenant's policy changes.
type Enforcer struct {
	db  *tenancy.DB
	log *slog.Logger
	bus Bus

	mu      sync.RWMutex
	tenants map[uuid.UUID]*casbin.SyncedEnforcer
	loading singleflight.Group
}

// Bus carries "tenant T's policy changed" between processes (Redis pub/sub in production).
type Bus interface {
	Publish(ctx context.Context, tenantID uuid.UUID) error
}

// NewEnforcer checks the model and returns an enforcer with nothing loaded.
func NewEnforcer(db *tenancy.DB, bus Bus, log *slog.Logger) (*Enforcer, error) {
	if _, err := model.NewModelFromString(modelText); err != nil {
		return nil, fmt.Errorf("rbac model: %w", err)
	}
	return &Enforcer{db: db, bus: bus, log: log, tenants: map[uuid.UUID]*casbin.SyncedEnforcer{}}, nil
}

// Allowed reports whether the user may do the action on the node of the tenant.
func (e *Enforcer) Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action Action) (bool, error) {
	if !action.Known() {
		return false, nil
	}
	ce, err := e.tenant(ctx, tenantID)
	if err != nil {
		return false, err
	}
	return ce.Enforce(UserSubject(userID), tenantID.String(), node, string(action))
}

// RolesOn lists the roles the user holds on the node itself or inherits from above it.
func (e *Enforcer) RolesOn(ctx context.Context, tenantID, userID uuid.UUID, node string) ([]string, error) {
	ce, err := e.tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	policies, err := ce.GetFilteredPolicy(0, tenantID.String())
	if err != nil {
		return nil, err
	}
	var roles []string
	for _, p := range policies {
		role := p[1]
		ok, err := ce.GetRoleManager().HasLink(node, role+"@"+UserSubject(userID), tenantID.String())
		if err != nil {
			return nil, err
		}
		if ok {
			roles = append(roles, role)
		}
	}
	return roles, nil
}

// Forget drops the tenant's loaded policy here; the next decision reloads it.
func (e *Enforcer) Forget(tenantID uuid.UUID) {
	e.mu.Lock()
	delete(e.tenants, tenantID)
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

func (e *Enforcer) tenant(ctx context.Context, tenantID uuid.UUID) (*casbin.SyncedEnforcer, error) {
	e.mu.RLock()
	ce, ok := e.tenants[tenantID]
	e.mu.RUnlock()
	if ok {
		return ce, nil
	}
	v, err, _ := e.loading.Do(tenantID.String(), func() (any, error) {
		ce, err := e.load(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		e.tenants[tenantID] = ce
		e.mu.Unlock()
		return ce, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*casbin.SyncedEnforcer), nil
}

func (e *Enforcer) load(ctx context.Context, tenantID uuid.UUID) (*casbin.SyncedEnforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, err
	}
	ce, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("new enforcer: %w", err)
	}
	ce.EnableAutoSave(false)
	ce.SetNamedRoleManager("g", defaultrolemanager.NewRoleManager(maxHierarchy))
	ctx = tenancy.WithTenant(ctx, tenantID)
	err = e.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := adapterFor(tx)
		if err != nil {
			return err
		}
		dom := []string{tenantID.String()}
		return a.LoadFilteredPolicy(ce.GetModel(), []gormadapter.Filter{
			{Ptype: []string{"p"}, V0: dom},
			{Ptype: []string{"g", "g2"}, V2: dom},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load policy of tenant %s: %w", tenantID, err)
	}
	if err := ce.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("build role links: %w", err)
	}
	return ce, nil
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

// ErrUnknownRole is returned when granting a role the tenant does not define.
var ErrUnknownRole = errors.New("rbac: unknown role")

// ErrDenied is a decision against the caller. Services turn it into 403 or, where the object is
// not visible to the caller at all, 404.
var ErrDenied = errors.New("rbac: denied")

// Authorize decides whether the principal in ctx may do the action on the node. A personal
// access token never does more than its owner, nor more than its scopes: without the `write`
// scope it may only read.
func (e *Enforcer) Authorize(ctx context.Context, action Action, node string) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return ErrDenied
	}
	if p.Kind == tenancy.CredentialPAT && !action.ReadOnly() && !p.HasScope("write") {
		return fmt.Errorf("%w: token lacks the write scope", ErrDenied)
	}
	allowed, err := e.Allowed(ctx, p.TenantID, p.UserID, node, action)
	if err != nil {
		return err
	}
	if !allowed {
		return ErrDenied
	}
	return nil
}
