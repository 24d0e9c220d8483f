package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/migrations"
)

// repoRoot is the module root, found from this file's location.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	root := filepath.Dir(filepath.Dir(file))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// buildBinary builds the product's binary as an operator would.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	// `go test` puts its own toolchain first on PATH for the processes it starts.
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain not found: %v", err)
	}
	cmd := exec.Command(gobin, "build", "-o", bin, "./app/cmd/atelier")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// cleanEnv is a bare machine: no DATABASE_URL, no REDIS_URL, nothing else inherited.
func cleanEnv(t *testing.T, addr, dataDir string) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"HTTP_ADDR=" + addr,
		"DATA_DIR=" + dataDir,
		"METRICS_ADDR=" + freeAddr(t),
	}
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// client talks JSON to the running binary.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c client) do(method, path, token string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// TestBinary_embeddedDefaultServesSignUpLoginAndStopsCleanly runs the real binary on a bare
// machine (embedded database and broker), signs a tenant up, logs in, reads /me and /readyz,
// stops it with SIGTERM and finds every migration applied in its data directory.
func TestBinary_embeddedDefaultServesSignUpLoginAndStopsCleanly(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	addr := freeAddr(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	env := cleanEnv(t, addr, dataDir)

	var logs syncBuffer
	srv := exec.Command(bin, "serve")
	srv.Env = env
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Process.Kill()
			<-exited
		}
	})
	defer func() {
		if t.Failed() {
			t.Logf("serve output:\n%s", logs.String())
		}
	}()

	c := client{t: t, base: "http://" + addr, http: &http.Client{Timeout: 10 * time.Second}}
	waitHealthy(t, c, exited)

	slug := fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e9)
	email := "ann@" + slug + ".test"
	const password = "correct horse battery staple"
	var signup struct {
		Tenant struct {
			ID   string `json:"id"`
			Slug string `json:"slug"`
		} `json:"tenant"`
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
	}
	if st := c.do(http.MethodPost, "/api/v1/tenants", "", map[string]any{
		"name": "Acme", "slug": slug,
		"admin": map[string]string{"email": email, "password": password, "display_name": "Ann"},
	}, &signup); st != http.StatusCreated {
		t.Fatalf("sign up: status %d", st)
	}
	if signup.Tenant.Slug != slug || signup.Tenant.ID == "" || signup.User.Email != email || signup.User.ID == "" {
		t.Fatalf("sign up answered %+v", signup)
	}

	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if st := c.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{
		"tenant": slug, "email": email, "password": password,
	}, &tok); st != http.StatusOK || tok.AccessToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("login: status %d, token type %q", st, tok.TokenType)
	}

	var me struct {
		ID       string   `json:"id"`
		TenantID string   `json:"tenant_id"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
	}
	if st := c.do(http.MethodGet, "/api/v1/me", tok.AccessToken, nil, &me); st != http.StatusOK {
		t.Fatalf("GET /me: status %d", st)
	}
	if me.Email != email || me.ID != signup.User.ID || me.TenantID != signup.Tenant.ID ||
		len(me.Roles) != 1 || me.Roles[0] != "admin" {
		t.Errorf("GET /me = %+v, want %s of tenant %s with roles [admin]", me, email, signup.Tenant.ID)
	}

	var ready struct {
		Status string `json:"status"`
	}
	if st := c.do(http.MethodGet, "/readyz", "", nil, &ready); st != http.StatusOK || ready.Status != "ok" {
		t.Errorf("GET /readyz: status %d %+v, want 200 ok", st, ready)
	}

	// Prometheus metrics are served on METRICS_ADDR, not on the API port.
	if st := c.do(http.MethodGet, "/metrics", "", nil, nil); st != http.StatusNotFound {
		t.Errorf("GET /metrics on the API port: status %d, want 404", st)
	}
	metricsAddr := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "METRICS_ADDR="); ok {
			metricsAddr = v
		}
	}
	mr, err := c.http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", metricsAddr, err)
	}
	mbody, _ := io.ReadAll(mr.Body)
	mr.Body.Close()
	if mr.StatusCode != http.StatusOK || !strings.Contains(string(mbody), `http_request_duration_seconds_count{method="GET",route="/readyz",status="200"}`) {
		t.Errorf("GET /metrics on %s: status %d, %d bytes without the API's request metrics", metricsAddr, mr.StatusCode, len(mbody))
	}

	// Event streams on the embedded broker: a ticket opens a stream, disabling its user closes
	// it, and an open stream does not hold the shutdown up (it ends with a shutdown event).
	ticketFor := func(token string) string {
		var tk struct {
			Ticket string `json:"ticket"`
		}
		if st := c.do(http.MethodPost, "/api/v1/events/ticket", token, nil, &tk); st != http.StatusCreated {
			t.Fatalf("ticket: status %d", st)
		}
		return tk.Ticket
	}
	openStream := func(token string) *apptest.SSE {
		s := apptest.OpenSSE(t, c.base, "/api/v1/events?ticket="+url.QueryEscape(ticketFor(token)), nil)
		if s.Status != http.StatusOK {
			t.Fatalf("stream: %d %s", s.Status, s.Body)
		}
		s.NextNamed(t, "ready")
		return s
	}
	var bob struct {
		ID string `json:"id"`
	}
	if st := c.do(http.MethodPost, "/api/v1/users", tok.AccessToken, map[string]string{"email": "bob@" + slug + ".test",
		"password": password, "display_name": "Bob", "role": "member"}, &bob); st != http.StatusCreated {
		t.Fatalf("create user: %d", st)
	}
	var bobTok struct {
		AccessToken string `json:"access_token"`
	}
	if st := c.do(http.MethodPost, "/api/v1/auth/login", "", map[string]string{
		"tenant": slug, "email": "bob@" + slug + ".test", "password": password}, &bobTok); st != http.StatusOK {
		t.Fatalf("login bob: %d", st)
	}
	bobStream := openStream(bobTok.AccessToken)
	if st := c.do(http.MethodPatch, "/api/v1/users/"+bob.ID, tok.AccessToken, map[string]bool{"disabled": true}, nil); st != http.StatusOK {
		t.Fatalf("disable bob: %d", st)
	}
	if got := bobStream.WaitClosed(t); len(got) == 0 || got[len(got)-1].Name != "end" {
		t.Errorf("disabled user's stream on the embedded broker ended with %+v", got)
	}
	annStream := openStream(tok.AccessToken)

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if got := annStream.WaitClosed(t); len(got) == 0 || got[len(got)-1].Name != "end" || !strings.Contains(got[len(got)-1].Data, "shutdown") {
		t.Errorf("open stream at shutdown ended with %+v, want an end event for the shutdown", got)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM, want a clean exit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not exit within 20s of SIGTERM")
	}

	status := exec.Command(bin, "migrate", "status")
	status.Env = env
	out, err := status.Output()
	if err != nil {
		t.Fatalf("migrate status: %v\n%s", err, out)
	}
	assertAllApplied(t, string(out))
}

// waitHealthy polls /healthz until it answers 200, the process dies, or time runs out.
func waitHealthy(t *testing.T, c client, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, c.base+"/healthz", nil)
		resp, err := (&http.Client{Timeout: time.Second}).Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited before it was healthy: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not 200 within 30s (last error %v)", err)
		}
	}
}

// assertAllApplied checks `migrate status` lists every shipped SQLite migration as applied.
func assertAllApplied(t *testing.T, out string) {
	t.Helper()
	files, err := migrations.Versions("sqlite")
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped sqlite migrations: %v (%d)", err, len(files))
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Errorf("migrate status lists %d migrations, want %d:\n%s", len(lines), len(files), out)
	}
	for _, f := range files {
		name := filepath.Base(f)
		found := false
		for _, l := range lines {
			if strings.Contains(l, name) {
				found = true
				if fields := strings.Fields(l); len(fields) < 2 || fields[1] != "applied" {
					t.Errorf("migration %s: %q, want applied", name, l)
				}
			}
		}
		if !found {
			t.Errorf("migration %s missing from migrate status:\n%s", name, out)
		}
	}
	if strings.Contains(out, "pending") {
		t.Errorf("migrate status shows pending migrations:\n%s", out)
	}
}
