package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Limits on the shape of a graph.
const (
	MaxGraphBytes = 1 << 20 // a stored graph's JSON
	MaxNodes      = 256
	MaxEdges      = 1024
	MaxExposed    = 64
	MaxNodeIDLen  = 64
)

// Graph is a workflow's graph: typed nodes, edges from an output to an input (or a numeric
// field), and the fields a user fills in when enqueuing.
type Graph struct {
	Nodes   []Node   `json:"nodes"`
	Edges   []Edge   `json:"edges"`
	Exposed []string `json:"exposed"`
}

// Node is one operation with its literal field values.
type Node struct {
	ID     string                     `json:"id"`
	Type   string                     `json:"type"`
	Fields map[string]json.RawMessage `json:"fields,omitempty"`
}

// Edge connects "NODE.OUTPUT" to "NODE.INPUT".
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Error is a graph that fails validation or execution; Field locates the part at fault
// ("nodes[3].fields.width", "edges[2].to", "exposed[0]", "field_values.n1.width").
type Error struct {
	Node, Field, Reason string
}

func (e *Error) Error() string {
	if e.Node != "" {
		return fmt.Sprintf("%s (node %s): %s", e.Field, e.Node, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

func errf(node, field, format string, a ...any) *Error {
	return &Error{Node: node, Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Parse decodes a graph strictly (unknown JSON fields rejected, size bounded) and validates it.
func Parse(raw []byte) (*Graph, error) {
	if len(raw) > MaxGraphBytes {
		return nil, errf("", "graph", "the graph is larger than %d bytes", MaxGraphBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var g Graph
	if err := dec.Decode(&g); err != nil {
		return nil, errf("", "graph", "not a valid graph: %s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errf("", "graph", "unexpected data after the graph")
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

func jsonReason(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}

// ref is a parsed "NODE.NAME" reference.
type ref struct{ node, name string }

func parseRef(s string) (ref, bool) {
	node, name, ok := strings.Cut(s, ".")
	if !ok || node == "" || name == "" || strings.Contains(name, ".") {
		return ref{}, false
	}
	return ref{node, name}, true
}

func (r ref) String() string { return r.node + "." + r.name }

func validNodeID(id string) bool {
	if id == "" || len(id) > MaxNodeIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// index is what validation learns about a graph, reused by the executor.
type index struct {
	byID     map[string]int       // node id → position
	types    []*NodeType          // by node position
	incoming map[ref]int          // input or field → edge position
	exposed  map[ref]int          // exposed field → position in Exposed
	order    []int                // node positions in topological order
	consumer map[string][]edgeRef // node id → edges leaving it
}

type edgeRef struct{ from, to ref }

// Validate checks every rule: node ids, known types and fields, field values in range, edges
// between existing ports of the same type, at most one edge into an input, required inputs and
// fields present, exposed references, no cycle, and the count limits.
func (g *Graph) Validate() error {
	_, err := g.index()
	return err
}

func (g *Graph) index() (*index, error) {
	switch {
	case len(g.Nodes) == 0:
		return nil, errf("", "nodes", "a graph needs at least one node")
	case len(g.Nodes) > MaxNodes:
		return nil, errf("", "nodes", "at most %d nodes", MaxNodes)
	case len(g.Edges) > MaxEdges:
		return nil, errf("", "edges", "at most %d edges", MaxEdges)
	case len(g.Exposed) > MaxExposed:
		return nil, errf("", "exposed", "at most %d exposed fields", MaxExposed)
	}
	ix := &index{
		byID:     make(map[string]int, len(g.Nodes)),
		types:    make([]*NodeType, len(g.Nodes)),
		incoming: make(map[ref]int, len(g.Edges)),
		exposed:  make(map[ref]int, len(g.Exposed)),
		consumer: make(map[string][]edgeRef, len(g.Nodes)),
	}
	outputs := 0
	for i, n := range g.Nodes {
		at := func() string { return "nodes[" + strconv.Itoa(i) + "]" } // built only for an error
		if !validNodeID(n.ID) {
			return nil, errf(n.ID, at()+".id", "a node id is 1-%d letters, digits, '_' or '-'", MaxNodeIDLen)
		}
		if _, dup := ix.byID[n.ID]; dup {
			return nil, errf(n.ID, at()+".id", "duplicate node id")
		}
		ix.byID[n.ID] = i
		t, ok := registry[n.Type]
		if !ok {
			return nil, errf(n.ID, at()+".type", "unknown node type %q", n.Type)
		}
		ix.types[i] = t
		if n.Type == "output" {
			outputs++
		}
		for name, raw := range n.Fields {
			spec := t.field(name)
			if spec == nil {
				return nil, errf(n.ID, at()+".fields."+name, "unknown field for node type %s", n.Type)
			}
			if _, err := decodeField(spec, raw); err != nil {
				return nil, errf(n.ID, at()+".fields."+name, "%s", err)
			}
		}
	}
	if outputs == 0 {
		return nil, errf("", "nodes", "a graph needs at least one output node")
	}
	for i, e := range g.Edges {
		if err := ix.addEdge(g, i, e); err != nil {
			return nil, err
		}
	}
	for i, s := range g.Exposed {
		at := fmt.Sprintf("exposed[%d]", i)
		r, ok := parseRef(s)
		if !ok {
			return nil, errf("", at, "expected NODE.FIELD")
		}
		p, ok := ix.byID[r.node]
		if !ok {
			return nil, errf(r.node, at, "no node %q", r.node)
		}
		if ix.types[p].field(r.name) == nil {
			return nil, errf(r.node, at, "node type %s has no field %q", ix.types[p].Type, r.name)
		}
		if _, wired := ix.incoming[r]; wired {
			return nil, errf(r.node, at, "field %s is fed by an edge and cannot be exposed", r.name)
		}
		if _, dup := ix.exposed[r]; dup {
			return nil, errf(r.node, at, "exposed twice")
		}
		ix.exposed[r] = i
	}
	for i, n := range g.Nodes {
		if err := ix.checkRequired(g, i, n); err != nil {
			return nil, err
		}
	}
	if err := ix.sort(g); err != nil {
		return nil, err
	}
	return ix, nil
}

func (ix *index) addEdge(g *Graph, i int, e Edge) error {
	at := "edges[" + strconv.Itoa(i) + "]"
	from, ok := parseRef(e.From)
	if !ok {
		return errf("", at+".from", "expected NODE.OUTPUT")
	}
	to, ok := parseRef(e.To)
	if !ok {
		return errf("", at+".to", "expected NODE.INPUT")
	}
	fp, ok := ix.byID[from.node]
	if !ok {
		return errf(from.node, at+".from", "no node %q", from.node)
	}
	tp, ok := ix.byID[to.node]
	if !ok {
		return errf(to.node, at+".to", "no node %q", to.node)
	}
	out := ix.types[fp].output(from.name)
	if out == nil {
		return errf(from.node, at+".from", "node type %s has no output %q", ix.types[fp].Type, from.name)
	}
	toType := ""
	if in := ix.types[tp].input(to.name); in != nil {
		toType = in.Type
	} else if f := ix.types[tp].field(to.name); f != nil && (f.Type == TypeInt || f.Type == TypeFloat) {
		toType = f.Type
	} else {
		return errf(to.node, at+".to", "node type %s has no input %q", ix.types[tp].Type, to.name)
	}
	if out.Type != toType && !(out.Type == TypeInt && toType == TypeFloat) {
		return errf(to.node, at+".to", "type mismatch: %s output %s cannot feed %s input %s", out.Type, from, toType, to)
	}
	if from.node == to.node {
		return errf(to.node, at+".to", "the graph has a cycle: node %s feeds itself", to.node)
	}
	if prev, dup := ix.incoming[to]; dup {
		return errf(to.node, at+".to", "input %s already has an edge (edges[%d])", to, prev)
	}
	ix.incoming[to] = i
	ix.consumer[from.node] = append(ix.consumer[from.node], edgeRef{from, to})
	return nil
}

func (ix *index) checkRequired(g *Graph, i int, n Node) error {
	t := ix.types[i]
	for _, p := range t.Inputs {
		if _, ok := ix.incoming[ref{n.ID, p.Name}]; p.Required && !ok {
			return errf(n.ID, fmt.Sprintf("nodes[%d].inputs.%s", i, p.Name), "required input has no edge")
		}
	}
	for _, f := range t.Fields {
		r := ref{n.ID, f.Name}
		_, literal := n.Fields[f.Name]
		_, wired := ix.incoming[r]
		_, exposed := ix.exposed[r]
		if f.Required && !literal && !wired && !exposed {
			return errf(n.ID, fmt.Sprintf("nodes[%d].fields.%s", i, f.Name), "required field has no value, edge or exposure")
		}
	}
	if n.Type == "resize" {
		return ix.checkResizeLiteral(i, n)
	}
	return nil
}

// checkResizeLiteral rejects a resize whose width and height are both fixed at 0.
func (ix *index) checkResizeLiteral(i int, n Node) error {
	t := ix.types[i]
	for _, name := range []string{"width", "height"} {
		r := ref{n.ID, name}
		if _, ok := ix.incoming[r]; ok {
			return nil
		}
		if _, ok := ix.exposed[r]; ok {
			return nil
		}
		v := t.field(name).Default
		if raw, ok := n.Fields[name]; ok {
			v, _ = decodeField(t.field(name), raw)
		}
		if v.(int64) != 0 {
			return nil
		}
	}
	return errf(n.ID, fmt.Sprintf("nodes[%d].fields.width", i), "width or height must be positive")
}

// sort orders the nodes topologically (Kahn; ties in graph order, so execution is
// deterministic) and reports a cycle by an edge on it.
func (ix *index) sort(g *Graph) error {
	indeg := make([]int, len(g.Nodes))
	for to := range ix.incoming {
		indeg[ix.byID[to.node]]++
	}
	ready := make([]int, 0, len(g.Nodes))
	for i := range g.Nodes {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	ix.order = make([]int, 0, len(g.Nodes))
	for len(ready) > 0 {
		// Smallest position first keeps the order stable.
		best := 0
		for k := 1; k < len(ready); k++ {
			if ready[k] < ready[best] {
				best = k
			}
		}
		p := ready[best]
		ready[best] = ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		ix.order = append(ix.order, p)
		for _, e := range ix.consumer[g.Nodes[p].ID] {
			q := ix.byID[e.to.node]
			indeg[q]--
			if indeg[q] == 0 {
				ready = append(ready, q)
			}
		}
	}
	if len(ix.order) == len(g.Nodes) {
		return nil
	}
	for k, e := range g.Edges {
		to, _ := parseRef(e.To)
		from, _ := parseRef(e.From)
		if indeg[ix.byID[to.node]] > 0 && indeg[ix.byID[from.node]] > 0 {
			return errf(to.node, fmt.Sprintf("edges[%d]", k), "the graph has a cycle through node %s", to.node)
		}
	}
	return errf("", "edges", "the graph has a cycle")
}

// decodeField decodes and range-checks one field value.
func decodeField(f *FieldSpec, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	switch f.Type {
	case TypeInt, TypeFloat:
		if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return nil, fmt.Errorf("must be a number")
		}
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return nil, fmt.Errorf("must be a number")
		}
		if f.Type == TypeInt && v != float64(int64(v)) {
			return nil, fmt.Errorf("must be an integer")
		}
		if err := inRange(f, v); err != nil {
			return nil, err
		}
		if f.Type == TypeInt {
			return int64(v), nil
		}
		return v, nil
	case TypeEnum:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("must be a string")
		}
		for _, e := range f.Enum {
			if s == e {
				return s, nil
			}
		}
		return nil, fmt.Errorf("must be one of %s", strings.Join(f.Enum, ", "))
	case TypeUUID:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("must be a string")
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("must be a UUID")
		}
		return id, nil
	}
	return nil, fmt.Errorf("unsupported field type %s", f.Type)
}

func inRange(f *FieldSpec, v float64) error {
	if f.Min != nil && v < *f.Min || f.Max != nil && v > *f.Max {
		return fmt.Errorf("must be between %s and %s", fmtNum(f.Min), fmtNum(f.Max))
	}
	return nil
}

func fmtNum(p *float64) string {
	if p == nil {
		return "∞"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}
