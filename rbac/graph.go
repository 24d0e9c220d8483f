package rbac

import (
	"fmt"
	"slices"
	"sync"

	"github.com/casbin/casbin/v2/log"
	casbinrbac "github.com/casbin/casbin/v2/rbac"
)

// graph is the role manager of the model's `g`: the node graph of one tenant (workspace →
// parent, node → role@subject, role@group → role@user). casbin still decides — g(r.obj,
// role@sub, dom) is the same reachability question, bounded by the same depth — but the default
// role manager answers it by a breadth-first walk that visits every grant made on every ancestor
// of the object (each one a sync.Map to range over and a fresh map per level), under an
// exclusive lock. Here the walk follows only links that lead somewhere, checks the target on
// each node it visits, and takes a read lock.
//
// It is also what a loaded policy mostly weighs: a tenant holds one name per node and per
// role@subject, and a link per grant. So every name is kept once (interned: one string, one
// int32 id) and links are lists of ids, not sets of strings: a grant costs two int32s and, when
// its role@subject is new, one name.
//
// Links live per domain, as in the default role manager. It supports no pattern matching.
type graph struct {
	mu       sync.RWMutex
	maxLevel int
	doms     map[string]*adjacency
}

// adjacency is one domain's links between interned names.
type adjacency struct {
	ids   map[string]int32
	names []string  // id → name
	out   [][]int32 // id → the ids it inherits (links id → x)
	in    [][]int32 // id → the ids that inherit it
}

var _ casbinrbac.RoleManager = (*graph)(nil)

func newGraph(maxLevel int) *graph {
	return &graph{maxLevel: maxLevel, doms: map[string]*adjacency{}}
}

func domainOf(domain []string) string {
	if len(domain) == 0 {
		return ""
	}
	return domain[0]
}

// intern returns the id of name, adding it if it is new.
func (a *adjacency) intern(name string) int32 {
	if id, ok := a.ids[name]; ok {
		return id
	}
	id := int32(len(a.names))
	a.ids[name] = id
	a.names = append(a.names, name)
	a.out = append(a.out, nil)
	a.in = append(a.in, nil)
	return id
}

// linked reports whether from links straight to to, scanning the shorter of the two lists (a
// node may carry thousands of grants; a role@user is held on a few nodes).
func (a *adjacency) linked(from, to int32) bool {
	if out, in := a.out[from], a.in[to]; len(in) < len(out) {
		return slices.Contains(in, from)
	}
	return slices.Contains(a.out[from], to)
}

func (a *adjacency) namesOf(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = a.names[id]
	}
	return out
}

// compact trims what building left over, once the links are all added: appending grows every
// list by doubling, so a loaded tenant would hold about a third more than it uses. The lists
// are repacked into one array each way, each list capped at its length (an append after this
// copies it out rather than overwriting its neighbour), and the names' index is rebuilt at its
// size.
func (g *graph) compact() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, a := range g.doms {
		ids := make(map[string]int32, len(a.names))
		for id, name := range a.names {
			ids[name] = int32(id)
		}
		a.ids = ids
		a.names = slices.Clone(a.names)
		a.out, a.in = packed(a.out), packed(a.in)
	}
}

func packed(lists [][]int32) [][]int32 {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	all := make([]int32, 0, total)
	out := make([][]int32, len(lists))
	for i, l := range lists {
		start := len(all)
		all = append(all, l...)
		out[i] = all[start:len(all):len(all)]
	}
	return out
}

// Clear drops every link.
func (g *graph) Clear() error {
	g.mu.Lock()
	g.doms = map[string]*adjacency{}
	g.mu.Unlock()
	return nil
}

// AddLink records that name1 inherits name2 in the domain.
func (g *graph) AddLink(name1, name2 string, domain ...string) error {
	g.addLink(name1, name2, domainOf(domain))
	return nil
}

// addLink is AddLink returning the graph's copies of the two names: a caller that keeps names
// beside the graph (the workspace parents) shares its strings rather than holding its own.
func (g *graph) addLink(name1, name2, dom string) (string, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.doms[dom]
	if a == nil {
		a = &adjacency{ids: map[string]int32{}}
		g.doms[dom] = a
	}
	from, to := a.intern(name1), a.intern(name2)
	if !a.linked(from, to) {
		a.out[from] = append(a.out[from], to)
		a.in[to] = append(a.in[to], from)
	}
	return a.names[from], a.names[to]
}

// BuildRelationship is deprecated in casbin and does nothing.
func (g *graph) BuildRelationship(string, string, ...string) error { return nil }

// DeleteLink removes the link, if there is one.
func (g *graph) DeleteLink(name1, name2 string, domain ...string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.doms[domainOf(domain)]
	if a == nil {
		return nil
	}
	from, ok1 := a.ids[name1]
	to, ok2 := a.ids[name2]
	if ok1 && ok2 {
		a.out[from] = slices.DeleteFunc(a.out[from], func(id int32) bool { return id == to })
		a.in[to] = slices.DeleteFunc(a.in[to], func(id int32) bool { return id == from })
	}
	return nil
}

// Linked reports whether name1 links straight to name2 (one link, not a path).
func (g *graph) Linked(name1, name2 string, domain ...string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	a := g.doms[domainOf(domain)]
	if a == nil {
		return false
	}
	from, ok1 := a.ids[name1]
	to, ok2 := a.ids[name2]
	return ok1 && ok2 && a.linked(from, to)
}

// HasLink reports whether name1 reaches name2 in at most maxLevel links: the same answer as the
// default role manager's. Each visited node is checked for a direct link to name2; a neighbour
// is visited next only if it has links of its own (a leaf that is not name2 leads nowhere).
func (g *graph) HasLink(name1, name2 string, domain ...string) (bool, error) {
	if name1 == name2 {
		return true, nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	a := g.doms[domainOf(domain)]
	if a == nil {
		return false, nil
	}
	from, ok1 := a.ids[name1]
	to, ok2 := a.ids[name2]
	if !ok1 || !ok2 {
		return false, nil
	}
	// A walk up the tree visits a node per level: the buffers stay on the stack.
	var buf1, buf2, seenBuf [maxHierarchy]int32
	frontier, next, seen := append(buf1[:0], from), buf2[:0], append(seenBuf[:0], from)
	for level := 0; level < g.maxLevel && len(frontier) > 0; level++ {
		next = next[:0]
		for _, n := range frontier {
			if a.linked(n, to) {
				return true, nil
			}
			for _, m := range a.out[n] {
				if len(a.out[m]) == 0 || slices.Contains(seen, m) {
					continue
				}
				seen = append(seen, m)
				next = append(next, m)
			}
		}
		frontier, next = next, frontier
	}
	return false, nil
}

// GetRoles lists what name inherits directly.
func (g *graph) GetRoles(name string, domain ...string) ([]string, error) {
	return g.direct(name, domain, func(a *adjacency) [][]int32 { return a.out }), nil
}

// GetUsers lists what inherits name directly.
func (g *graph) GetUsers(name string, domain ...string) ([]string, error) {
	return g.direct(name, domain, func(a *adjacency) [][]int32 { return a.in }), nil
}

func (g *graph) direct(name string, domain []string, edges func(*adjacency) [][]int32) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if a := g.doms[domainOf(domain)]; a != nil {
		if id, ok := a.ids[name]; ok {
			return a.namesOf(edges(a)[id])
		}
	}
	return []string{}
}

// walk lists what name reaches through edges in at most maxLevel links, name excluded.
func (g *graph) walk(edges func(*adjacency) [][]int32, name string, domain []string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	a := g.doms[domainOf(domain)]
	if a == nil {
		return []string{}
	}
	start, ok := a.ids[name]
	if !ok {
		return []string{}
	}
	e := edges(a)
	seen := map[int32]struct{}{start: {}}
	var found []int32
	frontier := []int32{start}
	for level := 0; level < g.maxLevel && len(frontier) > 0; level++ {
		var next []int32
		for _, n := range frontier {
			for _, m := range e[n] {
				if _, ok := seen[m]; !ok {
					seen[m] = struct{}{}
					found = append(found, m)
					next = append(next, m)
				}
			}
		}
		frontier = next
	}
	return a.namesOf(found)
}

// GetImplicitRoles lists everything name inherits, directly or not.
func (g *graph) GetImplicitRoles(name string, domain ...string) ([]string, error) {
	return g.walk(func(a *adjacency) [][]int32 { return a.out }, name, domain), nil
}

// GetImplicitUsers lists everything that inherits name, directly or not.
func (g *graph) GetImplicitUsers(name string, domain ...string) ([]string, error) {
	return g.walk(func(a *adjacency) [][]int32 { return a.in }, name, domain), nil
}

// GetDomains lists the domains in which name has links.
func (g *graph) GetDomains(name string) ([]string, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := []string{}
	for d, a := range g.doms {
		if id, ok := a.ids[name]; ok && (len(a.out[id]) > 0 || len(a.in[id]) > 0) {
			out = append(out, d)
		}
	}
	return out, nil
}

// GetAllDomains lists every domain with links.
func (g *graph) GetAllDomains() ([]string, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]string, 0, len(g.doms))
	for d := range g.doms {
		out = append(out, d)
	}
	return out, nil
}

// PrintRoles does nothing: the links are in the rules table.
func (g *graph) PrintRoles() error { return nil }

// SetLogger does nothing.
func (g *graph) SetLogger(log.Logger) {}

// Match compares names literally: there is no pattern matching.
func (g *graph) Match(str, pattern string) bool { return str == pattern }

// AddMatchingFunc is not supported: the model matches names literally.
func (g *graph) AddMatchingFunc(name string, _ casbinrbac.MatchingFunc) {
	panic(fmt.Sprintf("rbac: the node graph matches names literally (matching function %q)", name))
}

// AddDomainMatchingFunc is not supported: the model matches domains literally.
func (g *graph) AddDomainMatchingFunc(name string, _ casbinrbac.MatchingFunc) {
	panic(fmt.Sprintf("rbac: the node graph matches domains literally (matching function %q)", name))
}

// DeleteDomain drops the domain's links.
func (g *graph) DeleteDomain(domain string) error {
	g.mu.Lock()
	delete(g.doms, domain)
	g.mu.Unlock()
	return nil
}
