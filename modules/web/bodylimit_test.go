package web_test

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
)

const (
	jsonLimit   = 512
	uploadLimit = 1 << 20
)

// bodyServer serves, on a real listener, a JSON route and an upload route behind an
// authentication step that admits only "Bearer ok", with the server configured as the API's is:
// streamed bodies, no multipart pre-parsing, per-route limits. It counts what ran.
type bodyServer struct {
	addr          string
	authRan, json atomic.Int32
	uploadBytes   atomic.Int64
}

func startBodyServer(t *testing.T) *bodyServer {
	t.Helper()
	s := &bodyServer{}
	f := fiber.New(fiber.Config{BodyLimit: 1 << 30, StreamRequestBody: true, DisablePreParseMultipartForm: true,
		ErrorHandler: web.ErrorHandler(discardLogger()), DisableStartupMessage: true})
	f.Use(web.DrainBody())
	auth := func(c *fiber.Ctx) error {
		s.authRan.Add(1)
		if c.Get("Authorization") != "Bearer ok" {
			return apierr.Unauthorized()
		}
		return c.Next()
	}
	r := web.NewRouter(f.Group("/api"), "/api", auth).LimitBodies(web.BodyLimits{JSON: jsonLimit, Upload: uploadLimit})
	r.Handle(web.Route{Method: "POST", Path: "/json", Access: web.AuthOnly(), Handler: func(c *fiber.Ctx) error {
		var in struct{ Name string }
		if err := web.Decode(c, &in); err != nil {
			return err
		}
		s.json.Add(1)
		return c.SendStatus(fiber.StatusNoContent)
	}})
	r.Handle(web.Route{Method: "POST", Path: "/upload", Access: web.AuthOnly(), Upload: true, Handler: func(c *fiber.Ctx) error {
		fh, err := c.FormFile("file")
		if err != nil {
			return apierr.Invalid("file", "a multipart field named file is required")
		}
		s.uploadBytes.Store(fh.Size)
		return c.SendStatus(fiber.StatusCreated)
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.Listener(ln) }()
	t.Cleanup(func() { _ = f.Shutdown() })
	s.addr = ln.Addr().String()
	return s
}

type sent struct {
	path, token, ctype string
	body               []byte
	chunked            bool
}

// do sends one request on a fresh connection and reads the answer.
func (s *bodyServer) do(t *testing.T, r sent) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.addr+r.path, bytes.NewReader(r.body))
	if r.chunked {
		req.Body = io.NopCloser(bytes.NewReader(r.body))
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", r.ctype)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e.Error.Code
}

func form(t *testing.T, size int) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.png")
	_, _ = fw.Write(bytes.Repeat([]byte{1}, size))
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// Every route takes JSON up to the JSON limit; only upload routes take a multipart body, up to
// the upload limit. A body over its route's limit is refused before authentication runs.
func TestBodyLimits_perRoute(t *testing.T) {
	s := startBodyServer(t)
	small := []byte(`{"name":"a"}`)
	big := []byte(`{"name":"` + strings.Repeat("a", 2*jsonLimit) + `"}`)
	// Bodies refused here fit in what the server reads ahead with the headers (8 KiB), so the
	// refusal's closed connection cannot reset the client before it reads the answer; larger
	// refusals are in TestBodyLimits_refusedBeforeTheBodyIsRead.
	okForm, formType := form(t, 4*jsonLimit)
	for _, tc := range []struct {
		name     string
		r        sent
		want     int
		code     string
		authRuns bool
	}{
		{"small JSON", sent{path: "/api/json", token: "ok", ctype: "application/json", body: small}, 204, "", true},
		{"small chunked JSON", sent{path: "/api/json", token: "ok", ctype: "application/json", body: small, chunked: true}, 204, "", true},
		{"JSON over the limit", sent{path: "/api/json", token: "ok", ctype: "application/json", body: big}, 413, "too_large", false},
		{"unauthenticated JSON over the limit", sent{path: "/api/json", ctype: "application/json", body: big}, 413, "too_large", false},
		{"multipart to a JSON route", sent{path: "/api/json", token: "ok", ctype: formType, body: okForm}, 413, "too_large", false},
		{"upload", sent{path: "/api/upload", token: "ok", ctype: formType, body: okForm}, 201, "", true},
		{"unauthenticated upload", sent{path: "/api/upload", ctype: formType, body: okForm}, 401, "unauthorized", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.authRan.Load()
			status, code := s.do(t, tc.r)
			if status != tc.want || code != tc.code {
				t.Fatalf("got %d %q, want %d %q", status, code, tc.want, tc.code)
			}
			if ran := s.authRan.Load() > before; ran != tc.authRuns {
				t.Errorf("authentication ran: %v, want %v", ran, tc.authRuns)
			}
		})
	}
	if got := s.uploadBytes.Load(); got != 4*jsonLimit {
		t.Errorf("the upload handler saw a %d-byte file, want %d", got, 4*jsonLimit)
	}
}

// readAhead is what the server reads of a body with its headers before any handler runs.
var readAhead = strings.Repeat("-", 8<<10)

// rawExchange writes head (request line and headers, and at most the read-ahead of the body) on a
// new connection and reads the answer's status line: it must come before the rest of the
// declared body is sent.
func rawExchange(t *testing.T, addr, head string) (string, *bufio.Reader, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	return strings.TrimSpace(line), br, conn
}

// A 20 MiB multipart POST is answered from its headers and first 8 KiB — to a route that does not exist,
// to a JSON route, and unauthenticated to the upload route — without waiting for its body.
func TestBodyLimits_refusedBeforeTheBodyIsRead(t *testing.T) {
	s := startBodyServer(t)
	const size = 20 << 20
	authRan := s.authRan.Load()
	for _, path := range []string{"/api/nowhere", "/api/json", "/api/upload"} {
		for _, auth := range []string{"", "Authorization: Bearer ok\r\n"} {
			want := map[string]string{"/api/nowhere": "404"}[path]
			want = cmp.Or(want, "413")
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
				"Content-Length: %d\r\n%s\r\n%s", path, size, auth, readAhead)
			line, _, _ := rawExchange(t, s.addr, head)
			if !strings.Contains(line, " "+want+" ") {
				t.Errorf("%s (%q): %q, want %s", path, auth, line, want)
			}
		}
	}
	if s.authRan.Load() != authRan {
		t.Error("authentication ran for a body over its route's limit")
	}
	// An upload of unknown length is refused (411) before a chunk of it is read.
	line, _, _ := rawExchange(t, s.addr, "POST /api/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
	if !strings.Contains(line, " 411 ") {
		t.Errorf("chunked upload: %q, want 411", line)
	}
	// Chunked JSON is read to one byte past the limit, then refused; the rest is never sent.
	chunk := strings.Repeat("a", jsonLimit+10)
	line, _, _ = rawExchange(t, s.addr, fmt.Sprintf("POST /api/json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\n"+
		"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(chunk), chunk))
	if !strings.Contains(line, " 413 ") {
		t.Errorf("chunked JSON over the limit: %q, want 413", line)
	}
	// Within the upload limit but unauthenticated: 401 before the body is read.
	head := fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
		"Content-Length: %d\r\n\r\n%s", uploadLimit/2, readAhead) // more than is ever drained
	if line, _, _ := rawExchange(t, s.addr, head); !strings.Contains(line, " 401 ") {
		t.Errorf("unauthenticated upload: %q, want 401", line)
	}
}

// A request answered without reading its small body leaves the connection usable: the next
// request on it is parsed from its own first byte, not from the middle of the last body.
func TestBodyLimits_unreadBodyDoesNotPoisonTheConnection(t *testing.T) {
	s := startBodyServer(t)
	body := strings.Repeat("x", 20<<10) // more than fasthttp prefetches, less than the drain bound
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	first := fmt.Sprintf("POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)
	second := "POST /api/json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\nContent-Type: application/json\r\n" +
		"Content-Length: 12\r\n\r\n{\"name\":\"a\"}"
	for i, req := range []string{first, second} {
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if want := []int{401, 204}[i]; resp.StatusCode != want {
			t.Fatalf("answer %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}
