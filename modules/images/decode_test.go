package images

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// gateProbe instruments a gate: every decode holding room announces itself on entered and
// blocks until proceed gives it a token; every decode that finds no room announces waiting.
type gateProbe struct {
	entered, waiting chan int64
	proceed          chan struct{}
	inFlight, peak   atomic.Int64
}

func probe(g *DecodeGate) *gateProbe {
	p := &gateProbe{entered: make(chan int64, 16), waiting: make(chan int64, 16), proceed: make(chan struct{})}
	g.onWait = func(n int64) { p.waiting <- n }
	g.onDecode = func(n int64) {
		now := p.inFlight.Add(1)
		for {
			old := p.peak.Load()
			if now <= old || p.peak.CompareAndSwap(old, now) {
				break
			}
		}
		p.entered <- n
		<-p.proceed
		p.inFlight.Add(-1)
	}
	return p
}

// Three 10×10 decodes on a budget of 250 pixels: two run, the third waits for room and runs once
// one of them is done; never all three at once.
func TestDecodeGate_decodesBeyondThePixelBudgetWaitForRoom(t *testing.T) {
	g := NewDecodeGate(DecodeBounds{MaxPixels: 250, MaxConcurrent: 8, Wait: time.Hour})
	p := probe(g)
	data := encodePNG(t, 10, 10)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, _, err := g.Inspect(context.Background(), data, DefaultLimits)
			errs <- err
		}()
	}
	entered, waiting := 0, 0
	for entered < 2 || waiting < 1 {
		select {
		case <-p.entered:
			entered++
		case n := <-p.waiting:
			if n != 100 {
				t.Errorf("waiting for %d pixels, want 100", n)
			}
			waiting++
		}
	}
	if entered != 2 || waiting != 1 {
		t.Fatalf("%d decoding and %d waiting, want 2 and 1", entered, waiting)
	}
	p.proceed <- struct{}{} // one finishes: the third gets its room
	<-p.entered
	close(p.proceed)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("decode: %v", err)
		}
	}
	if peak := p.peak.Load(); peak != 2 {
		t.Errorf("%d decodes at once, want at most 2", peak)
	}
}

// A decode that finds no room in time is refused with 503 and a Retry-After; the room held by
// the others is untouched, and freed room serves the next caller.
func TestDecodeGate_overTheBudgetIsRefusedWith503AndRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bounds DecodeBounds
		ctx    func() (context.Context, func())
	}{
		{"no wait allowed", DecodeBounds{MaxPixels: 150, MaxConcurrent: 8, Wait: 0}, func() (context.Context, func()) {
			return context.Background(), func() {}
		}},
		{"the request gives up first", DecodeBounds{MaxPixels: 150, MaxConcurrent: 8, Wait: time.Hour}, func() (context.Context, func()) {
			return context.WithCancel(context.Background())
		}},
		{"the concurrency bound", DecodeBounds{MaxPixels: 1 << 20, MaxConcurrent: 1, Wait: 0}, func() (context.Context, func()) {
			return context.Background(), func() {}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewDecodeGate(tc.bounds)
			p := probe(g)
			data := encodePNG(t, 10, 10)
			first := make(chan error, 1)
			go func() {
				_, _, err := g.Inspect(context.Background(), data, DefaultLimits)
				first <- err
			}()
			<-p.entered
			ctx, cancel := tc.ctx()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // cancel the request once the second decode waits
				defer wg.Done()
				<-p.waiting
				cancel()
			}()
			_, _, err := g.Inspect(ctx, data, DefaultLimits)
			wg.Wait()
			e, ok := apierr.As(err)
			if !ok || e.Code != apierr.CodeUnavailable {
				t.Fatalf("second decode: %v, want 503 unavailable", err)
			}
			if d, ok := e.Details.(map[string]int); !ok || d["retry_after"] < 1 {
				t.Errorf("details %v, want retry_after", e.Details)
			}
			close(p.proceed)
			if err := <-first; err != nil {
				t.Fatalf("first decode: %v", err)
			}
			// The refused decode took nothing: the whole budget is free again.
			if !g.pixels.TryAcquire(g.b.MaxPixels) || !g.slots.TryAcquire(int64(g.b.MaxConcurrent)) {
				t.Error("room leaked")
			}
		})
	}
}

// A small file declaring a canvas larger than the whole budget takes all of it: it runs alone.
func TestDecodeGate_aCanvasLargerThanTheBudgetRunsAlone(t *testing.T) {
	g := NewDecodeGate(DecodeBounds{MaxPixels: 50, MaxConcurrent: 8, Wait: time.Hour})
	p := probe(g)
	data := encodePNG(t, 10, 10)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := g.Inspect(context.Background(), data, DefaultLimits)
			errs <- err
		}()
	}
	<-p.entered
	if n := <-p.waiting; n != 50 {
		t.Errorf("waits for %d pixels, want the whole budget of 50", n)
	}
	p.proceed <- struct{}{}
	<-p.entered
	close(p.proceed)
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if peak := p.peak.Load(); peak != 1 {
		t.Errorf("%d at once, want 1", peak)
	}
}
