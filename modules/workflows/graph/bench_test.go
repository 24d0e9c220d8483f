package graph

import (
	"context"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/disintegration/imaging"
	"github.com/google/uuid"
)

// graph200 is a 200-node graph: one input, 198 processing nodes (a chain of resize, adjust,
// blur, flip and composite nodes whose composites reach back to the input), one output.
func graph200() *Graph {
	g := &Graph{Nodes: []Node{{ID: "in", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})}}}
	prev := "in"
	for i := 0; i < 198; i++ {
		id := fmt.Sprintf("n%03d", i)
		var n Node
		switch i % 5 {
		case 0:
			n = Node{ID: id, Type: "resize", Fields: raw(map[string]any{"width": 256, "height": 256, "filter": "linear"})}
		case 1:
			n = Node{ID: id, Type: "adjust", Fields: raw(map[string]any{"brightness": 5, "gamma": 1.1})}
		case 2:
			n = Node{ID: id, Type: "blur", Fields: raw(map[string]any{"sigma": 0.5})}
		case 3:
			n = Node{ID: id, Type: "flip", Fields: raw(map[string]any{"direction": "vertical"})}
		case 4:
			n = Node{ID: id, Type: "composite", Fields: raw(map[string]any{"x": 3, "y": 4, "opacity": 0.25})}
		}
		g.Nodes = append(g.Nodes, n)
		if n.Type == "composite" {
			g.Edges = append(g.Edges, Edge{From: prev + ".image", To: id + ".base"}, Edge{From: "in.image", To: id + ".overlay"})
		} else {
			g.Edges = append(g.Edges, Edge{From: prev + ".image", To: id + ".image"})
		}
		prev = id
	}
	g.Nodes = append(g.Nodes, Node{ID: "out", Type: "output"})
	g.Edges = append(g.Edges, Edge{From: prev + ".image", To: "out.image"})
	g.Exposed = []string{"n000.width", "n001.brightness"}
	return g
}

// BenchmarkValidate_200Nodes: target ≤ 1 ms per validation.
func BenchmarkValidate_200Nodes(b *testing.B) {
	g := graph200()
	if len(g.Nodes) != 200 {
		b.Fatalf("%d nodes", len(g.Nodes))
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// The resize pair: "resize 4096² → 512²" through Execute against imaging.Resize directly
// (target: Execute ≥ 90% of the library's throughput, i.e. its ns/op ≤ 111% of Direct's).
var big = testImage(4096, 4096)

func BenchmarkResize4096To512_Direct(b *testing.B) {
	for b.Loop() {
		_ = imaging.Resize(big, 512, 512, imaging.Lanczos)
	}
}

func BenchmarkResize4096To512_Execute(b *testing.B) {
	g := chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 512, "height": 512})})
	load := func(context.Context, uuid.UUID) (image.Image, error) { return big, nil }
	lim := Limits{MaxOutputPixels: 512 * 512, MaxIntermediatePixels: 4096*4096 + 512*512}
	for b.Loop() {
		outs, err := Execute(context.Background(), g, nil, load, lim, nil)
		if err != nil || len(outs) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkResize4096To512_Ratio interleaves the two in one loop, so that both see the same
// load on shared cores, and reports Execute's throughput as a percentage of the library's
// (target ≥ 90).
func BenchmarkResize4096To512_Ratio(b *testing.B) {
	g := chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 512, "height": 512})})
	load := func(context.Context, uuid.UUID) (image.Image, error) { return big, nil }
	lim := Limits{MaxOutputPixels: 512 * 512, MaxIntermediatePixels: 4096*4096 + 512*512}
	var direct, exec time.Duration
	runDirect := func() {
		t0 := time.Now()
		_ = imaging.Resize(big, 512, 512, imaging.Lanczos)
		direct += time.Since(t0)
	}
	runExecute := func() {
		t0 := time.Now()
		if _, err := Execute(context.Background(), g, nil, load, lim, nil); err != nil {
			b.Fatal(err)
		}
		exec += time.Since(t0)
	}
	i := 0
	for b.Loop() {
		// Alternate which goes first, so that neither always inherits the other's garbage.
		if i%2 == 0 {
			runDirect()
			runExecute()
		} else {
			runExecute()
			runDirect()
		}
		i++
	}
	b.ReportMetric(float64(direct.Milliseconds())/float64(b.N), "direct-ms/op")
	b.ReportMetric(float64(exec.Milliseconds())/float64(b.N), "execute-ms/op")
	b.ReportMetric(100*float64(direct)/float64(exec), "execute-%-of-direct")
}
