package images

import (
	"context"
	"fmt"
	"image"
	"math"
	"runtime"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// A decode holds the whole canvas in memory (4 bytes a pixel, more for 16-bit PNGs), whatever
// the size of the file: a 100 KiB PNG may declare 6000×6000. DecodeGate bounds how many decodes
// run at once and how many pixels they hold together, so six such uploads at once wait for one
// another instead of taking the server over a GiB.

// DecodeBounds configure a DecodeGate.
type DecodeBounds struct {
	// MaxPixels is the pixels decoded at once, across every decode (DECODE_MAX_PIXELS_IN_FLIGHT).
	// A decode larger than the whole budget takes all of it.
	MaxPixels int64
	// MaxConcurrent is the decodes running at once (DECODE_MAX_CONCURRENT).
	MaxConcurrent int
	// Wait is how long a decode waits for room before it is refused with 503 and Retry-After
	// (DECODE_WAIT); the request's context bounds it too.
	Wait time.Duration
}

// DefaultDecodeBounds: one upload of the largest size at a time, or several smaller ones, on at
// most GOMAXPROCS decodes, waiting up to 5 seconds for room.
func DefaultDecodeBounds(lim Limits) DecodeBounds {
	return DecodeBounds{MaxPixels: lim.MaxPixels, MaxConcurrent: runtime.GOMAXPROCS(0), Wait: 5 * time.Second}
}

// DecodeGate is the bound on decodes: a weighted semaphore of pixels and one of decode slots.
type DecodeGate struct {
	pixels *semaphore.Weighted
	slots  *semaphore.Weighted
	b      DecodeBounds
	// Test hooks: onWait runs when a decode finds no room and starts waiting; onDecode runs while
	// a decode holds its permit, with its weight.
	onWait   func(pixels int64)
	onDecode func(pixels int64)
}

// NewDecodeGate makes the gate; zero fields take DefaultDecodeBounds(DefaultLimits)'s values.
func NewDecodeGate(b DecodeBounds) *DecodeGate {
	def := DefaultDecodeBounds(DefaultLimits)
	if b.MaxPixels <= 0 {
		b.MaxPixels = def.MaxPixels
	}
	if b.MaxConcurrent <= 0 {
		b.MaxConcurrent = def.MaxConcurrent
	}
	if b.Wait < 0 {
		b.Wait = 0
	}
	return &DecodeGate{pixels: semaphore.NewWeighted(b.MaxPixels), slots: semaphore.NewWeighted(int64(b.MaxConcurrent)), b: b}
}

// acquire takes room for a decode of pixels, waiting at most the gate's Wait (and never past
// ctx); without room in time it answers 503 with Retry-After. The release must be called.
func (g *DecodeGate) acquire(ctx context.Context, pixels int64) (func(), error) {
	n := min(max(pixels, 1), g.b.MaxPixels)
	if g.slots.TryAcquire(1) {
		if g.pixels.TryAcquire(n) {
			return g.release(n), nil
		}
		g.slots.Release(1)
	}
	if g.onWait != nil {
		g.onWait(n)
	}
	wctx, cancel := context.WithTimeout(ctx, g.b.Wait)
	defer cancel()
	if err := g.slots.Acquire(wctx, 1); err != nil {
		return nil, g.busy()
	}
	if err := g.pixels.Acquire(wctx, n); err != nil {
		g.slots.Release(1)
		return nil, g.busy()
	}
	return g.release(n), nil
}

func (g *DecodeGate) release(n int64) func() {
	return func() {
		g.pixels.Release(n)
		g.slots.Release(1)
	}
}

func (g *DecodeGate) busy() error {
	return apierr.Busy("the server is decoding too many images; retry shortly",
		int(math.Ceil(max(g.b.Wait.Seconds(), 1))))
}

// Inspect is the package's Inspect with the decode inside the gate's bounds.
func (g *DecodeGate) Inspect(ctx context.Context, data []byte, lim Limits) (Media, image.Image, error) {
	m, img, release, err := inspect(ctx, g, data, lim)
	if err != nil {
		return Media{}, nil, err
	}
	release()
	return m, img, nil
}

// Hold is Inspect keeping the decode's room until release is called, for a caller that goes on
// working on the canvas (thumbnail, stripped copy).
func (g *DecodeGate) Hold(ctx context.Context, data []byte, lim Limits) (Media, image.Image, func(), error) {
	return inspect(ctx, g, data, lim)
}

func (g *DecodeGate) String() string {
	return fmt.Sprintf("decodes: %d pixels, %d at once, wait %s", g.b.MaxPixels, g.b.MaxConcurrent, g.b.Wait)
}
