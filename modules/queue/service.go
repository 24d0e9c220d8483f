package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/datatypes"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
}

// Workspaces resolves the workspace a request names.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// Workflows gives a workflow to run, read-checked as the caller.
type Workflows interface {
	ForRun(ctx context.Context, id uuid.UUID) (workflows.RunSpec, error)
}

// Images is what the queue needs of images, each call acting as the caller in ctx.
type Images interface {
	CheckReadable(ctx context.Context, ids []uuid.UUID) error
	Decode(ctx context.Context, id uuid.UUID) (image.Image, error)
	MayAddTo(ctx context.Context, wsID, boardID uuid.UUID) error
	SaveGenerated(ctx context.Context, wsID, boardID uuid.UUID, gens []images.Generated,
		commit func(tx *gorm.DB, ids []uuid.UUID) error) ([]uuid.UUID, error)
}

// FieldPolicy is who sees queue items' field values, results and errors on a node, as the
// privacy profile in force there says.
type FieldPolicy struct {
	Hidden bool // hidden from everyone but the audiences below
	// The audiences that still see hidden values.
	Owner, Admins, Auditors bool
}

// Profiles gives what the privacy and quota profiles in force on a node say of the queue: who
// sees field values, and a user's limit of pending items (nil: the server's own).
type Profiles interface {
	FieldPolicy(ctx context.Context, node string) (FieldPolicy, error)
	PendingLimit(ctx context.Context, node string) (*int64, error)
}

// Users says whether the requester may still act (exists, enabled, tenant active).
type Users interface {
	MayAct(ctx context.Context, id uuid.UUID) (bool, error)
}

// Publisher sends events to the streams (the events hub, adapted in app).
type Publisher interface {
	Publish(ctx context.Context, n Notice) error
}

// Notice is an event for the streams and who may receive it: the user (the item's owner) and
// the holders of AdminAction on the workspace, or, TenantWide, every stream of the tenant.
type Notice struct {
	TenantID    uuid.UUID
	Name        string
	Data        any
	UserID      uuid.UUID
	WorkspaceID uuid.UUID
	AdminAction rbac.Action
	TenantWide  bool
}

// Enqueuer queues asynq tasks (jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Config tunes the queue. The zero value is the production default.
type Config struct {
	// MaxPendingPerUser caps a user's pending items where no quota profile sets a limit.
	MaxPendingPerUser int64
	// Lease is how long a running item may go without reporting progress before it is failed
	// (its worker stopped); it is also the task's timeout. Default 10 minutes.
	Lease time.Duration
	// MaxRetry is how often asynq retries a run that failed for a transient reason. Default 3.
	MaxRetry int
	// Limits bound what a graph may compute.
	Limits graph.Limits
	// TaskQueue is the asynq queue runs go to; default jobs.QueueDefault.
	TaskQueue string
}

func (c Config) withDefaults() Config {
	if c.MaxPendingPerUser <= 0 {
		c.MaxPendingPerUser = 100
	}
	if c.Lease <= 0 {
		c.Lease = 10 * time.Minute
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = 3
	}
	if c.TaskQueue == "" {
		c.TaskQueue = jobs.QueueDefault
	}
	if c.Limits == (graph.Limits{}) {
		c.Limits = graph.Limits{MaxOutputPixels: 64_000_000, MaxIntermediatePixels: 128_000_000}
	}
	return c
}

// Service holds the rules of the queue.
type Service struct {
	db         *tenancy.DB
	authz      Authorizer
	workspaces Workspaces
	workflows  Workflows
	images     Images
	profiles   Profiles
	users      Users
	events     Publisher
	jobs       Enqueuer
	guard      decision.Gate
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	afterNode  func(item uuid.UUID, node string)
	store      store
}

// Deps are the services the queue uses.
type Deps struct {
	Authz      Authorizer
	Workspaces Workspaces
	Workflows  Workflows
	Images     Images
	Profiles   Profiles
	Users      Users
	Events     Publisher
	Jobs       Enqueuer
	Auditor    rbac.Auditor // may be nil
}

// NewService wires the service.
func NewService(db *tenancy.DB, d Deps, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, authz: d.Authz, workspaces: d.Workspaces, workflows: d.Workflows, images: d.Images,
		profiles: d.Profiles, users: d.Users, events: d.Events, jobs: d.Jobs,
		guard: decision.NewGate(d.Authz, d.Auditor, "queue_item"),
		cfg:   cfg.withDefaults(), log: log, now: func() time.Time { return time.Now().UTC() }}
}

// SetTaskQueue sends runs to another asynq queue (tests that share one Redis run their own
// worker on their own queue).
func (s *Service) SetTaskQueue(name string) { s.cfg.TaskQueue = name }

// SetNodeHook has the worker call fn after each node of a run, once its progress is recorded
// (tests that act between two nodes).
func (s *Service) SetNodeHook(fn func(item uuid.UUID, node string)) { s.afterNode = fn }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Enqueue queues a run of a workflow in the workspace. Everything is checked first, as the
// caller: the workflow is readable, the field values fit its exposed fields, every input image
// is readable, the caller may add images to the board, and their pending items are under the
// quota. Any refusal queues nothing.
func (s *Service) Enqueue(ctx context.Context, wsRef string, in EnqueueInput) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return View{}, err
	}
	if err := s.guard.Authorize(ctx, rbac.QueueCreate, ws.Node()); err != nil {
		return View{}, err
	}
	if in.WorkflowID == uuid.Nil {
		return View{}, apierr.Invalid("workflow_id", "required")
	}
	if in.BoardID == uuid.Nil {
		return View{}, apierr.Invalid("board_id", "required: the board the results are saved to")
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	spec, err := s.workflows.ForRun(ctx, in.WorkflowID)
	if err != nil {
		return View{}, err
	}
	values := in.FieldValues
	if values == nil {
		values = map[string]json.RawMessage{}
	}
	if err := spec.Graph.ValidateValues(values); err != nil {
		return View{}, graphInvalid(err)
	}
	inputs, err := spec.Graph.ImageIDs(values)
	if err != nil {
		return View{}, graphInvalid(err)
	}
	if err := s.images.CheckReadable(ctx, inputs); err != nil {
		return View{}, err
	}
	if err := s.images.MayAddTo(ctx, ws.ID, in.BoardID); err != nil {
		return View{}, err
	}
	limit, err := s.pendingLimit(ctx, ws.ID)
	if err != nil {
		return View{}, err
	}
	graphJSON, err := json.Marshal(spec.Graph)
	if err != nil {
		return View{}, fmt.Errorf("snapshot graph: %w", err)
	}
	valuesJSON, err := json.Marshal(values)
	if err != nil {
		return View{}, fmt.Errorf("encode field values: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	now := s.now()
	it := Item{ID: id, WorkspaceID: ws.ID, OwnerID: p.UserID, WorkflowID: spec.ID, WorkflowName: spec.Name,
		Graph: string(graphJSON), FieldValues: datatypes.JSON(valuesJSON), BoardID: in.BoardID, Status: StatusPending,
		ResultImageIDs: datatypes.JSON("[]"), CreatedAt: now, UpdatedAt: now}
	var out listed
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		// Concurrent enqueues of one user are serialised here, so that both cannot pass the quota.
		if err := s.lockUser(tx, p.TenantID, p.UserID); err != nil {
			return err
		}
		if err := s.checkQuota(tx, p.UserID, limit, "you already have"); err != nil {
			return err
		}
		if err := s.store.insert(tx, &it); err != nil {
			return fmt.Errorf("insert queue item: %w", err)
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	if err := s.enqueueTask(ctx, out.Item); err != nil {
		// Nothing will run it: the item must not stay pending.
		s.failUnqueued(ctx, out.Item)
		return View{}, apierr.Unavailable("the job queue", err)
	}
	s.guard.Allow(ctx, "queue:create", id, map[string]any{"workspace_id": ws.ID.String(), "workflow_id": spec.ID.String()})
	s.itemEvent(ctx, out.Item, "")
	s.countsEvent(ctx, p.TenantID)
	return out.view(true), nil
}

// pendingLimit is the quota profile's per-user limit on the workspace, else the ceiling.
func (s *Service) pendingLimit(ctx context.Context, wsID uuid.UUID) (int64, error) {
	limit, err := s.profiles.PendingLimit(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return 0, err
	}
	if limit != nil {
		return *limit, nil
	}
	return s.cfg.MaxPendingPerUser, nil
}

// underQuota checks the owner's pending items against the limit in force on the workspace.
func (s *Service) underQuota(ctx context.Context, tx *gorm.DB, wsID, owner uuid.UUID, who string) error {
	limit, err := s.pendingLimit(ctx, wsID)
	if err != nil {
		return err
	}
	return s.checkQuota(tx, owner, limit, who)
}

// checkQuota refuses with 429 when the owner already has limit pending items.
func (s *Service) checkQuota(tx *gorm.DB, owner uuid.UUID, limit int64, who string) error {
	n, err := s.store.pendingOf(tx, owner)
	if err != nil {
		return err
	}
	if n < limit {
		return nil
	}
	return &apierr.Error{Code: apierr.CodeRateLimited,
		Message: fmt.Sprintf("%s %d pending queue items, the limit is %d: wait for some to run or cancel them", who, n, limit),
		Details: map[string]int64{"pending": n, "limit": limit}}
}

// lockUser takes a transaction-scoped lock on the user's quota (PostgreSQL; SQLite has a single
// writer already).
func (s *Service) lockUser(tx *gorm.DB, tenantID, userID uuid.UUID) error {
	if s.db.Dialect() != tenancy.Postgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("queue:"))
	h.Write(tenantID[:])
	h.Write(userID[:])
	return tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())).Error
}

func (s *Service) failUnqueued(ctx context.Context, it Item) {
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Item{}).Where("id = ? AND status = ?", it.ID, StatusPending).
			Updates(map[string]any{"status": StatusFailed, "error": "could not be queued", "finished_at": s.now()}).Error
	})
	if err != nil {
		s.log.ErrorContext(ctx, "mark unqueued item failed", slog.String("item_id", it.ID.String()), slog.Any("error", err))
	}
}

// graphInvalid turns a graph error into a 400 naming the field.
func graphInvalid(err error) error {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return apierr.Invalid(ge.Field, ge.Reason)
	}
	return err
}
