package web_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
)

// fileApp serves the file at path on GET/HEAD /f with web.ServeFile.
func fileApp(t testing.TB, path string, mod time.Time) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/f", func(c *fiber.Ctx) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		c.Set(fiber.HeaderContentType, "image/png")
		return web.ServeFile(c, web.File{Content: f, Size: st.Size(), ModTime: mod, ETag: `"abc"`})
	})
	return app
}

func writeFile(t testing.TB, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestServeFile_conditionalsAndRanges(t *testing.T) {
	t.Parallel()
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	path, content := writeFile(t, 1000)
	app := fileApp(t, path, mod.Add(300*time.Millisecond)) // sub-second parts do not count
	before, at, after := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Format(http.TimeFormat), mod.Add(time.Hour).Format(http.TimeFormat)
	cases := []struct {
		name         string
		method       string
		header       map[string]string
		status       int
		body         []byte
		contentRange string
	}{
		{"plain", "GET", nil, 200, content, ""},
		{"head has no body", "HEAD", nil, 200, nil, ""},
		{"If-None-Match of the tag", "GET", map[string]string{"If-None-Match": `"abc"`}, 304, nil, ""},
		{"If-None-Match weak form of the tag", "GET", map[string]string{"If-None-Match": `"x", W/"abc"`}, 304, nil, ""},
		{"If-None-Match star", "GET", map[string]string{"If-None-Match": `*`}, 304, nil, ""},
		{"If-None-Match of another tag", "GET", map[string]string{"If-None-Match": `"other"`}, 200, content, ""},
		{"If-None-Match wins over If-Modified-Since", "GET", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": after}, 200, content, ""},
		{"If-Modified-Since at the modification", "GET", map[string]string{"If-Modified-Since": at}, 304, nil, ""},
		{"If-Modified-Since after it", "GET", map[string]string{"If-Modified-Since": after}, 304, nil, ""},
		{"If-Modified-Since before it", "GET", map[string]string{"If-Modified-Since": before}, 200, content, ""},
		{"If-Match of another tag", "GET", map[string]string{"If-Match": `"other"`}, 412, nil, ""},
		{"If-Match weak is never strong", "GET", map[string]string{"If-Match": `W/"abc"`}, 412, nil, ""},
		{"If-Unmodified-Since before it", "GET", map[string]string{"If-Unmodified-Since": before}, 412, nil, ""},
		{"range", "GET", map[string]string{"Range": "bytes=10-19"}, 206, content[10:20], "bytes 10-19/1000"},
		{"open range", "GET", map[string]string{"Range": "bytes=990-"}, 206, content[990:], "bytes 990-999/1000"},
		{"suffix range", "GET", map[string]string{"Range": "bytes=-4"}, 206, content[996:], "bytes 996-999/1000"},
		{"range past the end is clipped", "GET", map[string]string{"Range": "bytes=995-5000"}, 206, content[995:], "bytes 995-999/1000"},
		{"range starting past the end", "GET", map[string]string{"Range": "bytes=1000-"}, 416, nil, "bytes */1000"},
		{"several ranges get the whole file", "GET", map[string]string{"Range": "bytes=0-1,5-6"}, 200, content, ""},
		{"malformed range is ignored", "GET", map[string]string{"Range": "bytes=x-y"}, 200, content, ""},
		{"If-Range of the tag keeps the range", "GET", map[string]string{"Range": "bytes=0-9", "If-Range": `"abc"`}, 206, content[:10], "bytes 0-9/1000"},
		{"If-Range of another tag drops it", "GET", map[string]string{"Range": "bytes=0-9", "If-Range": `"old"`}, 200, content, ""},
		{"If-Range of the date keeps it", "GET", map[string]string{"Range": "bytes=0-9", "If-Range": at}, 206, content[:10], "bytes 0-9/1000"},
		{"If-Range of another date drops it", "GET", map[string]string{"Range": "bytes=0-9", "If-Range": before}, 200, content, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/f", nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
				t.Fatalf("%d with %d bytes, want %d with %d", resp.StatusCode, len(body), tc.status, len(tc.body))
			}
			if got := resp.Header.Get("Content-Range"); got != tc.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tc.contentRange)
			}
			if tc.status < 300 || tc.status == 304 {
				if resp.Header.Get("ETag") != `"abc"` || resp.Header.Get("Last-Modified") != at || resp.Header.Get("Accept-Ranges") != "bytes" {
					t.Errorf("headers %v", resp.Header)
				}
			}
			if tc.status == 200 && tc.method == "GET" && resp.ContentLength != int64(len(content)) {
				t.Errorf("Content-Length %d", resp.ContentLength)
			}
		})
	}
}

// 32 clients fetching a 25 MB file at once: the server streams it from disk, so what it
// allocates stays far below one copy per request (32 × 25 MB = 800 MB when read whole).
func TestServeFile_concurrentLargeFetchesAreStreamed(t *testing.T) {
	const size, clients = 25 << 20, 32
	path, _ := writeFile(t, size)
	app := fileApp(t, path, time.Now())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	url := fmt.Sprintf("http://%s/f", ln.Addr())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	fetch := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && (resp.StatusCode != 200 || n != size) {
			err = fmt.Errorf("%d with %d bytes", resp.StatusCode, n)
		}
		return err
	}
	if err := fetch(); err != nil { // warm: connections, pools
		t.Fatal(err)
	}

	var before, peak runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	sampled := make(chan uint64)
	go func() { // the highest heap in use while the fetches run
		var m runtime.MemStats
		high := uint64(0)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				sampled <- high
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				high = max(high, m.HeapInuse)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- fetch()
		}()
	}
	wg.Wait()
	close(done)
	high := <-sampled
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&peak)
	allocated := peak.TotalAlloc - before.TotalAlloc
	growth := int64(high) - int64(before.HeapInuse)
	t.Logf("%d fetches of %d MB: %.1f MB allocated in all (client and server), heap in use grew by at most %.1f MB",
		clients, size>>20, float64(allocated)/(1<<20), float64(max(growth, 0))/(1<<20))
	if allocated > 64<<20 {
		t.Errorf("%.0f MB allocated for %d fetches of %d MB: the file is not streamed", float64(allocated)/(1<<20), clients, size>>20)
	}
	if growth > 64<<20 {
		t.Errorf("heap in use grew by %.0f MB during the fetches, want under 64 MB", float64(growth)/(1<<20))
	}
}
