package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

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
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/modules/workflows"
	"github.com/atelier-hq/atelier/modules/workspaces"
)

// APIPrefix is where the API lives.
const APIPrefix = "/api/v1"

// Server is the HTTP side of a process.
type Server struct {
	Fiber   *fiber.App
	Routers []*web.Router
	// Metrics answers Prometheus scrapes (the API's request metrics, Go and process collectors).
	// It is served on METRICS_ADDR by `serve`, never on the API port.
	Metrics http.Handler
}

// NewServer builds the Fiber app with every module's routes.
func NewServer(a *App) *Server {
	f := fiber.New(fiber.Config{
		AppName: "atelier",
		// Bodies are streamed: each route refuses one over its own limit (web.BodyLimits) from
		// its Content-Length before reading it; the server's limit is only the largest upload.
		BodyLimit:                    max(a.Cfg.BodyLimitBytes, int(a.Cfg.UploadMaxBytes)+1<<20),
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ErrorHandler:                 web.ErrorHandler(a.Log),
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		DisableStartupMessage:        true,
		// Responses are encoded by goccy/go-json (encoding/json-compatible output, a fraction of
		// its time and allocations on every answer). Request bodies are not decoded through
		// Fiber: web.Decode keeps encoding/json's strict decoder (unknown fields refused).
		JSONEncoder: gojson.Marshal,
	})
	web.Edge(f, a.Log)
	f.Use(web.DrainBody())
	metrics := newHTTPMetrics()
	f.Use(requestid.New(requestid.Config{Header: web.RequestIDHeader, Generator: newRequestID}))
	f.Use(web.ClientIPMiddleware(a.Cfg.TrustedProxies))
	f.Use(accessLog(a.Log, metrics, a.TokenLog))
	// Inside the access log and metrics, so a panicking request is logged, counted and answered
	// 500 with its stack in the log (never in the body).
	f.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: logPanic(a.Log)}))
	f.Use(web.Deadline(a.Cfg.RequestTimeout, a.Cfg.UploadTimeout))

	limits := web.BodyLimits{JSON: a.Cfg.BodyLimitBytes, Upload: a.Cfg.UploadMaxBytes + 1<<20}
	root := web.NewRouter(f.Group(""), "", nil).LimitBodies(limits)
	api := web.NewRouter(f.Group(APIPrefix), APIPrefix, a.Auth.Authenticate(a.Tokens)).LimitBodies(limits)
	s := &Server{Fiber: f, Routers: []*web.Router{root, api}, Metrics: metrics.handler()}

	mountOps(root, a)
	tenants.Mount(api, a.Tenants)
	auth.Mount(api, a.Auth)
	users.Mount(api, a.Users)
	workspaces.Mount(api, a.Workspaces)
	profiles.Mount(api, a.Profiles)
	roles.Mount(api, a.Roles)
	groups.Mount(api, a.Groups)
	audit.Mount(api, a.Audit)
	authz.Mount(api, a.Authz)
	tokens.Mount(api, a.Tokens)
	boards.Mount(api, a.Boards)
	images.Mount(api, a.Images)
	workflows.Mount(api, a.Workflows)
	queue.Mount(api, a.Queue)
	events.Mount(api, a.Events)
	downloads.Mount(api, a.Downloads)
	mountDocs(api, s)
	return s
}

// logPanic logs a recovered panic with its stack and the request id.
func logPanic(log *slog.Logger) func(c *fiber.Ctx, e any) {
	return func(c *fiber.Ctx, e any) {
		log.ErrorContext(c.UserContext(), "request panicked", slog.String("request_id", web.RequestID(c)),
			slog.String("method", c.Method()), slog.String("path", c.Path()), slog.Any("panic", e),
			slog.String("stack", string(debug.Stack())))
	}
}

func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return id.String()
}

// accessLog logs every request with its request id, tenant and user, and records its metrics.
// Requests made with a personal access token also go to that token's access log (tokenLog).
func accessLog(log *slog.Logger, m *httpMetrics, tokenLog *tokens.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		c.SetUserContext(web.WithRequestID(c.UserContext(), web.RequestID(c)))
		err := c.Next()
		if err != nil {
			// Let the error handler write the answer now so the status below is the real one.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		route := c.Route().Path
		elapsed := time.Since(start)
		m.observe(c.Method(), route, status, elapsed)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if log.Enabled(c.UserContext(), level) {
			attrs := []slog.Attr{
				slog.String("request_id", web.RequestID(c)),
				slog.String("method", c.Method()),
				slog.String("path", c.Path()),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Duration("duration", elapsed),
				slog.String("ip", web.ClientIP(c)),
			}
			if t, ok := c.Locals(web.LocalTenant).(uuid.UUID); ok {
				attrs = append(attrs, slog.String("tenant_id", t.String()))
			}
			if u, ok := c.Locals(web.LocalUser).(uuid.UUID); ok {
				attrs = append(attrs, slog.String("user_id", u.String()))
			}
			log.LogAttrs(c.UserContext(), level, "request", attrs...)
		}
		// The status is final here (the error handler has answered), so 4xx and 5xx are logged too.
		tokenLog.Record(c.UserContext(), err, tokens.Request{At: start, RequestID: web.RequestID(c),
			Method: c.Method(), Path: c.Path(), Status: status, ClientIP: web.ClientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)})
		return nil
	}
}

type httpMetrics struct {
	registry *prometheus.Registry
	duration *prometheus.HistogramVec
	// series holds each (method, route, status)'s observer: looking one up by its labels costs
	// allocations on every request, this map none once the series exists.
	series sync.Map // seriesKey -> prometheus.Observer
}

type seriesKey struct {
	method, route string
	status        int
}

func newHTTPMetrics() *httpMetrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	d := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "HTTP request latency by method, route pattern and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "status"})
	reg.MustRegister(d)
	return &httpMetrics{registry: reg, duration: d}
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	if o, ok := m.series.Load(seriesKey{method, route, status}); ok {
		o.(prometheus.Observer).Observe(d.Seconds())
		return
	}
	// Fiber's method and route strings may alias buffers reused by the next request; the key and
	// the labels outlive the request, so they get copies.
	k := seriesKey{strings.Clone(method), strings.Clone(route), status}
	o, _ := m.series.LoadOrStore(k, m.duration.WithLabelValues(k.method, k.route, strconv.Itoa(status)))
	o.(prometheus.Observer).Observe(d.Seconds())
}

// handler serves the registry to Prometheus.
func (m *httpMetrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return mux
}

// mountOps registers the operational endpoints (metrics are on their own listener: Metrics).
func mountOps(r *web.Router, a *App) {
	r.Handle(web.Route{Method: "GET", Path: "/healthz", Access: web.Public(), Tag: "ops",
		Summary: "The process is up", Response: map[string]string{}, Handler: func(c *fiber.Ctx) error {
			return c.JSON(fiber.Map{"status": "ok"})
		}})
	r.Handle(web.Route{Method: "GET", Path: "/readyz", Access: web.Public(), Tag: "ops",
		Summary: "The database and Redis are reachable", Response: map[string]string{}, Errors: []int{503},
		Handler: func(c *fiber.Ctx) error {
			ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
			defer cancel()
			checks := fiber.Map{"database": "ok", "redis": "ok"}
			ok := true
			if err := a.DB.Ping(ctx); err != nil {
				checks["database"], ok = "unreachable", false
			}
			if err := a.Broker.Ping(ctx); err != nil {
				checks["redis"], ok = "unreachable", false
			}
			if !ok {
				return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "checks": checks})
			}
			return c.JSON(fiber.Map{"status": "ok", "checks": checks})
		}})
}

// mountDocs serves the OpenAPI document and a readable page of it, both built from the routes.
func mountDocs(r *web.Router, s *Server) {
	var (
		once sync.Once
		doc  []byte
		page []byte
		err  error
	)
	build := func() {
		spec, e := web.OpenAPI("Atelier API", "1", s.Routers...)
		if e != nil {
			err = e
			return
		}
		doc, err = json.MarshalIndent(spec, "", "  ")
		if err == nil {
			page, err = renderDocs(s.Routers)
		}
	}
	r.Handle(web.Route{Method: "GET", Path: "/openapi.json", Access: web.Public(), Tag: "docs",
		Summary: "This API's OpenAPI 3 document", Handler: func(c *fiber.Ctx) error {
			once.Do(build)
			if err != nil {
				return err
			}
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Send(doc)
		}})
	r.Handle(web.Route{Method: "GET", Path: "/docs", Access: web.Public(), Tag: "docs",
		Summary: "Human-readable API reference", Handler: func(c *fiber.Ctx) error {
			once.Do(build)
			if err != nil {
				return err
			}
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			return c.Send(page)
		}})
}
