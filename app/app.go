// Package app is the composition root: configuration, wiring, the HTTP server and the CLI. It is
// the only package that knows every module.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/go-redis/redis_rate/v10"

	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/modules/tenants"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// App holds the wired services of one process.
type App struct {
	Cfg      configs.Config
	Log      *slog.Logger
	DB       *tenancy.DB
	Broker   *jobs.Broker
	Enforcer *rbac.Enforcer
	Users    *users.Service
	Auth     *auth.Service
	Tenants  *tenants.Service

	stop context.CancelFunc
}

// Open connects to the database and the broker and wires every service. With the embedded
// database it also applies the migrations, so a bare machine needs nothing else.
func Open(ctx context.Context, cfg configs.Config, log *slog.Logger) (*App, error) {
	db, err := tenancy.Open(tenancy.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
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
		return nil, err
	}
	listenCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if err := bus.Listen(listenCtx, enforcer, log); err != nil {
		stop()
		return nil, fmt.Errorf("listen for policy changes: %w", err)
	}
	a := &App{Cfg: cfg, Log: log, DB: db, Broker: broker, Enforcer: enforcer, stop: stop}
	a.Users = users.NewService(db, enforcer, users.NewHasher(cfg.PasswordHashMemoryKiB))
	a.Tenants = tenants.NewService(db, a.Users, cfg.SignupEnabled)
	a.Auth = auth.NewService(db, a.Users, a.Tenants, redis_rate.NewLimiter(broker.Redis()), auth.Config{
		Secret: secret, AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		PerAccount: cfg.LoginLimitPerAccount, PerAddress: cfg.LoginLimitPerAddress, LimitWindow: cfg.LoginLimitWindow,
	}, log)
	return a, nil
}

// Close releases connections.
func (a *App) Close() error {
	a.stop()
	return errors.Join(a.Broker.Close(), a.DB.Close())
}

// RegisterTasks adds every module's task handlers to the worker.
func (a *App) RegisterTasks(w *jobs.Worker) {
	w.Handle(auth.TaskPurgeRefreshTokens, a.Auth.PurgeHandler(a.Tenants))
}

// Periodic lists every module's periodic tasks.
func (a *App) Periodic() []jobs.Periodic {
	return []jobs.Periodic{
		{Cron: "17 * * * *", Task: auth.NewPurgeTask}, // hourly, clock-aligned so every scheduler agrees on the tick
	}
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
