package rbac

import (
	"fmt"
	"strings"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"gorm.io/gorm"
)

// policyRows is what one tenant's policy is loaded from, read in one transaction.
type policyRows struct {
	version  int64
	rules    []ruleRow
	expiring []Grant
	access   []accessAssignment
}

// ruleRow is a casbin rule of the tenant without its domain (the tenant's, by the query):
// p = (domain, role), g and g2 = (v0, v1, domain).
type ruleRow struct{ ptype, v0, v1 string }

// rulesQuery reads the rules the gorm adapter's LoadFilteredPolicy read with the filters
// {p: v0 = domain} and {g, g2: v2 = domain}, in the same order, as three plain columns: no
// reflection per row and no domain column repeated a thousand times. The adapter stays the only
// writer of the table; this reads its documented layout (ptype, v0 … v5) in one statement.
const rulesQuery = `SELECT ptype, v0, v1 FROM ` + RulesTable + `
WHERE tenant_id = ? AND ((ptype = 'p' AND v0 = ?) OR (ptype IN ('g', 'g2') AND v2 = ?))
ORDER BY id`

// readPolicy reads the tenant's policy rows on tx, a transaction scoped to the tenant.
func readPolicy(tx *gorm.DB, dom string) (*policyRows, error) {
	// The version first: a change committed while the rest is read makes it older than the
	// database's, so the next check reloads rather than trusting a mix.
	var pv policyVersion
	if err := tx.Limit(1).Find(&pv).Error; err != nil {
		return nil, err
	}
	rows := &policyRows{version: pv.Version}
	rs, err := tx.Raw(rulesQuery, dom, dom, dom).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var r ruleRow
		if err := rs.Scan(&r.ptype, &r.v0, &r.v1); err != nil {
			return nil, err
		}
		rows.rules = append(rows.rules, r)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if err := tx.Where("expires_at IS NOT NULL").Find(&rows.expiring).Error; err != nil {
		return nil, err
	}
	if err := tx.Table("profile_assignments AS a").
		Select("a.node, a.profile_id, p.name, p.settings").
		Joins("JOIN profiles p ON p.tenant_id = a.tenant_id AND p.id = a.profile_id").
		Where("a.type = ?", "access").Find(&rows.access).Error; err != nil {
		return nil, err
	}
	return rows, nil
}

// newTenantPolicy builds the tenant's policy from its rows as of now: grants expired by then are
// left out, and the earliest later expiry is kept so that the policy is reloaded at it.
//
// The roles (p) and their permissions (g2) go into casbin's model as the adapter would have put
// them. The node graph (g: the tree, the grants, the group members — nearly all of a tenant's
// rules) goes straight into its role manager and nowhere else: casbin decides through g(), which
// asks the role manager, and nothing reads g's rules back from the model. Keeping them there too
// tripled what a grant weighs (the rule, its joined key in the model's index, the role manager's
// copy of the link).
func newTenantPolicy(dom string, rows *policyRows, now time.Time) (*tenantPolicy, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, err
	}
	ce, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("new enforcer: %w", err)
	}
	ce.EnableAutoSave(false)
	links := newGraph(maxHierarchy)
	ce.SetNamedRoleManager("g", links)
	ce.SetNamedRoleManager("g2", newGraph(maxHierarchy))
	tp := &tenantPolicy{ce: ce, links: links, dom: dom, version: rows.version,
		parents: map[string]string{}, access: make(map[string]accessAssignment, len(rows.access))}
	for _, as := range rows.access {
		tp.access[as.Node] = as
	}
	// expired: the links of grants past their expiry (node → role@subject), left out.
	expired := map[[2]string]bool{}
	for _, g := range rows.expiring {
		switch {
		case !g.ExpiresAt.After(now):
			expired[[2]string{g.Node(), g.Role + "@" + g.Subject()}] = true
		case tp.expires.IsZero() || g.ExpiresAt.Before(tp.expires):
			tp.expires = *g.ExpiresAt
		}
	}
	var roles, perms [][]string
	var graphRules int64
	for _, r := range rows.rules {
		switch r.ptype {
		case "p":
			roles = append(roles, []string{dom, r.v1})
		case "g2":
			perms = append(perms, []string{r.v0, r.v1, dom})
		}
	}
	if err := m.AddPolicies("p", "p", roles); err != nil {
		return nil, err
	}
	if err := m.AddPolicies("g", "g2", perms); err != nil {
		return nil, err
	}
	ce.AddFunction("profileAllows", tp.profileAllows)
	// BuildRoleLinks clears every role manager and fills them from the model: g2 from its rules,
	// g with nothing. The node graph is filled after it, and nothing may call it again.
	if err := ce.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("build role links: %w", err)
	}
	for _, r := range rows.rules {
		if r.ptype != "g" || expired[[2]string{r.v0, r.v1}] {
			continue
		}
		from, to := links.addLink(r.v0, r.v1, dom)
		graphRules++
		if strings.HasPrefix(from, "ws:") && (to == Root || strings.HasPrefix(to, "ws:")) {
			tp.parents[from] = to
		}
	}
	links.compact()
	tp.size = (int64(len(roles)+len(perms)) + graphRules) * RuleBytes
	tp.checked.Store(now.UnixNano())
	return tp, nil
}
