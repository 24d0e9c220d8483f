// Package app is the composition root: configuration, wiring, the HTTP server and the CLI. It is
// the only package that knows every module.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"

	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/modules/authz"
	"github.com/atelier-hq/atelier/modules/boards"
	"github.com/atelier-hq/atelier/modules/downloads"
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/groups"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/modules/queue"
	"github.com/atelier-hq/atelier/modules/roles"
	"github.com/atelier-hq/atelier/modules/tenants"
	"github.com/atelier-hq/atelier/modules/tokens"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// App holds the wired services of one process.
type App struct {
	Cfg        configs.Config
	Log        *slog.Logger
	DB         *tenancy.DB
	Broker     *jobs.Broker
	Jobs       *jobs.Client
	Enforcer   *rbac.Enforcer
	Users      *users.Service
	Auth       *auth.Service
	Tenants    *tenants.Service
	Workspaces *workspaces.Service
	Profiles   *profiles.Service
	Roles      *roles.Service
	Groups     *groups.Service
	Audit      *audit.Service
	Authz      *authz.Service
	Tokens     *tokens.Service
	TokenLog   *tokens.Logger
	Boards     *boards.Service
	Images     *images.Service
	Workflows  *workflows.Service
	Events     *events.Hub
	Downloads  *downloads.Service
	Queue      *queue.Service

	stop context.CancelFunc
}

// Open connects to the database and the broker and wires every service. With the embedded
// database it also applies the migrations, so a bare machine needs nothing else.
func Open(ctx context.Context, cfg configs.Config, log *slog.Logger) (*App, error) {
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir,
		MaxOpenConns: cfg.DBMaxConns, Logger: log})
	if err != nil {
		return nil, err
	}
	if cfg.Embedded() {
		if err := migrateUp(ctx, db, log); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	broker, err := jobs.OpenBroker(ctx, cfg.RedisURL, log)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open broker: %w", err)
	}
	secret, err := jwtSecret(cfg, log)
	if err != nil {
		_ = db.Close()
		_ = broker.Close()
		return nil, err
	}
	bus := rbac.NewRedisBus(broker.Redis())
	enforcer, err := rbac.NewEnforcer(db, bus, log)
	if err != nil {
		_ = db.Close()
		_ = broker.Close()
		return nil, err
	}
	enforcer.SetBudget(int64(cfg.PolicyCacheMB) << 20)
	listenCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := bus.Listen(listenCtx, enforcer, log); err != nil {
		stop()
		_ = db.Close()
		_ = broker.Close()
		return nil, fmt.Errorf("listen for policy changes: %w", err)
	}
	a := &App{Cfg: cfg, Log: log, DB: db, Broker: broker, Jobs: jobs.NewClient(broker, log), Enforcer: enforcer, stop: stop}
	a.Audit = audit.NewService(db, enforcer, log, audit.Config{Retention: cfg.AuditRetention})
	enforcer.SetAuditor(a.Audit)
	hasher, err := users.NewHasher(cfg.PasswordHashMemoryKiB)
	if err != nil {
		stop()
		_ = db.Close()
		_ = broker.Close()
		return nil, err
	}
	a.Users = users.NewService(db, enforcer, hasher, a.Audit)
	a.Authz = authz.NewService(enforcer, explainUsers{a.Users})
	a.Roles = roles.NewService(db, enforcer, a.Audit)
	a.Groups = groups.NewService(db, enforcer, a.Audit, a.Users)
	a.Workspaces = workspaces.NewService(db, enforcer, a.Audit, log)
	a.Tenants = tenants.NewService(db, tenantUsers{a.Users}, a.Workspaces, cfg.SignupEnabled)
	a.Tenants.SetSignUpLimit(redis_rate.NewLimiter(broker.Redis()), cfg.SignupLimitPerAddress, cfg.SignupLimitWindow)
	a.Authz.RegisterObject(authz.KindWorkspace, authz.WorkspaceObjects(a.Workspaces))
	a.Profiles = profiles.NewService(db, enforcer, a.Workspaces, a.Audit)
	a.Auth = auth.NewService(db, a.Users, a.Tenants, redis_rate.NewLimiter(broker.Redis()), auth.Config{
		Secret: secret, AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		PerAccount: cfg.LoginLimitPerAccount, PerAddress: cfg.LoginLimitPerAddress, LimitWindow: cfg.LoginLimitWindow,
		LiveCacheTTL: cfg.LivenessCacheTTL,
	}, log)
	a.Users.SetSessions(a.Auth)
	a.Tokens = tokens.NewService(db, enforcer, a.Users, a.Audit, tokens.Config{Retention: cfg.TokenLogRetention}, log)
	a.Users.SetSessions(a.Tokens)
	a.Tokens.SetLiveCache(a.Auth.LiveCache())
	a.TokenLog = tokens.NewLogger(db, log, tokens.LoggerConfig{})
	a.Events = events.NewHub(broker.Redis(), enforcer, liveness{a.Auth, a.Tokens}, events.Config{
		Heartbeat: cfg.EventsHeartbeat, LivenessInterval: cfg.EventsLivenessInterval,
		BufferSize: cfg.EventsBufferSize, SubscriberBuffer: cfg.EventsSubscriberBuffer,
	}, log)
	a.Events.Watch(a.Auth.LiveCache())
	if err := a.Events.Start(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Users.SetStreamEnder(a.Events)
	a.Auth.SetStreamEnder(a.Events)
	a.Tenants.SetStreamEnder(a.Events)
	a.Tokens.SetStreamEnder(a.Events)
	a.Tokens.AllowForReadTokens("POST", APIPrefix+events.TicketPath)
	a.Tokens.SetNotifier(tokenNotices{a.Events})
	storage, err := images.NewLocalStorage(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	// Boards delete and move their images through images' board hooks, which need no boards:
	// both services are whole when built, without setters.
	removals := images.NewRemovals(a.Jobs, log)
	a.Boards = boards.NewService(boards.Deps{DB: db, Authz: enforcer, Workspaces: a.Workspaces,
		Images: images.NewBoardImages(removals), Auditor: a.Audit})
	a.Images = images.NewService(images.Deps{DB: db, Authz: enforcer, Boards: imageBoards{a.Boards},
		Workspaces: a.Workspaces, Storage: storage, Removals: removals, Privacy: imagePrivacy{a.Profiles},
		Limits:  images.Limits{MaxBytes: cfg.UploadMaxBytes, MaxPixels: cfg.UploadMaxPixels, MaxSide: cfg.UploadMaxSide},
		Auditor: a.Audit, Log: log})
	a.Images.SetDecodeBounds(images.DecodeBounds{MaxPixels: cmp.Or(cfg.DecodeMaxPixelsInFlight, cfg.UploadMaxPixels),
		MaxConcurrent: cfg.DecodeMaxConcurrent, Wait: cfg.DecodeWait})
	a.Authz.RegisterExplainer("board", a.Boards.Explain)
	a.Authz.RegisterExplainer("image", a.Images.Explain)
	// Images first: a cascading workspace delete removes them before their boards.
	a.Workspaces.RegisterContents("images", a.Images.Contents())
	a.Workspaces.RegisterContents("boards", a.Boards.Contents())
	a.Workflows = workflows.NewService(db, enforcer, a.Workspaces, a.Audit)
	a.Workspaces.RegisterContents("workflows", a.Workflows.Contents())
	a.Tenants.AddSeeder(a.Workflows)
	archives, err := downloads.NewLocalStorage(filepath.Join(cfg.DataDir, "downloads"))
	if err != nil {
		_ = a.Close()
		return nil, err
	}
	a.Downloads = downloads.NewService(downloads.Deps{DB: db, Images: a.Images, Boards: a.Boards, Users: a.Users,
		Workspaces: a.Workspaces, Quotas: downloadQuotas{a.Profiles}, Queue: a.Jobs, Storage: archives,
		Notifier: downloadEvents{hub: a.Events, log: log}, Log: log},
		downloads.Config{TTL: cfg.DownloadTTL, MaxImages: cfg.DownloadMaxImages, MaxBytes: cfg.DownloadMaxBytes,
			LinkKey: downloads.DeriveLinkKey(secret)})
	a.Queue = queue.NewService(db, queue.Deps{Authz: enforcer, Workspaces: a.Workspaces, Workflows: a.Workflows,
		Images: a.Images, Profiles: queueProfiles{a.Profiles}, Users: a.Users, Events: queueEvents{a.Events}, Jobs: a.Jobs, Auditor: a.Audit},
		queue.Config{Lease: cfg.QueueLease, MaxPendingPerUser: cfg.QueueMaxPendingPerUser}, log)
	a.Workspaces.RegisterContents("queue items", a.Queue.Contents())
	return a, nil
}

// Close releases connections.
func (a *App) Close() error {
	if a.Events != nil {
		a.Events.Close()
	}
	a.stop()
	a.Audit.Close()
	a.TokenLog.Close()
	return errors.Join(a.Jobs.Close(), a.Broker.Close(), a.DB.Close())
}

// RegisterTasks adds every module's task handlers to the worker.
func (a *App) RegisterTasks(w *jobs.Worker) {
	// Each task is one unit of work, like a request: nested transactions and policy loads join
	// the task's transaction instead of taking a second connection.
	w.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			ctx, unit := a.DB.BeginUnit(ctx, false)
			defer unit.End()
			return next.ProcessTask(ctx, t)
		})
	})
	w.Handle(auth.TaskPurgeRefreshTokens, a.Auth.PurgeHandler(a.Tenants))
	w.Handle(workspaces.TaskPurgeExpiredGrants, a.Workspaces.PurgeExpiredGrantsHandler(a.Tenants))
	w.Handle(audit.TaskPrune, a.Audit.PruneHandler(a.Tenants))
	w.Handle(tokens.TaskPruneAccessLog, a.Tokens.PruneHandler(a.Tenants))
	w.Handle(tokens.TaskExpiryNotice, a.Tokens.ExpiryNoticeHandler(a.Tenants))
	w.Handle(images.TaskRemoveFiles, a.Images.RemoveFilesHandler())
	w.Handle(images.TaskSweepRemovals, a.Images.SweepRemovalsHandler(a.Tenants))
	w.Handle(downloads.TaskBuild, a.Downloads.BuildHandler())
	w.Handle(downloads.TaskCleanup, a.Downloads.CleanupHandler(a.Tenants))
	w.Handle(queue.TaskRun, a.Queue.RunHandler())
	w.Handle(queue.TaskSweep, a.Queue.SweepHandler(a.Tenants))
}

// Periodic lists every module's periodic tasks.
func (a *App) Periodic() []jobs.Periodic {
	return []jobs.Periodic{
		{Cron: "*/5 * * * *", Task: workspaces.NewPurgeExpiredGrantsTask}, // expired grants already stop counting; this tidies and audits
		{Cron: "17 * * * *", Task: auth.NewPurgeTask},                     // hourly, clock-aligned so every scheduler agrees on the tick
		{Cron: "41 3 * * *", Task: audit.NewPruneTask},                    // daily, clock-aligned likewise
		{Cron: "23 * * * *", Task: tokens.NewPruneTask},                   // hourly, in bounded batches
		{Cron: "53 * * * *", Task: tokens.NewExpiryNoticeTask},            // hourly; each token is noticed once
		{Cron: "*/10 * * * *", Task: images.NewSweepRemovalsTask},         // backstop for lost removal nudges
		{Cron: "*/10 * * * *", Task: downloads.NewCleanupTask},            // expired zips, dead writers' temp files, in batches
		{Cron: "* * * * *", Task: queue.NewSweepTask},                     // every minute: running items past their lease fail
	}
}

// downloadEvents sends a download's changes to its owner's event streams, and to no one else.
type downloadEvents struct {
	hub *events.Hub
	log *slog.Logger
}

func (n downloadEvents) DownloadChanged(ctx context.Context, d downloads.Download) {
	err := n.hub.Publish(ctx, events.Event{TenantID: d.TenantID, Name: "download", UserID: d.OwnerID,
		Data: map[string]any{"download_id": d.ID, "status": d.Status, "progress": d.Progress,
			"image_count": d.ImageCount, "bytes": d.Bytes, "error": d.Error}})
	if err != nil {
		n.log.WarnContext(ctx, "download event not published", slog.String("download_id", d.ID.String()), slog.Any("error", err))
	}
}

// liveness tells the event streams whether a principal's credentials still work: sessions ask
// auth, personal access tokens ask tokens.
type liveness struct {
	auth   *auth.Service
	tokens *tokens.Service
}

func (l liveness) Live(ctx context.Context, p tenancy.Principal) error {
	if p.Kind == tenancy.CredentialPAT {
		return l.tokens.Live(ctx, p)
	}
	return l.auth.Live(ctx, p)
}

// tokenNotices turns a personal access token's expiry notice into an event for its owner.
type tokenNotices struct{ hub *events.Hub }

func (n tokenNotices) TokenExpiring(ctx context.Context, e tokens.ExpiryNotice) error {
	return n.hub.Publish(ctx, events.Event{TenantID: e.TenantID, Name: "token_expiring", UserID: e.UserID,
		Data: map[string]any{"token_id": e.TokenID, "prefix": e.Prefix, "expires_at": e.ExpiresAt}})
}

func migrateUp(ctx context.Context, db *tenancy.DB, log *slog.Logger) error {
	sqlDB, err := db.Raw().DB()
	if err != nil {
		return err
	}
	applied, err := migrations.Up(ctx, sqlDB, string(db.Dialect()))
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", slog.Any("versions", applied), slog.String("dialect", string(db.Dialect())))
	}
	return nil
}
