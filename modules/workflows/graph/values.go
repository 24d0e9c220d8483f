package graph

import (
	"encoding/json"
	"sort"

	"github.com/google/uuid"
)

// ValidateValues checks field values given at enqueue time, keyed "NODE.FIELD": only exposed
// fields may be set, each value has its field's type and range, and every required exposed field
// without a literal in the graph gets one.
func (g *Graph) ValidateValues(values map[string]json.RawMessage) error {
	ix, err := g.index()
	if err != nil {
		return err
	}
	_, err = ix.values(g, values)
	return err
}

// values decodes field values into a map by reference.
func (ix *index) values(g *Graph, values map[string]json.RawMessage) (map[ref]any, error) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first error reported does not depend on map order
	out := make(map[ref]any, len(values))
	for _, k := range keys {
		at := "field_values." + k
		r, ok := parseRef(k)
		if !ok {
			return nil, errf("", at, "expected NODE.FIELD")
		}
		if _, ok := ix.exposed[r]; !ok {
			return nil, errf(r.node, at, "not an exposed field of this workflow")
		}
		spec := ix.types[ix.byID[r.node]].field(r.name)
		v, err := decodeField(spec, values[k])
		if err != nil {
			return nil, errf(r.node, at, "%s", err)
		}
		out[r] = v
	}
	for r := range ix.exposed {
		n := g.Nodes[ix.byID[r.node]]
		spec := ix.types[ix.byID[r.node]].field(r.name)
		_, literal := n.Fields[r.name]
		if _, given := out[r]; spec.Required && !literal && !given {
			return nil, errf(r.node, "field_values."+r.String(), "a value is required")
		}
	}
	return out, nil
}

// args resolves node p's fields: the type's default, then the graph's literal, then the
// enqueue-time value. Edge-fed fields are filled in by the executor.
func (ix *index) args(g *Graph, p int, vals map[ref]any) args {
	n := g.Nodes[p]
	t := ix.types[p]
	a := make(args, len(t.Fields))
	for i := range t.Fields {
		f := &t.Fields[i]
		if f.Default != nil {
			a[f.Name] = f.Default
		}
		if raw, ok := n.Fields[f.Name]; ok {
			if v, err := decodeField(f, raw); err == nil {
				a[f.Name] = v
			}
		}
		if v, ok := vals[ref{n.ID, f.Name}]; ok {
			a[f.Name] = v
		}
	}
	return a
}

// ImageIDs lists, without duplicates and in graph order, the image ids the image_input nodes
// read once values are applied. The queue read-checks every one as the requester.
func (g *Graph) ImageIDs(values map[string]json.RawMessage) ([]uuid.UUID, error) {
	ix, err := g.index()
	if err != nil {
		return nil, err
	}
	vals, err := ix.values(g, values)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for p, n := range g.Nodes {
		if n.Type != "image_input" {
			continue
		}
		id, ok := ix.args(g, p, vals)["image_id"].(uuid.UUID)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}
