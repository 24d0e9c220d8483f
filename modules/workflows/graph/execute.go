package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"

	"github.com/google/uuid"
)

// ImageLoader returns a decoded input image. The queue's loader read-checks the id as the
// requester before opening anything.
type ImageLoader func(ctx context.Context, id uuid.UUID) (image.Image, error)

// Limits stop a runaway graph. MaxOutputPixels bounds the sum of the output images' pixels;
// MaxIntermediatePixels bounds any one image a node makes and the pixels held at once by images
// still waiting for a consumer. Zero means unlimited.
type Limits struct {
	MaxOutputPixels, MaxIntermediatePixels int64
}

// Progress is called after each node: done of total nodes have run, the last being nodeID.
type Progress func(done, total int, nodeID string)

// Output is an image that reached an output node.
type Output struct {
	Node  string
	Image image.Image
}

// ErrLimit is matched (errors.Is) by an *Error caused by a Limits bound.
var ErrLimit = errors.New("graph limit exceeded")

// limitErr reports an exceeded bound: errors.As finds an *Error, errors.Is matches ErrLimit.
func limitErr(node, field, format string, a ...any) error {
	return &limitError{err: errf(node, field, format, a...)}
}

type limitError struct{ err *Error }

func (e *limitError) Error() string        { return e.err.Error() }
func (e *limitError) Is(target error) bool { return target == ErrLimit }
func (e *limitError) Unwrap() error        { return e.err }

// Execute runs a validated graph with field values: nodes in topological order, the context
// checked before each node. Images are released as soon as their last consumer has run.
func Execute(ctx context.Context, g *Graph, values map[string]json.RawMessage, load ImageLoader, lim Limits, progress Progress) ([]Output, error) {
	ix, err := g.index()
	if err != nil {
		return nil, err
	}
	vals, err := ix.values(g, values)
	if err != nil {
		return nil, err
	}
	r := run{g: g, ix: ix, vals: vals, lim: lim, load: load,
		results: make(map[ref]any), pending: make(map[string]int, len(g.Nodes))}
	for id, es := range ix.consumer {
		r.pending[id] = len(es)
	}
	for k, p := range ix.order {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("workflow stopped before node %s: %w", g.Nodes[p].ID, err)
		}
		if err := r.node(ctx, p); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(k+1, len(ix.order), g.Nodes[p].ID)
		}
	}
	return r.outputs, nil
}

type run struct {
	g       *Graph
	ix      *index
	vals    map[ref]any
	lim     Limits
	load    ImageLoader
	results map[ref]any    // outputs still waiting for a consumer
	pending map[string]int // node id → edges leaving it whose consumer has not run
	live    int64          // pixels held in results
	outPix  int64
	outputs []Output
}

func pixels(img image.Image) int64 {
	b := img.Bounds()
	return int64(b.Dx()) * int64(b.Dy())
}

func (r *run) node(ctx context.Context, p int) error {
	n := r.g.Nodes[p]
	t := r.ix.types[p]
	at := fmt.Sprintf("nodes[%d]", p)
	a := r.ix.args(r.g, p, r.vals)
	in := make(map[string]any, len(t.Inputs))
	for _, port := range t.Inputs {
		if e, ok := r.ix.incoming[ref{n.ID, port.Name}]; ok {
			from, _ := parseRef(r.g.Edges[e].From)
			in[port.Name] = r.results[from]
		}
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		e, ok := r.ix.incoming[ref{n.ID, f.Name}]
		if !ok {
			continue
		}
		from, _ := parseRef(r.g.Edges[e].From)
		v, _ := r.results[from].(int64)
		if err := inRange(f, float64(v)); err != nil {
			return errf(n.ID, at+".fields."+f.Name, "value %d from %s %s", v, from, err)
		}
		if f.Type == TypeFloat {
			a[f.Name] = float64(v)
		} else {
			a[f.Name] = v
		}
	}

	var out map[string]any
	switch n.Type {
	case "image_input":
		img, err := r.loadImage(ctx, n, at, a)
		if err != nil {
			return err
		}
		out = one(img)
	case "output":
		img := imageOf(in, "image")
		r.outPix += pixels(img)
		if r.lim.MaxOutputPixels > 0 && r.outPix > r.lim.MaxOutputPixels {
			return limitErr(n.ID, at, "the outputs reach %d pixels, over the limit of %d", r.outPix, r.lim.MaxOutputPixels)
		}
		r.outputs = append(r.outputs, Output{Node: n.ID, Image: img})
	default:
		if n.Type == "resize" {
			if err := checkResize(a); err != nil {
				return errf(n.ID, at+".fields.width", "%s", err)
			}
		}
		if err := r.checkSize(n, at, t, in, a); err != nil {
			return err
		}
		var err error
		if out, err = t.run(in, a); err != nil {
			return errf(n.ID, at, "%s", err)
		}
	}
	for name, v := range out {
		if len(r.ix.consumer[n.ID]) == 0 {
			break
		}
		r.results[ref{n.ID, name}] = v
		if img, ok := v.(image.Image); ok {
			r.live += pixels(img)
		}
	}
	r.release(n)
	return nil
}

func (r *run) loadImage(ctx context.Context, n Node, at string, a args) (image.Image, error) {
	id, ok := a["image_id"].(uuid.UUID)
	if !ok {
		return nil, errf(n.ID, at+".fields.image_id", "no image id")
	}
	if r.load == nil {
		return nil, errf(n.ID, at, "no image loader to read image %s", id)
	}
	img, err := r.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("node %s: load image %s: %w", n.ID, id, err)
	}
	if px := pixels(img); r.lim.MaxIntermediatePixels > 0 && px+r.live > r.lim.MaxIntermediatePixels {
		return nil, limitErr(n.ID, at, "input image of %d pixels exceeds the intermediate limit of %d (%d held)", px, r.lim.MaxIntermediatePixels, r.live)
	}
	return img, nil
}

// checkSize predicts the node's image output and refuses it before allocation when it would
// exceed the intermediate limit.
func (r *run) checkSize(n Node, at string, t *NodeType, in map[string]any, a args) error {
	if r.lim.MaxIntermediatePixels <= 0 || t.output("image") == nil {
		return nil
	}
	var w, h int64
	if t.size != nil {
		w, h = t.size(in, a)
	} else if img := imageOf(in, t.Inputs[0].Name); img != nil {
		b := img.Bounds()
		w, h = int64(b.Dx()), int64(b.Dy())
	}
	if px := w * h; px+r.live > r.lim.MaxIntermediatePixels {
		return limitErr(n.ID, at, "a %dx%d result with %d pixels held exceeds the intermediate limit of %d pixels", w, h, r.live, r.lim.MaxIntermediatePixels)
	}
	return nil
}

// release drops the inputs of node n whose producers have no consumer left.
func (r *run) release(n Node) {
	t := r.ix.types[r.ix.byID[n.ID]]
	names := make([]string, 0, len(t.Inputs)+len(t.Fields))
	for _, p := range t.Inputs {
		names = append(names, p.Name)
	}
	for _, f := range t.Fields {
		names = append(names, f.Name)
	}
	for _, name := range names {
		e, ok := r.ix.incoming[ref{n.ID, name}]
		if !ok {
			continue
		}
		from, _ := parseRef(r.g.Edges[e].From)
		r.pending[from.node]--
		if r.pending[from.node] > 0 {
			continue
		}
		for k, v := range r.results {
			if k.node != from.node {
				continue
			}
			if img, ok := v.(image.Image); ok {
				r.live -= pixels(img)
			}
			delete(r.results, k)
		}
	}
}
