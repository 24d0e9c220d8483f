// Package graph is the workflow graph: the registry of node types (code, not data), the graph
// model, its validation and an executor that runs a validated graph on images. It knows nothing
// of HTTP or the database: images come in through an ImageLoader and go out as Outputs.
package graph

import (
	"image"
	"sort"
)

// Port and field value types.
const (
	TypeImage = "image" // a port carrying an image.Image
	TypeInt   = "int"   // an integer (int64 at run time)
	TypeFloat = "float" // a number (float64 at run time)
	TypeEnum  = "enum"  // one string of a fixed set
	TypeUUID  = "uuid"  // an id, e.g. an image id
)

// Port is a typed input or output of a node type.
type Port struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
}

// FieldSpec is a typed, bounded field of a node type. An int or float field may also be fed by
// an edge from an output of the same type.
type FieldSpec struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Default  any      `json:"default,omitempty"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Enum     []string `json:"enum,omitempty"`
	Required bool     `json:"required"`
}

// NodeType describes one node type for clients (GET /api/v1/workflow-node-types) and for the
// validator; run is what the executor calls.
type NodeType struct {
	Type    string      `json:"type"`
	Inputs  []Port      `json:"inputs"`
	Outputs []Port      `json:"outputs"`
	Fields  []FieldSpec `json:"fields"`

	run  runFunc
	size sizeFunc
}

// runFunc computes a node's outputs from its inputs (by port name) and resolved fields.
type runFunc func(in map[string]any, f args) (map[string]any, error)

// sizeFunc predicts the size of a node's image output before it runs, so that a limit is
// enforced before the memory is allocated. Nil means "the size of the first image input".
type sizeFunc func(in map[string]any, f args) (w, h int64)

func (t *NodeType) input(name string) *Port {
	for i := range t.Inputs {
		if t.Inputs[i].Name == name {
			return &t.Inputs[i]
		}
	}
	return nil
}

func (t *NodeType) output(name string) *Port {
	for i := range t.Outputs {
		if t.Outputs[i].Name == name {
			return &t.Outputs[i]
		}
	}
	return nil
}

func (t *NodeType) field(name string) *FieldSpec {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

func num(v float64) *float64 { return &v }

// MaxSide bounds every width/height field: 16384 px.
const MaxSide = 16384

var registry = map[string]*NodeType{}

func register(t *NodeType) { registry[t.Type] = t }

// Types lists the registry, sorted by type name. The slices are copies.
func Types() []NodeType {
	out := make([]NodeType, 0, len(registry))
	for _, t := range registry {
		c := NodeType{Type: t.Type}
		c.Inputs = append([]Port{}, t.Inputs...)
		c.Outputs = append([]Port{}, t.Outputs...)
		c.Fields = append([]FieldSpec{}, t.Fields...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// Lookup returns the node type with that name.
func Lookup(name string) (NodeType, bool) {
	t, ok := registry[name]
	if !ok {
		return NodeType{}, false
	}
	return *t, true
}

var imageIn = []Port{{Name: "image", Type: TypeImage, Required: true}}
var imageOut = []Port{{Name: "image", Type: TypeImage}}

func sideField(name string, def int64, min float64) FieldSpec {
	return FieldSpec{Name: name, Type: TypeInt, Default: def, Min: num(min), Max: num(MaxSide)}
}

func init() {
	register(&NodeType{
		Type:    "image_input",
		Outputs: imageOut,
		Fields:  []FieldSpec{{Name: "image_id", Type: TypeUUID, Required: true}},
		run:     nil, // the executor loads the image itself
	})
	register(&NodeType{
		Type: "resize", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{
			sideField("width", 512, 0), sideField("height", 0, 0),
			{Name: "filter", Type: TypeEnum, Default: "lanczos", Enum: filterNames()},
		},
		run: runResize, size: sizeResize,
	})
	register(&NodeType{
		Type: "crop", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{
			sideField("x", 0, 0), sideField("y", 0, 0),
			{Name: "width", Type: TypeInt, Min: num(1), Max: num(MaxSide), Required: true},
			{Name: "height", Type: TypeInt, Min: num(1), Max: num(MaxSide), Required: true},
		},
		run: runCrop, size: sizeCrop,
	})
	register(&NodeType{
		Type: "rotate", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{{Name: "angle", Type: TypeFloat, Default: 90.0, Min: num(-360), Max: num(360)}},
		run:    runRotate, size: sizeRotate,
	})
	register(&NodeType{
		Type: "flip", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{{Name: "direction", Type: TypeEnum, Default: "horizontal", Enum: []string{"horizontal", "vertical"}}},
		run:    runFlip,
	})
	register(&NodeType{
		Type: "adjust", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{
			{Name: "brightness", Type: TypeFloat, Default: 0.0, Min: num(-100), Max: num(100)},
			{Name: "contrast", Type: TypeFloat, Default: 0.0, Min: num(-100), Max: num(100)},
			{Name: "saturation", Type: TypeFloat, Default: 0.0, Min: num(-100), Max: num(500)},
			{Name: "gamma", Type: TypeFloat, Default: 1.0, Min: num(0.01), Max: num(10)},
		},
		run: runAdjust,
	})
	register(&NodeType{
		Type: "blur", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{{Name: "sigma", Type: TypeFloat, Default: 2.0, Min: num(0.1), Max: num(100)}},
		run:    runBlur,
	})
	register(&NodeType{
		Type: "sharpen", Inputs: imageIn, Outputs: imageOut,
		Fields: []FieldSpec{{Name: "sigma", Type: TypeFloat, Default: 1.0, Min: num(0.1), Max: num(100)}},
		run:    runSharpen,
	})
	register(&NodeType{
		Type: "grayscale", Inputs: imageIn, Outputs: imageOut, Fields: []FieldSpec{},
		run: runGrayscale,
	})
	register(&NodeType{
		Type: "composite",
		Inputs: []Port{
			{Name: "base", Type: TypeImage, Required: true},
			{Name: "overlay", Type: TypeImage, Required: true},
		},
		Outputs: imageOut,
		Fields: []FieldSpec{
			{Name: "x", Type: TypeInt, Default: int64(0), Min: num(-MaxSide), Max: num(MaxSide)},
			{Name: "y", Type: TypeInt, Default: int64(0), Min: num(-MaxSide), Max: num(MaxSide)},
			{Name: "opacity", Type: TypeFloat, Default: 1.0, Min: num(0), Max: num(1)},
		},
		run: runComposite,
	})
	register(&NodeType{
		Type:    "measure",
		Inputs:  imageIn,
		Outputs: []Port{{Name: "width", Type: TypeInt}, {Name: "height", Type: TypeInt}},
		Fields:  []FieldSpec{},
		run:     runMeasure,
	})
	register(&NodeType{
		Type: "output", Inputs: imageIn, Outputs: []Port{}, Fields: []FieldSpec{},
		run: nil, // the executor collects the input
	})
}

// imageOf returns the image on an input port (validation guarantees the type).
func imageOf(in map[string]any, port string) image.Image {
	img, _ := in[port].(image.Image)
	return img
}
