package app_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/downloads"
)

// BenchmarkDownloads_serve1GBTo8Clients serves one 1 GiB zip (BENCH_SERVE_MB, default 64 MiB so
// that `make bench` stays small) to 8 clients at once over a real socket, each with its own signed link, and reports the server's peak Go heap during the
// transfer (it must stay flat: the body is streamed from the file, never loaded) and the
// process's peak RSS. The archive is a sparse file swapped in for a real download's (the server
// does not read its content). Run with:
//
//	BENCH_SERVE_MB=1024 go test -run '^$' -bench Downloads_serve1GB -benchtime 1x ./app/
func BenchmarkDownloads_serve1GBTo8Clients(b *testing.B) {
	const clients = 8
	size := int64(64 << 20)
	if mb, err := strconv.Atoi(os.Getenv("BENCH_SERVE_MB")); err == nil && mb > 0 {
		size = int64(mb) << 20
	}
	env := apptest.Start(b)
	dlRecord(env)
	tn := env.SignUp(b)
	r := env.Do(http.MethodPost, "/api/v1/workspaces/default/images", tn.Admin.Token, bdForm(nil, "a.png", bdPNG(4, 4)))
	var img struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(b, &img)
	v := dlCreate(b, env, tn.Admin.Token, map[string]any{"image_ids": []uuid.UUID{img.ID}}).ID
	err := env.App.Downloads.Build(context.Background(), downloads.BuildPayload{TenantID: tn.ID, DownloadID: v, RequesterID: tn.Admin.ID})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(env.Cfg.DataDir, "downloads", tn.ID.String(), dlRow(b, env, tn.ID, v).File)
	if err := os.Truncate(path, size); err != nil {
		b.Fatal(err)
	}
	links := make([]string, clients)
	for i := range links {
		r := env.Do(http.MethodPost, "/api/v1/downloads/"+v.String()+"/link", tn.Admin.Token, nil)
		var l struct {
			URL string `json:"url"`
		}
		r.JSON(b, &l)
		links[i] = l.URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = env.Server.Fiber.Listener(ln) }()
	b.Cleanup(func() { _ = env.Server.Fiber.Shutdown() })
	base := "http://" + ln.Addr().String()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.SetBytes(size * clients)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(base + links[i])
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				n, err := io.Copy(io.Discard, resp.Body)
				if err == nil && (resp.StatusCode != http.StatusOK || n != size) {
					err = io.ErrUnexpectedEOF
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(size)/(1<<20), "zip-MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heap-before-MiB")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(vmHWM()/1024, "peak-RSS-MiB")
}

// vmHWM is the process's peak resident set in KiB (/proc/self/status), 0 if unknown.
func vmHWM() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 64)
			return n
		}
	}
	return 0
}
