package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"
	"github.com/google/uuid"
)

// testImage is a deterministic gradient with a hard-edged square, so that every operation
// changes pixels.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: uint8((x ^ y) & 0xff), A: 255}
			if x > w/4 && x < w/2 && y > h/4 && y < h/2 {
				c = color.NRGBA{R: 250, G: 20, B: 30, A: 200}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func loaderOf(imgs map[string]image.Image) ImageLoader {
	return func(_ context.Context, id uuid.UUID) (image.Image, error) {
		img, ok := imgs[id.String()]
		if !ok {
			return nil, errors.New("no such image")
		}
		return img, nil
	}
}

func samePixels(t *testing.T, got, want image.Image) {
	t.Helper()
	g, w := imaging.Clone(got), imaging.Clone(want)
	if g.Bounds().Size() != w.Bounds().Size() {
		t.Fatalf("size %v, want %v", g.Bounds().Size(), w.Bounds().Size())
	}
	if !bytes.Equal(g.Pix, w.Pix) {
		t.Fatalf("pixels differ from the library's result")
	}
}

func TestExecute_eachNodeMatchesTheLibrary(t *testing.T) {
	src := testImage(97, 61)
	over := testImage(30, 20)
	cases := []struct {
		name string
		node Node
		want image.Image
	}{
		{"resize both sides", Node{ID: "n", Type: "resize", Fields: raw(map[string]any{"width": 40, "height": 30})}, imaging.Resize(src, 40, 30, imaging.Lanczos)},
		{"resize keeps aspect", Node{ID: "n", Type: "resize", Fields: raw(map[string]any{"width": 50, "filter": "linear"})}, imaging.Resize(src, 50, 0, imaging.Linear)},
		{"crop", Node{ID: "n", Type: "crop", Fields: raw(map[string]any{"x": 5, "y": 7, "width": 30, "height": 20})}, imaging.Crop(src, image.Rect(5, 7, 35, 27))},
		{"rotate 90", Node{ID: "n", Type: "rotate", Fields: raw(map[string]any{"angle": 90})}, imaging.Rotate90(src)},
		{"rotate -90", Node{ID: "n", Type: "rotate", Fields: raw(map[string]any{"angle": -90})}, imaging.Rotate270(src)},
		{"rotate 30", Node{ID: "n", Type: "rotate", Fields: raw(map[string]any{"angle": 30})}, imaging.Rotate(src, 30, color.Transparent)},
		{"flip horizontal", Node{ID: "n", Type: "flip"}, imaging.FlipH(src)},
		{"flip vertical", Node{ID: "n", Type: "flip", Fields: raw(map[string]any{"direction": "vertical"})}, imaging.FlipV(src)},
		{"adjust", Node{ID: "n", Type: "adjust", Fields: raw(map[string]any{"brightness": 10, "contrast": -20, "saturation": 30, "gamma": 0.8})},
			imaging.AdjustGamma(imaging.AdjustSaturation(imaging.AdjustContrast(imaging.AdjustBrightness(src, 10), -20), 30), 0.8)},
		{"blur", Node{ID: "n", Type: "blur", Fields: raw(map[string]any{"sigma": 1.5})}, imaging.Blur(src, 1.5)},
		{"sharpen", Node{ID: "n", Type: "sharpen"}, imaging.Sharpen(src, 1)},
		{"grayscale", Node{ID: "n", Type: "grayscale"}, imaging.Grayscale(src)},
	}
	load := loaderOf(map[string]image.Image{imgID: src})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			outs, err := Execute(context.Background(), chain(c.node), nil, load, Limits{}, nil)
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if len(outs) != 1 || outs[0].Node != "out" {
				t.Fatalf("outputs = %v", outs)
			}
			samePixels(t, outs[0].Image, c.want)
		})
	}
	t.Run("composite", func(t *testing.T) {
		overID := "0b8a3f57-95f5-4c1e-8d1f-3d2c1b0a9e88"
		g := &Graph{
			Nodes: []Node{
				{ID: "a", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})},
				{ID: "b", Type: "image_input", Fields: raw(map[string]any{"image_id": overID})},
				{ID: "c", Type: "composite", Fields: raw(map[string]any{"x": 60, "y": -5, "opacity": 0.6})},
				{ID: "out", Type: "output"},
			},
			Edges: []Edge{{From: "a.image", To: "c.base"}, {From: "b.image", To: "c.overlay"}, {From: "c.image", To: "out.image"}},
		}
		outs, err := Execute(context.Background(), g, nil, loaderOf(map[string]image.Image{imgID: src, overID: over}), Limits{}, nil)
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		samePixels(t, outs[0].Image, imaging.Overlay(src, over, image.Pt(60, -5), 0.6))
	})
}

// goldenGraph: resize to 64 wide, adjust, overlay a grayscale crop of the original at half
// opacity, blur; a second output is the measured-height square thumbnail.
func goldenGraph() *Graph {
	return &Graph{
		Nodes: []Node{
			{ID: "in", Type: "image_input"},
			{ID: "small", Type: "resize", Fields: raw(map[string]any{"width": 64})},
			{ID: "adj", Type: "adjust", Fields: raw(map[string]any{"contrast": 20, "gamma": 1.2})},
			{ID: "crop", Type: "crop", Fields: raw(map[string]any{"x": 10, "y": 10, "width": 24, "height": 16})},
			{ID: "gray", Type: "grayscale"},
			{ID: "mix", Type: "composite", Fields: raw(map[string]any{"x": 8, "y": 4, "opacity": 0.5})},
			{ID: "soft", Type: "blur", Fields: raw(map[string]any{"sigma": 0.7})},
			{ID: "out", Type: "output"},
			{ID: "m", Type: "measure"},
			{ID: "square", Type: "resize", Fields: raw(map[string]any{"width": 1, "height": 1})},
			{ID: "thumb", Type: "output"},
		},
		Edges: []Edge{
			{From: "in.image", To: "small.image"}, {From: "small.image", To: "adj.image"},
			{From: "in.image", To: "crop.image"}, {From: "crop.image", To: "gray.image"},
			{From: "adj.image", To: "mix.base"}, {From: "gray.image", To: "mix.overlay"},
			{From: "mix.image", To: "soft.image"}, {From: "soft.image", To: "out.image"},
			{From: "small.image", To: "m.image"}, {From: "in.image", To: "square.image"},
			{From: "m.height", To: "square.width"}, {From: "m.height", To: "square.height"},
			{From: "square.image", To: "thumb.image"},
		},
		Exposed: []string{"in.image_id", "adj.saturation"},
	}
}

const goldenSHA256 = "6bfaa87cbcd967ddc88b99b6753e96632c53dcd774104ecb13aab44d6a88f9f7"

func TestExecute_multiNodeGraphIsGolden(t *testing.T) {
	src := testImage(128, 96)
	g := goldenGraph()
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	outs, err := Execute(context.Background(), g, raw(map[string]any{"in.image_id": imgID, "adj.saturation": 40}),
		loaderOf(map[string]image.Image{imgID: src}), Limits{}, func(done, total int, node string) {
			if done != len(seen)+1 || total != len(g.Nodes) {
				t.Errorf("progress(%d, %d), want (%d, %d)", done, total, len(seen)+1, len(g.Nodes))
			}
			seen = append(seen, node)
		})
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if len(seen) != len(g.Nodes) {
		t.Fatalf("progress saw %v", seen)
	}
	small := imaging.Resize(src, 64, 0, imaging.Lanczos)
	adj := imaging.AdjustGamma(imaging.AdjustSaturation(imaging.AdjustContrast(small, 20), 40), 1.2)
	gray := imaging.Grayscale(imaging.Crop(src, image.Rect(10, 10, 34, 26)))
	want := imaging.Blur(imaging.Overlay(adj, gray, image.Pt(8, 4), 0.5), 0.7)
	if len(outs) != 2 || outs[0].Node != "out" || outs[1].Node != "thumb" {
		t.Fatalf("outputs %v", outs)
	}
	samePixels(t, outs[0].Image, want)
	h := small.Bounds().Dy()
	samePixels(t, outs[1].Image, imaging.Resize(src, h, h, imaging.Lanczos))

	sum := sha256.New()
	for _, o := range outs {
		sum.Write(imaging.Clone(o.Image).Pix)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != goldenSHA256 {
		t.Fatalf("golden digest %s, want %s", got, goldenSHA256)
	}
}

func TestExecute_limitsStopRunawayGraphs(t *testing.T) {
	src := testImage(100, 100)
	load := loaderOf(map[string]image.Image{imgID: src})
	cases := []struct {
		name string
		g    *Graph
		lim  Limits
		node string
	}{
		{"output pixels", chain(), Limits{MaxOutputPixels: 9999}, "out"},
		{"input image larger than intermediate limit", chain(), Limits{MaxIntermediatePixels: 9999}, "in"},
		{"resize result larger than intermediate limit", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 16384, "height": 16384})}), Limits{MaxIntermediatePixels: 1 << 20}, "r"},
		{"rotation bounding box", chain(Node{ID: "r", Type: "rotate", Fields: raw(map[string]any{"angle": 45})}), Limits{MaxIntermediatePixels: 15000}, "r"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Execute(context.Background(), c.g, nil, load, c.lim, nil)
			var ge *Error
			if !errors.Is(err, ErrLimit) || !errors.As(err, &ge) || ge.Node != c.node {
				t.Fatalf("Execute = %v, want a limit error on node %s", err, c.node)
			}
		})
	}
	t.Run("within limits", func(t *testing.T) {
		g := chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 50, "height": 50})})
		// in (10000 px) is still held while r (2500 px) is made.
		if _, err := Execute(context.Background(), g, nil, load, Limits{MaxOutputPixels: 2500, MaxIntermediatePixels: 12500}, nil); err != nil {
			t.Fatalf("Execute: %v", err)
		}
	})
}

func TestExecute_edgeFedFieldOutOfRangeFailsClearly(t *testing.T) {
	g := chain(Node{ID: "m", Type: "measure"}, Node{ID: "c", Type: "crop", Fields: raw(map[string]any{"height": 1})})
	// m.width feeds crop.width; the image flows in → crop directly.
	g.Edges = []Edge{{From: "in.image", To: "m.image"}, {From: "in.image", To: "c.image"}, {From: "m.width", To: "c.width"}, {From: "c.image", To: "out.image"}}
	g.Nodes[2].Fields = raw(map[string]any{"height": 1})
	if _, err := Execute(context.Background(), g, nil, loaderOf(map[string]image.Image{imgID: testImage(20, 10)}), Limits{}, nil); err != nil {
		t.Fatalf("Execute in range: %v", err)
	}
	crop := g.Nodes[2]
	crop.Fields["x"] = []byte("30")
	_, err := Execute(context.Background(), g, nil, loaderOf(map[string]image.Image{imgID: testImage(20, 10)}), Limits{}, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.Node != "c" {
		t.Fatalf("crop outside the image: %v, want an *Error on node c", err)
	}
}

func TestExecute_cancellationIsCheckedBetweenNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := chain(Node{ID: "g", Type: "grayscale"}, Node{ID: "b", Type: "blur"})
	var ran []string
	_, err := Execute(ctx, g, nil, loaderOf(map[string]image.Image{imgID: testImage(20, 20)}), Limits{}, func(_, _ int, node string) {
		ran = append(ran, node)
		if node == "g" {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v, want context.Canceled", err)
	}
	if len(ran) != 2 || ran[1] != "g" {
		t.Fatalf("nodes run %v; want in, g and nothing after the cancellation", ran)
	}
}

func TestExecute_loaderErrorIsReturned(t *testing.T) {
	_, err := Execute(context.Background(), chain(), nil, loaderOf(nil), Limits{}, nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("node in")) {
		t.Fatalf("Execute = %v, want the loader's error naming node in", err)
	}
}

func TestExecute_withoutALoaderFailsClearly(t *testing.T) {
	_, err := Execute(context.Background(), chain(), nil, nil, Limits{}, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.Node != "in" {
		t.Fatalf("Execute without a loader = %v, want an *Error on node in", err)
	}
}
