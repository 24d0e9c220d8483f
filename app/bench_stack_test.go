package app_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
)

// BenchmarkStack is scripts/bench-http.sh in process, without the network and the load
// generator: the bare Fiber v2 + HS256 JWT handler (app/cmd/barejwt's) and the service's GET /me,
// GET /boards/{id} and GET /workspaces/{ws}/boards (50 boards) on the embedded default and on
// PostgreSQL, in one run, so the ratios of their ns/op are the ratios without the noise
// of a shared machine's scheduler. On PostgreSQL it also reports the statements per request.
func BenchmarkStack(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		cfg := configs.Defaults()
		cfg.DatabaseURL, cfg.RedisURL, cfg.DataDir = "", "", b.TempDir()
		env := startStack(b, cfg)
		tn := env.SignUp(b)
		serve(b, bareJWT([]byte(env.Cfg.JWTSecret)).Handler(), "/api/v1/me", tn.Admin.Token, nil)
	})
	for _, backend := range []string{"embedded", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			cfg := apptest.Config(b)
			if backend == "embedded" {
				cfg.DatabaseURL, cfg.RedisURL = "", ""
			}
			env := startStack(b, cfg)
			tn := env.SignUp(b)
			ws, board := fiftyBoards(b, env, tn.Admin.Token)
			var statements *atomic.Int64
			if backend == "postgres" {
				statements = new(atomic.Int64)
				env.App.DB.OnStatement(func(string) { statements.Add(1) })
			}
			h := env.Server.Fiber.Handler()
			b.Run("me", func(b *testing.B) { serve(b, h, "/api/v1/me", tn.Admin.Token, statements) })
			b.Run("board", func(b *testing.B) { serve(b, h, "/api/v1/boards/"+board, tn.Admin.Token, statements) })
			b.Run("list50", func(b *testing.B) {
				serve(b, h, "/api/v1/workspaces/"+ws+"/boards?limit=50", tn.Admin.Token, statements)
			})
		})
	}
}

func startStack(b *testing.B, cfg configs.Config) *apptest.Env {
	if cfg.JWTSecret == "" {
		cfg.JWTSecret = strings.Repeat("ab", 32)
	}
	cfg.PasswordHashMemoryKiB = 1024
	cfg.LoginLimitPerAddress, cfg.SignupLimitPerAddress = 1000, 1000
	cfg.LogLevel = "error"
	return apptest.StartWith(b, cfg)
}

// fiftyBoards makes a workspace with 50 private boards; it returns the workspace and one board.
func fiftyBoards(b *testing.B, env *apptest.Env, token string) (ws, board string) {
	var v struct {
		ID uuid.UUID `json:"id"`
	}
	r := env.Do(http.MethodPost, "/api/v1/workspaces", token, map[string]string{"name": "Bench", "slug": "bench"})
	if r.Status != http.StatusCreated {
		b.Fatalf("workspace: %d %s", r.Status, r.Body)
	}
	r.JSON(b, &v)
	ws = v.ID.String()
	for i := range 50 {
		r := env.Do(http.MethodPost, "/api/v1/workspaces/"+ws+"/boards", token,
			map[string]string{"name": "Board " + strings.Repeat("x", i%7+1), "visibility": "private"})
		if r.Status != http.StatusCreated {
			b.Fatalf("board: %d %s", r.Status, r.Body)
		}
		r.JSON(b, &v)
		if board == "" {
			board = v.ID.String()
		}
	}
	return ws, board
}

// serve runs GET path on h with the token, in parallel, and reports statements per request.
func serve(b *testing.B, h fasthttp.RequestHandler, path, token string, statements *atomic.Int64) {
	auth := "Bearer " + token
	if statements != nil {
		statements.Store(0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.ResetUserValues()
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI(path)
			ctx.Request.Header.SetMethod(fasthttp.MethodGet)
			ctx.Request.Header.Set("Authorization", auth)
			h(&ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
	b.StopTimer()
	if statements != nil {
		b.ReportMetric(float64(statements.Load())/float64(b.N), "stmts/op")
	}
}

// bareJWT is app/cmd/barejwt's handler.
func bareJWT(key []byte) *fiber.App {
	type claims struct {
		jwt.RegisteredClaims
		TenantID  string `json:"tid"`
		SessionID string `json:"sid"`
	}
	type answer struct {
		UserID   string `json:"user_id"`
		TenantID string `json:"tenant_id"`
		OK       bool   `json:"ok"`
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer("atelier"), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/*", func(c *fiber.Ctx) error {
		scheme, raw, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return fiber.ErrUnauthorized
		}
		var cl claims
		if _, err := parser.ParseWithClaims(raw, &cl, keyFunc); err != nil {
			return fiber.ErrUnauthorized
		}
		return c.JSON(answer{UserID: cl.Subject, TenantID: cl.TenantID, OK: true})
	})
	return app
}
