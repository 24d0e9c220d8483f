package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/configs"
)

// Env is a running product for one test: its own database, the shared Redis, an in-process
// HTTP server.
type Env struct {
	T      testing.TB
	Cfg    configs.Config
	App    *app.App
	Server *app.Server
	// ClientIP is sent as X-Forwarded-For so that per-address limits of parallel tests and of
	// earlier runs never collide.
	ClientIP string
	// Clock is the time the enforcer, workspaces and tokens go by: advance it to expire
	// grants and tokens instead of sleeping.
	Clock *Clock

	listenOnce sync.Once
	baseURL    string
}

// Option adjusts the configuration before start.
type Option func(*configs.Config)

// Config returns the test configuration on a fresh database: fast password hashing, generous
// per-address login limits, the shared test Redis.
func Config(t testing.TB) configs.Config {
	cfg := configs.Defaults()
	cfg.DatabaseURL = NewDatabase(t)
	cfg.RedisURL = RedisURL()
	cfg.DataDir = t.TempDir()
	cfg.JWTSecret = randomHex(32)
	cfg.LogLevel = "error"
	cfg.PasswordHashMemoryKiB = 1024
	cfg.LoginLimitPerAddress = 1000
	cfg.SignupLimitPerAddress = 1000
	cfg.TrustedProxies = []string{"0.0.0.0", "127.0.0.1"}
	return cfg
}

// Start runs the product on a fresh database.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := Config(t)
	for _, o := range opts {
		o(&cfg)
	}
	return StartWith(t, cfg)
}

// StartWith runs the product with the given configuration.
func StartWith(t testing.TB, cfg configs.Config) *Env {
	t.Helper()
	return StartWithLog(t, cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// StartWithLog runs the product with the given configuration and logger (tests of what is
// logged).
func StartWithLog(t testing.TB, cfg configs.Config, log *slog.Logger) *Env {
	t.Helper()
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("apptest: start app (PostgreSQL and Redis are required): %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	clock := &Clock{}
	a.Enforcer.SetClock(clock.Now)
	a.Workspaces.SetClock(clock.Now)
	a.Tokens.SetClock(clock.Now)
	return &Env{T: t, Cfg: cfg, App: a, Server: app.NewServer(a), ClientIP: randomIP(), Clock: clock}
}

// Clock is the real time moved ahead by what Advance added, safe for concurrent use.
type Clock struct{ offset atomic.Int64 }

// Now is the current time of the clock, in UTC.
func (c *Clock) Now() time.Time { return time.Now().UTC().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock ahead by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Peer starts a second API node of the same product: the same database, Redis, secret and data
// directory, its own process state (enforcer cache, event hub, connections), as a second server
// behind a load balancer.
func (e *Env) Peer(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, e.Cfg)
}

// URL serves the product on a loopback port (once) and returns its base URL, for clients that
// need a real connection (event streams). The server stops when the test ends.
func (e *Env) URL() string {
	e.listenOnce.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			e.T.Fatalf("apptest: listen: %v", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = e.Server.Fiber.Listener(ln)
		}()
		e.T.Cleanup(func() {
			e.App.Events.Close() // open streams would hold the shutdown up
			_ = e.Server.Fiber.ShutdownWithTimeout(5 * time.Second)
			<-done
		})
		e.baseURL = "http://" + ln.Addr().String()
	})
	return e.baseURL
}

// Response is an answer from the server.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode is the body's error.code, or "".
func (r Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request. body may be nil, a string or []byte (sent as is), a Form (sent as
// multipart/form-data), or a value sent as JSON.
func (e *Env) Do(method, path, token string, body any) Response {
	e.T.Helper()
	var reader io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case Form:
		reader = bytes.NewReader(b.Body)
		contentType = b.ContentType
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		reader = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, reader)
	if reader != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Forwarded-For", e.ClientIP)
	return e.DoRequest(req)
}

// DoRequest sends a prepared request.
func (e *Env) DoRequest(req *http.Request) Response {
	e.T.Helper()
	resp, err := e.Server.Fiber.Test(req, -1)
	if err != nil {
		e.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomIP() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
