package rbac

import (
	"fmt"
	"sync"

	"github.com/casbin/casbin/v2/log"
	casbinrbac "github.com/casbin/casbin/v2/rbac"
)

// graph is the role manager of the model's `g`: the node graph of one tenant (workspace →
// parent, node → role@subject, role@group → role@user), as plain adjacency sets behind a
// read-write lock. casbin still decides — g(r.obj, role@sub, dom) is the same reachability
// question, bounded by the same depth — but the default role manager answers it by a
// breadth-first walk that visits every grant made on every ancestor of the object (each one a
// sync.Map to range over and a fresh map per level), under an exclusive lock. Here the walk
// follows only links that lead somewhere, checks the target by a set lookup on each node it
// visits, and takes a read lock.
//
// Links live per domain, as in the default role manager. It supports no pattern matching.
type graph struct {
	mu       sync.RWMutex
	maxLevel int
	doms     map[string]*adjacency
}

type adjacency struct {
	out map[string]map[string]struct{} // name → the names it inherits (links name → x)
	in  map[string]map[string]struct{} // name → the names that inherit it
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

// Clear drops every link.
func (g *graph) Clear() error {
	g.mu.Lock()
	g.doms = map[string]*adjacency{}
	g.mu.Unlock()
	return nil
}

// AddLink records that name1 inherits name2 in the domain.
func (g *graph) AddLink(name1, name2 string, domain ...string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := domainOf(domain)
	a := g.doms[d]
	if a == nil {
		a = &adjacency{out: map[string]map[string]struct{}{}, in: map[string]map[string]struct{}{}}
		g.doms[d] = a
	}
	link(a.out, name1, name2)
	link(a.in, name2, name1)
	return nil
}

func link(m map[string]map[string]struct{}, from, to string) {
	s := m[from]
	if s == nil {
		s = map[string]struct{}{}
		m[from] = s
	}
	s[to] = struct{}{}
}

func unlink(m map[string]map[string]struct{}, from, to string) {
	if s := m[from]; s != nil {
		delete(s, to)
		if len(s) == 0 {
			delete(m, from)
		}
	}
}

// BuildRelationship is deprecated in casbin and does nothing.
func (g *graph) BuildRelationship(string, string, ...string) error { return nil }

// DeleteLink removes the link, if there is one.
func (g *graph) DeleteLink(name1, name2 string, domain ...string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a := g.doms[domainOf(domain)]; a != nil {
		unlink(a.out, name1, name2)
		unlink(a.in, name2, name1)
	}
	return nil
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
	frontier := []string{name1}
	var next []string
	var seen map[string]struct{}
	for level := 0; level < g.maxLevel && len(frontier) > 0; level++ {
		next = next[:0]
		for _, n := range frontier {
			out := a.out[n]
			if _, ok := out[name2]; ok {
				return true, nil
			}
			for m := range out {
				if len(a.out[m]) == 0 {
					continue
				}
				if seen == nil {
					seen = map[string]struct{}{name1: {}}
				}
				if _, ok := seen[m]; ok {
					continue
				}
				seen[m] = struct{}{}
				next = append(next, m)
			}
		}
		frontier, next = next, frontier
	}
	return false, nil
}

func keys(s map[string]struct{}) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	return out
}

// GetRoles lists what name inherits directly.
func (g *graph) GetRoles(name string, domain ...string) ([]string, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if a := g.doms[domainOf(domain)]; a != nil {
		return keys(a.out[name]), nil
	}
	return []string{}, nil
}

// GetUsers lists what inherits name directly.
func (g *graph) GetUsers(name string, domain ...string) ([]string, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if a := g.doms[domainOf(domain)]; a != nil {
		return keys(a.in[name]), nil
	}
	return []string{}, nil
}

// walk lists what name reaches through edges in at most maxLevel links, name excluded.
func (g *graph) walk(edges func(*adjacency) map[string]map[string]struct{}, name string, domain []string) []string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := []string{}
	a := g.doms[domainOf(domain)]
	if a == nil {
		return out
	}
	e := edges(a)
	seen := map[string]struct{}{name: {}}
	frontier := []string{name}
	for level := 0; level < g.maxLevel && len(frontier) > 0; level++ {
		var next []string
		for _, n := range frontier {
			for m := range e[n] {
				if _, ok := seen[m]; !ok {
					seen[m] = struct{}{}
					out = append(out, m)
					next = append(next, m)
				}
			}
		}
		frontier = next
	}
	return out
}

// GetImplicitRoles lists everything name inherits, directly or not.
func (g *graph) GetImplicitRoles(name string, domain ...string) ([]string, error) {
	return g.walk(func(a *adjacency) map[string]map[string]struct{} { return a.out }, name, domain), nil
}

// GetImplicitUsers lists everything that inherits name, directly or not.
func (g *graph) GetImplicitUsers(name string, domain ...string) ([]string, error) {
	return g.walk(func(a *adjacency) map[string]map[string]struct{} { return a.in }, name, domain), nil
}

// GetDomains lists the domains in which name has links.
func (g *graph) GetDomains(name string) ([]string, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := []string{}
	for d, a := range g.doms {
		if len(a.out[name]) > 0 || len(a.in[name]) > 0 {
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
