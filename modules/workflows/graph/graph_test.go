package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const imgID = "7a0c1c6e-4c34-4f0e-9d55-2f1c3a9d2b11"

func TestParse_validGraphs(t *testing.T) {
	for name, src := range map[string]string{
		"thumbnail": `{"nodes":[{"id":"in","type":"image_input","fields":{"image_id":"` + imgID + `"}},
			{"id":"r","type":"resize","fields":{"width":512}},{"id":"out","type":"output"}],
			"edges":[{"from":"in.image","to":"r.image"},{"from":"r.image","to":"out.image"}],"exposed":[]}`,
		"exposed required image id": `{"nodes":[{"id":"in","type":"image_input"},{"id":"out","type":"output"}],
			"edges":[{"from":"in.image","to":"out.image"}],"exposed":["in.image_id"]}`,
		"measured width feeds resize": `{"nodes":[{"id":"in","type":"image_input","fields":{"image_id":"` + imgID + `"}},
			{"id":"m","type":"measure"},{"id":"r","type":"resize","fields":{"width":0,"height":0}},{"id":"out","type":"output"}],
			"edges":[{"from":"in.image","to":"m.image"},{"from":"in.image","to":"r.image"},{"from":"m.height","to":"r.width"},{"from":"r.image","to":"out.image"}],"exposed":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(src)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

// chain builds in → (middle nodes in order) → out with literal fields.
func chain(middle ...Node) *Graph {
	g := &Graph{Nodes: []Node{{ID: "in", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})}}}
	prev := "in"
	for _, n := range middle {
		g.Nodes = append(g.Nodes, n)
		g.Edges = append(g.Edges, Edge{From: prev + ".image", To: n.ID + ".image"})
		prev = n.ID
	}
	g.Nodes = append(g.Nodes, Node{ID: "out", Type: "output"})
	g.Edges = append(g.Edges, Edge{From: prev + ".image", To: "out.image"})
	return g
}

func raw(m map[string]any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	return out
}

func TestValidate_errorsNameTheNodeAndField(t *testing.T) {
	bigNodes := chain()
	for i := 0; i < MaxNodes; i++ {
		bigNodes.Nodes = append(bigNodes.Nodes, Node{ID: fmt.Sprintf("g%d", i), Type: "grayscale"})
	}
	bigEdges := chain()
	for i := 0; i <= MaxEdges; i++ {
		bigEdges.Edges = append(bigEdges.Edges, Edge{From: "in.image", To: "out.image"})
	}
	cases := []struct {
		name        string
		g           *Graph
		node, field string
		reason      string
	}{
		{"empty graph", &Graph{}, "", "nodes", "at least one node"},
		{"no output node", &Graph{Nodes: []Node{{ID: "g", Type: "grayscale"}}}, "", "nodes", "output"},
		{"too many nodes", bigNodes, "", "nodes", "at most"},
		{"too many edges", bigEdges, "", "edges", "at most"},
		{"unknown node type", chain(Node{ID: "x", Type: "sepia"}), "x", "nodes[1].type", "unknown node type"},
		{"bad node id", chain(Node{ID: "a.b", Type: "grayscale"}), "a.b", "nodes[1].id", "node id"},
		{"duplicate node id", chain(Node{ID: "in", Type: "grayscale"}), "in", "nodes[1].id", "duplicate"},
		{"unknown field", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"depth": 3})}), "r", "nodes[1].fields.depth", "unknown field"},
		{"width out of range", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 99999})}), "r", "nodes[1].fields.width", "between 0 and 16384"},
		{"width not an integer", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 1.5})}), "r", "nodes[1].fields.width", "integer"},
		{"width a string", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": "10"})}), "r", "nodes[1].fields.width", "number"},
		{"both sides zero", chain(Node{ID: "r", Type: "resize", Fields: raw(map[string]any{"width": 0, "height": 0})}), "r", "nodes[1].fields.width", "positive"},
		{"opacity out of range", chain(Node{ID: "a", Type: "adjust", Fields: raw(map[string]any{"gamma": 0})}), "a", "nodes[1].fields.gamma", "between"},
		{"enum value unknown", chain(Node{ID: "f", Type: "flip", Fields: raw(map[string]any{"direction": "diagonal"})}), "f", "nodes[1].fields.direction", "one of"},
		{"image id not a uuid", &Graph{Nodes: []Node{{ID: "in", Type: "image_input", Fields: raw(map[string]any{"image_id": "x"})}, {ID: "out", Type: "output"}}, Edges: []Edge{{From: "in.image", To: "out.image"}}}, "in", "nodes[0].fields.image_id", "UUID"},
		{"missing required field", chain(Node{ID: "c", Type: "crop", Fields: raw(map[string]any{"width": 10})}), "c", "nodes[1].fields.height", "required field"},
		{"missing required input", &Graph{Nodes: []Node{{ID: "out", Type: "output"}}}, "out", "nodes[0].inputs.image", "required input"},
		{"missing image id", &Graph{Nodes: []Node{{ID: "in", Type: "image_input"}, {ID: "out", Type: "output"}}, Edges: []Edge{{From: "in.image", To: "out.image"}}}, "in", "nodes[0].fields.image_id", "required field"},
		{"edge from unknown node", func() *Graph {
			g := chain()
			g.Edges = append(g.Edges, Edge{From: "zz.image", To: "out.image"})
			return g
		}(), "zz", "edges[1].from", "no node"},
		{"edge to unknown input", func() *Graph {
			g := chain()
			g.Edges = append(g.Edges, Edge{From: "in.image", To: "out.mask"})
			return g
		}(), "out", "edges[1].to", "no input"},
		{"edge from unknown output", func() *Graph {
			g := chain()
			g.Edges = append(g.Edges, Edge{From: "in.mask", To: "out.image"})
			return g
		}(), "in", "edges[1].from", "no output"},
		{"edge malformed", func() *Graph { g := chain(); g.Edges = append(g.Edges, Edge{From: "in", To: "out.image"}); return g }(), "", "edges[1].from", "NODE.OUTPUT"},
		{"two edges into one input", func() *Graph {
			g := chain()
			g.Edges = append(g.Edges, Edge{From: "in.image", To: "out.image"})
			return g
		}(), "out", "edges[1].to", "already has an edge"},
		{"int output into image input", func() *Graph {
			g := chain(Node{ID: "m", Type: "measure"})
			g.Edges[1] = Edge{From: "m.width", To: "out.image"}
			return g
		}(), "out", "edges[1].to", "type mismatch"},
		{"image output into int field", func() *Graph {
			g := chain(Node{ID: "r", Type: "resize"})
			g.Edges = append(g.Edges, Edge{From: "in.image", To: "r.width"})
			return g
		}(), "r", "edges[2].to", "type mismatch"},
		{"self loop", func() *Graph {
			g := chain(Node{ID: "c", Type: "composite"})
			g.Edges[0].To = "c.base"
			g.Edges = append(g.Edges, Edge{From: "c.image", To: "c.overlay"})
			return g
		}(), "c", "edges[2].to", "cycle"},
		{"cycle through two nodes", &Graph{
			Nodes: []Node{{ID: "in", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})},
				{ID: "a", Type: "composite"}, {ID: "b", Type: "blur"}, {ID: "out", Type: "output"}},
			Edges: []Edge{{From: "in.image", To: "a.base"}, {From: "b.image", To: "a.overlay"}, {From: "a.image", To: "b.image"}, {From: "a.image", To: "out.image"}},
		}, "a", "edges[1]", "cycle"},
		{"exposed unknown node", func() *Graph { g := chain(); g.Exposed = []string{"zz.width"}; return g }(), "zz", "exposed[0]", "no node"},
		{"exposed unknown field", func() *Graph { g := chain(); g.Exposed = []string{"in.width"}; return g }(), "in", "exposed[0]", "no field"},
		{"exposed twice", func() *Graph { g := chain(); g.Exposed = []string{"in.image_id", "in.image_id"}; return g }(), "in", "exposed[1]", "twice"},
		{"exposed malformed", func() *Graph { g := chain(); g.Exposed = []string{"in"}; return g }(), "", "exposed[0]", "NODE.FIELD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.g.Validate()
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("Validate = %v, want *Error", err)
			}
			if ge.Node != c.node || ge.Field != c.field || !strings.Contains(ge.Reason, c.reason) {
				t.Fatalf("got node=%q field=%q reason=%q; want node=%q field=%q reason~%q", ge.Node, ge.Field, ge.Reason, c.node, c.field, c.reason)
			}
		})
	}
}

func TestParse_rejectsUnknownJSONAndOversize(t *testing.T) {
	for name, src := range map[string]string{
		"unknown top-level field": `{"nodes":[],"edges":[],"exposed":[],"extra":1}`,
		"unknown node field":      `{"nodes":[{"id":"a","type":"output","colour":"red"}],"edges":[],"exposed":[]}`,
		"trailing data":           `{"nodes":[],"edges":[],"exposed":[]} {}`,
		"too large":               `{"nodes":[],"edges":[],"exposed":["` + strings.Repeat("x", MaxGraphBytes) + `"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(src))
			var ge *Error
			if !errors.As(err, &ge) || ge.Field != "graph" {
				t.Fatalf("Parse = %v, want an *Error on field graph", err)
			}
		})
	}
}

func TestValidateValues(t *testing.T) {
	g := chain(Node{ID: "r", Type: "resize"})
	g.Nodes[0].Fields = nil
	g.Exposed = []string{"in.image_id", "r.width"}
	cases := []struct {
		name   string
		values map[string]any
		field  string
	}{
		{"all good", map[string]any{"in.image_id": imgID, "r.width": 100}, ""},
		{"required exposed value missing", map[string]any{"r.width": 100}, "field_values.in.image_id"},
		{"not exposed", map[string]any{"in.image_id": imgID, "r.height": 100}, "field_values.r.height"},
		{"out of range", map[string]any{"in.image_id": imgID, "r.width": -1}, "field_values.r.width"},
		{"wrong type", map[string]any{"in.image_id": 7}, "field_values.in.image_id"},
		{"malformed key", map[string]any{"in.image_id": imgID, "width": 1}, "field_values.width"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := g.ValidateValues(raw(c.values))
			if c.field == "" {
				if err != nil {
					t.Fatalf("ValidateValues: %v", err)
				}
				return
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Field != c.field {
				t.Fatalf("ValidateValues = %v, want field %s", err, c.field)
			}
		})
	}
}

func TestImageIDs_afterValuesApplied(t *testing.T) {
	other := "0b8a3f57-95f5-4c1e-8d1f-3d2c1b0a9e88"
	g := &Graph{
		Nodes: []Node{
			{ID: "a", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})},
			{ID: "b", Type: "image_input", Fields: raw(map[string]any{"image_id": imgID})},
			{ID: "c", Type: "composite"}, {ID: "out", Type: "output"},
		},
		Edges:   []Edge{{From: "a.image", To: "c.base"}, {From: "b.image", To: "c.overlay"}, {From: "c.image", To: "out.image"}},
		Exposed: []string{"b.image_id"},
	}
	ids, err := g.ImageIDs(nil)
	if err != nil || len(ids) != 1 || ids[0].String() != imgID {
		t.Fatalf("ImageIDs(nil) = %v, %v; want [%s] (duplicates folded)", ids, err, imgID)
	}
	ids, err = g.ImageIDs(raw(map[string]any{"b.image_id": other}))
	if err != nil || len(ids) != 2 || ids[0].String() != imgID || ids[1].String() != other {
		t.Fatalf("ImageIDs = %v, %v; want [%s %s]", ids, err, imgID, other)
	}
}

func TestTypes_listsTheRegistry(t *testing.T) {
	want := []string{"adjust", "blur", "composite", "crop", "flip", "grayscale", "image_input", "measure", "output", "resize", "rotate", "sharpen"}
	ts := Types()
	if len(ts) != len(want) {
		t.Fatalf("%d types, want %d", len(ts), len(want))
	}
	for i, nt := range ts {
		if nt.Type != want[i] {
			t.Fatalf("type %d = %s, want %s", i, nt.Type, want[i])
		}
	}
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"type":"resize"`, `"name":"width","type":"int","default":512,"min":0,"max":16384,"required":false`, `"name":"image_id","type":"uuid","required":true`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("registry JSON lacks %s", s)
		}
	}
}
