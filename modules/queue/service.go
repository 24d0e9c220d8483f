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
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/modules/users"
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

// Profiles gives the privacy and quota settings in force on a node.
type Profiles interface {
	Privacy(ctx context.Context, node string) (profiles.PrivacySettings, error)
	Quota(ctx context.Context, node string) (profiles.QuotaSettings, error)
}

// Users says whether the requester may still act (exists, enabled, tenant active).
type Users interface {
	Active(ctx context.Context, id uuid.UUID) (users.User, error)
}

// Publisher sends events to the streams (events.Hub).
type Publisher interface {
	Publish(ctx context.Context, e events.Event) error
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
	auditor    rbac.Auditor
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
		profiles: d.Profiles, users: d.Users, events: d.Events, jobs: d.Jobs, auditor: d.Auditor,
		cfg: cfg.withDefaults(), log: log, now: func() time.Time { return time.Now().UTC() }}
}

// SetTaskQueue sends runs to another asynq queue (tests that share one Redis run their own
// worker on their own queue).
func (s *Service) SetTaskQueue(name string) { s.cfg.TaskQueue = name }

// SetNodeHook has the worker call fn after each node of a run, once its progress is recorded
// (tests that act between two nodes).
func (s *Service) SetNodeHook(fn func(item uuid.UUID, node string)) { s.afterNode = fn }

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// standing is how the caller stands to one item.
type standing struct {
	read, own, admin, deleteAny, auditor bool
}

func (s *Service) standingOn(ctx context.Context, it Item) (standing, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return standing{}, nil
	}
	node := rbac.WorkspaceNode(it.WorkspaceID)
	var st standing
	var err error
	st.own = it.OwnerID == p.UserID
	if st.admin, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueUpdate); err != nil {
		return st, err
	}
	if st.deleteAny, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueDelete); err != nil {
		return st, err
	}
	st.read = st.own || st.admin
	if !st.read {
		if st.read, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueRead); err != nil {
			return st, err
		}
	}
	if st.read && !st.admin && !st.own {
		if st.auditor, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.BoardRead); err != nil {
			return st, err
		}
	}
	return st, nil
}

// shows applies the privacy profile in force on the workspace: whether the caller sees an item's
// field values, results and error.
func (s *Service) shows(ctx context.Context, wsID uuid.UUID) (func(standing) bool, error) {
	p, err := s.profiles.Privacy(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return nil, err
	}
	return func(st standing) bool {
		if !p.HideQueueFieldValues {
			return true
		}
		return (st.own && p.Shows(profiles.AudienceOwner)) || (st.admin && p.Shows(profiles.AudienceAdmins)) ||
			(st.auditor && p.Shows(profiles.AudienceAuditors))
	}, nil
}

// load reads an item the caller may see: anything else is the same 404.
func (s *Service) load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (listed, standing, error) {
	it, err := s.store.get(tx, id)
	if errors.Is(err, errNotFound) {
		return it, standing{}, apierr.NotFound("queue item")
	}
	if err != nil {
		return it, standing{}, err
	}
	st, err := s.standingOn(ctx, it.Item)
	if err != nil {
		return it, st, err
	}
	if !st.read {
		return listed{}, standing{}, apierr.NotFound("queue item")
	}
	return it, st, nil
}

// Enqueue queues a run of a workflow in the workspace. Everything is checked first, as the
// caller: the workflow is readable, the field values fit its exposed fields, every input image
// is readable, the caller may add images to the board, and their pending items are under the
// quota. Any refusal queues nothing.
func (s *Service) Enqueue(ctx context.Context, wsRef string, in EnqueueInput) (View, error) {
	if err := requireWrite(ctx); err != nil {
		return View{}, err
	}
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return View{}, err
	}
	if err := s.authorize(ctx, rbac.QueueCreate, ws.Node()); err != nil {
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
	s.record(ctx, "queue:create", id, true, map[string]any{"workspace_id": ws.ID.String(), "workflow_id": spec.ID.String()})
	s.itemEvent(ctx, out.Item, "")
	s.countsEvent(ctx, p.TenantID)
	return out.view(true), nil
}

// pendingLimit is the quota profile's per-user limit on the workspace, else the ceiling.
func (s *Service) pendingLimit(ctx context.Context, wsID uuid.UUID) (int64, error) {
	q, err := s.profiles.Quota(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return 0, err
	}
	if q.MaxPendingQueueItemsPerUser != nil {
		return *q.MaxPendingQueueItemsPerUser, nil
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

// List is a page of the workspace's queue: every item, in order, with its owner's name; field
// values, results and errors only where the privacy profile shows them to the caller.
func (s *Service) List(ctx context.Context, wsRef string, after uuid.UUID, limit int) ([]View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, rbac.QueueRead, ws.Node()); err != nil {
		return nil, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	var rows []listed
	err = s.db.ReadTx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, ws.ID, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The caller's standing is the same for every item of the workspace but ownership.
	st, err := s.standingOn(ctx, Item{WorkspaceID: ws.ID})
	if err != nil {
		return nil, err
	}
	show, err := s.shows(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rows))
	for i, r := range rows {
		its := st
		its.own = r.OwnerID == p.UserID
		its.auditor = st.auditor && !its.own
		out[i] = r.view(show(its))
	}
	return out, nil
}

// Get returns an item the caller may see.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	var it listed
	var st standing
	err := s.db.ReadTx(ctx, func(tx *gorm.DB) error {
		var err error
		it, st, err = s.load(ctx, tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	show, err := s.shows(ctx, it.WorkspaceID)
	if err != nil {
		return View{}, err
	}
	return it.view(show(st)), nil
}

// Cancel cancels a pending or running item: its owner or an admin. A running item stops before
// its next node.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID) (View, error) {
	if err := requireWrite(ctx); err != nil {
		return View{}, err
	}
	var out listed
	var canceled []Item
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		it, st, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.admin {
			return s.forbid(ctx, "queue:update", id, "only the owner or an admin cancels a queue item")
		}
		if finished(it.Status) {
			return apierr.Conflict("the queue item is already " + it.Status)
		}
		if canceled, err = s.store.cancel(tx, func(q *gorm.DB) *gorm.DB { return q.Where("id = ?", id) }, s.now()); err != nil {
			return err
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.record(ctx, "queue:cancel", id, true, nil)
	s.announce(ctx, canceled)
	return out.view(true), nil
}

// CancelAll cancels the caller's active items in the workspace (scope "mine"), or everyone's
// (scope "all", admins). Each canceled item gets its event.
func (s *Service) CancelAll(ctx context.Context, wsRef, scope string) (int, error) {
	if err := requireWrite(ctx); err != nil {
		return 0, err
	}
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return 0, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	var sel func(*gorm.DB) *gorm.DB
	switch scope {
	case "mine":
		sel = func(q *gorm.DB) *gorm.DB { return q.Where("workspace_id = ? AND owner_id = ?", ws.ID, p.UserID) }
	case "all":
		if err := s.authorize(ctx, rbac.QueueUpdate, ws.Node()); err != nil {
			return 0, err
		}
		sel = func(q *gorm.DB) *gorm.DB { return q.Where("workspace_id = ?", ws.ID) }
	default:
		return 0, apierr.Invalid("scope", "must be mine or all")
	}
	var canceled []Item
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		canceled, err = s.store.cancel(tx, sel, s.now())
		return err
	})
	if err != nil {
		return 0, err
	}
	s.record(ctx, "queue:cancel_all", ws.ID, true, map[string]any{"scope": scope, "canceled": len(canceled)})
	s.announce(ctx, canceled)
	return len(canceled), nil
}

// Retry queues a failed or canceled item again: its owner or an admin. It runs as its owner.
func (s *Service) Retry(ctx context.Context, id uuid.UUID) (View, error) {
	if err := requireWrite(ctx); err != nil {
		return View{}, err
	}
	var out listed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		it, st, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.admin {
			return s.forbid(ctx, "queue:update", id, "only the owner or an admin retries a queue item")
		}
		// A retried item is pending again: it counts against its owner's quota.
		if err := s.lockUser(tx, it.TenantID, it.OwnerID); err != nil {
			return err
		}
		if err := s.underQuota(ctx, tx, it.WorkspaceID, it.OwnerID, "the owner has"); err != nil {
			return err
		}
		ok, err := s.store.retry(tx, id, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return apierr.Conflict("only a failed or canceled queue item can be retried; this one is " + it.Status)
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	if err := s.enqueueTask(ctx, out.Item); err != nil {
		s.failUnqueued(ctx, out.Item)
		return View{}, apierr.Unavailable("the job queue", err)
	}
	s.record(ctx, "queue:retry", id, true, nil)
	s.itemEvent(ctx, out.Item, "")
	s.countsEvent(ctx, out.TenantID)
	return out.view(true), nil
}

// Delete removes an item: its owner or an admin. A running item stops before its next node and
// saves nothing.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := requireWrite(ctx); err != nil {
		return err
	}
	var it listed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var st standing
		var err error
		it, st, err = s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.deleteAny {
			return s.forbid(ctx, "queue:delete", id, "only the owner or an admin deletes a queue item")
		}
		ok, err := s.store.delete(tx, id)
		if err == nil && !ok {
			err = apierr.NotFound("queue item")
		}
		return err
	})
	if err != nil {
		return err
	}
	s.record(ctx, "queue:delete", id, true, nil)
	active := !finished(it.Status)
	it.Status = StatusDeleted
	s.itemEvent(ctx, it.Item, "")
	if active {
		s.countsEvent(ctx, it.TenantID)
	}
	return nil
}

// announce publishes an event for each item and the new counts.
func (s *Service) announce(ctx context.Context, items []Item) {
	for _, it := range items {
		s.itemEvent(ctx, it, "")
	}
	if len(items) > 0 {
		s.countsEvent(ctx, items[0].TenantID)
	}
}

// itemEvent tells the item's owner and the admins of its workspace how it stands. Events are
// best effort: a failure is logged, never undoes the change.
func (s *Service) itemEvent(ctx context.Context, it Item, node string) {
	if s.events == nil {
		return
	}
	data := ItemEvent{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Status: it.Status, Progress: it.Progress, Node: node, Error: it.Error}
	if it.Status == StatusCompleted {
		_ = json.Unmarshal(it.ResultImageIDs, &data.ResultIDs)
	}
	err := s.events.Publish(ctx, events.Event{TenantID: it.TenantID, Name: "queue_item", Data: data,
		UserID: it.OwnerID, WorkspaceID: it.WorkspaceID, AdminAction: rbac.QueueUpdate})
	if err != nil {
		s.log.WarnContext(ctx, "publish queue item event", slog.String("item_id", it.ID.String()), slog.Any("error", err))
	}
}

// countsEvent tells every user of the tenant how many items are pending and running.
func (s *Service) countsEvent(ctx context.Context, tenantID uuid.UUID) {
	if s.events == nil {
		return
	}
	var c CountsEvent
	err := s.db.Tx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) error {
		var err error
		c, err = s.store.counts(tx)
		return err
	})
	if err == nil {
		err = s.events.Publish(ctx, events.Event{TenantID: tenantID, Name: "queue_counts", Data: c, TenantWide: true})
	}
	if err != nil {
		s.log.WarnContext(ctx, "publish queue counts", slog.Any("error", err))
	}
}

func (s *Service) authorize(ctx context.Context, action rbac.Action, node string) error {
	err := s.authz.Authorize(ctx, action, node)
	if errors.Is(err, rbac.ErrDenied) {
		return apierr.Forbidden("")
	}
	return err
}

func requireWrite(ctx context.Context) error {
	if p, ok := tenancy.PrincipalFrom(ctx); ok && !p.HasScope("write") {
		return apierr.Forbidden("this token may only read")
	}
	return nil
}

func (s *Service) forbid(ctx context.Context, action string, id uuid.UUID, why string) error {
	s.record(ctx, action, id, false, map[string]any{"rule": why})
	return apierr.Forbidden(why)
}

func (s *Service) record(ctx context.Context, action string, id uuid.UUID, allowed bool, reason map[string]any) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok || s.auditor == nil {
		return
	}
	s.auditor.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: action,
		Object: "queue_item:" + id.String(), Allowed: allowed, Reason: reason})
}
