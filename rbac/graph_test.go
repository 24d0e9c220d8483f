package rbac

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"
)

// TestGraphAgreesWithDefaultRoleManager: on random graphs (trees with grants and groups, and
// arbitrary links with cycles), the node graph answers every question the enforcer asks exactly
// as casbin's default role manager does.
func TestGraphAgreesWithDefaultRoleManager(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		const dom = "d"
		maxLevel := 1 + r.IntN(8)
		g := newGraph(maxLevel)
		ref := defaultrolemanager.NewRoleManager(maxLevel)
		n := 2 + r.IntN(30)
		name := func(i int) string { return fmt.Sprintf("n%d", i) }
		links := 1 + r.IntN(3*n)
		for range links {
			a, b := name(r.IntN(n)), name(r.IntN(n))
			if a == b {
				continue
			}
			_ = g.AddLink(a, b, dom)
			_ = ref.AddLink(a, b, dom)
		}
		if round%2 == 0 {
			g.compact() // as a loaded policy is; the changes below must still hold
		}
		for range r.IntN(links/2 + 1) { // some links removed again
			a, b := name(r.IntN(n)), name(r.IntN(n))
			_ = g.DeleteLink(a, b, dom)
			_ = ref.DeleteLink(a, b, dom)
		}
		for range r.IntN(n) { // and a few added
			a, b := name(r.IntN(n)), name(r.IntN(n))
			if a != b {
				_ = g.AddLink(a, b, dom)
				_ = ref.AddLink(a, b, dom)
			}
		}
		for i := range n + 1 { // n: a name with no links
			for j := range n + 1 {
				got, _ := g.HasLink(name(i), name(j), dom)
				want, _ := ref.HasLink(name(i), name(j), dom)
				if got != want {
					t.Fatalf("round %d (max %d): HasLink(%s, %s) = %v, default role manager %v", round, maxLevel, name(i), name(j), got, want)
				}
				if other, _ := g.HasLink(name(i), name(j), "other"); other && i != j {
					t.Fatalf("round %d: a link leaked into another domain", round)
				}
			}
			sorted := func(s []string, _ error) []string { slices.Sort(s); return s }
			for _, q := range []struct {
				what      string
				got, want []string
			}{
				{"GetRoles", sorted(g.GetRoles(name(i), dom)), sorted(ref.GetRoles(name(i), dom))},
				{"GetUsers", sorted(g.GetUsers(name(i), dom)), sorted(ref.GetUsers(name(i), dom))},
			} {
				if !slices.Equal(q.got, q.want) {
					t.Fatalf("round %d: %s(%s) = %v, default role manager %v", round, q.what, name(i), q.got, q.want)
				}
			}
		}
	}
}
