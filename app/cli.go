package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/migrations"
	"github.com/atelier-hq/atelier/modules/tenants"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/tenancy"
)

// Execute runs the command line.
func Execute() int {
	root := &cobra.Command{
		Use:           "app",
		Short:         "Atelier: multi-tenant boards, images, workflows and jobs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), workerCmd(), migrateCmd(), tenantCmd())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

func setup() (configs.Config, *slog.Logger, error) {
	cfg, err := configs.Load()
	if err != nil {
		return cfg, nil, err
	}
	return cfg, NewLogger(cfg), nil
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg configs.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the API (and, with the embedded broker or EMBEDDED_WORKER, the worker too)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := setup()
			if err != nil {
				return err
			}
			return Serve(cmd.Context(), cfg, log, nil)
		},
	}
}

// Serve runs the API until ctx ends. ready, if not nil, receives the bound address.
func Serve(ctx context.Context, cfg configs.Config, log *slog.Logger, ready chan<- string) error {
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.Broker.Embedded() || cfg.EmbeddedWorker {
		stopWorker, err := a.startWorker()
		if err != nil {
			return err
		}
		defer stopWorker()
	}
	srv := NewServer(a)
	ln, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("database", string(a.DB.Dialect())),
		slog.Bool("embedded_broker", a.Broker.Embedded()))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		mln, err := listen(cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		ms := &http.Server{Handler: srv.Metrics, ReadHeaderTimeout: 5 * time.Second}
		log.Info("serving metrics", slog.String("addr", mln.Addr().String()))
		go func() {
			if err := ms.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			_ = ms.Shutdown(sctx)
		}()
	}
	go func() { errc <- srv.Fiber.Listener(ln) }()
	select {
	case err := <-errc:
		_ = srv.Fiber.ShutdownWithTimeout(cfg.ShutdownTimeout)
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Open event streams never go idle by themselves: end them first, or they hold the shutdown.
	a.Events.Close()
	return srv.Fiber.ShutdownWithTimeout(cfg.ShutdownTimeout)
}

func (a *App) startWorker() (func(), error) {
	w := jobs.NewWorker(a.Broker, jobs.WorkerConfig{PollInterval: a.Cfg.WorkerPollInterval}, a.Log)
	a.RegisterTasks(w)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	sched := jobs.NewScheduler(a.Broker, a.Log)
	for _, p := range a.Periodic() {
		if err := sched.Register(p); err != nil {
			w.Shutdown()
			return nil, err
		}
	}
	if err := sched.Start(); err != nil {
		w.Shutdown()
		return nil, fmt.Errorf("start scheduler: %w", err)
	}
	return func() {
		sched.Shutdown()
		w.Shutdown()
	}, nil
}

func workerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run background jobs and the periodic scheduler (needs REDIS_URL)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := setup()
			if err != nil {
				return err
			}
			if cfg.RedisURL == "" {
				return errors.New("worker needs REDIS_URL: without it, `serve` runs the worker itself")
			}
			a, err := Open(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			stop, err := a.startWorker()
			if err != nil {
				return err
			}
			defer stop()
			log.Info("worker running")
			<-cmd.Context().Done()
			return nil
		},
	}
}

func migrateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "migrate", Short: "Apply or inspect the database schema"}
	open := func() (*tenancy.DB, *slog.Logger, error) {
		cfg, log, err := setup()
		if err != nil {
			return nil, nil, err
		}
		db, err := tenancy.Open(tenancy.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
		return db, log, err
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		RunE: func(c *cobra.Command, _ []string) error {
			db, log, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			return migrateUp(c.Context(), db, log)
		},
	}, &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		RunE: func(c *cobra.Command, _ []string) error {
			db, _, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			sqlDB, err := db.Raw().DB()
			if err != nil {
				return err
			}
			list, err := migrations.List(c.Context(), sqlDB, string(db.Dialect()))
			if err != nil {
				return err
			}
			for _, m := range list {
				state := "pending"
				if m.Applied {
					state = "applied"
				}
				fmt.Fprintf(c.OutOrStdout(), "%04d  %-8s %s\n", m.Version, state, m.Source)
			}
			return nil
		},
	})
	return cmd
}

func tenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Operator commands for tenants"}
	var in tenants.SignUpInput
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a tenant with its first admin (works when sign-up is disabled)",
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, log, err := setup()
			if err != nil {
				return err
			}
			if err := web.Validate(in); err != nil {
				return err
			}
			a, err := Open(c.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			res, err := a.Tenants.Create(c.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "tenant %s (%s) created; admin %s (%s)\n",
				res.Tenant.Slug, res.Tenant.ID, res.User.Email, res.User.ID)
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&in.Slug, "slug", "", "tenant slug (lowercase letters, digits, dashes)")
	f.StringVar(&in.Name, "name", "", "tenant name")
	f.StringVar(&in.Admin.Email, "admin-email", "", "first admin's e-mail")
	f.StringVar(&in.Admin.Password, "admin-password", "", "first admin's password (min 10 characters)")
	f.StringVar(&in.Admin.DisplayName, "admin-name", "", "first admin's display name")
	for _, name := range []string{"slug", "name", "admin-email", "admin-password"} {
		_ = create.MarkFlagRequired(name)
	}
	cmd.AddCommand(create)
	return cmd
}
