package profiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// EffectiveAt answers, for every registered type, the profile in force on the node `{ws}` and
// where it comes from. Whoever may read the workspace (workspace:read) may see what governs it.
func (s *Service) EffectiveAt(ctx context.Context, ref string) (EffectiveView, error) {
	at, err := s.target(ctx, ref)
	if err != nil {
		return EffectiveView{}, err
	}
	// Resolve has decided workspace:read on a workspace (not found when refused); the tenant root
	// is decided here.
	if at.Node == rbac.Root {
		if err := s.guard.Authorize(ctx, rbac.WorkspaceRead, at.Node); err != nil {
			return EffectiveView{}, err
		}
	}
	var out []Effective
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.resolve(ctx, tx, at.Node, Types())
		return err
	})
	if errors.Is(err, ErrUnknownNode) {
		return EffectiveView{}, apierr.NotFound("workspace")
	}
	if err != nil {
		return EffectiveView{}, err
	}
	return EffectiveView{Origin: at, Profiles: out}, nil
}

// Effective is the profile of the type in force on the node (rbac.Root or a workspace node) of
// the tenant in ctx: the nearest assignment on the path from the node up to the tenant root, or
// the type's defaults. It decides nothing about the caller: the module asking has authorized its
// own operation.
func (s *Service) Effective(ctx context.Context, node, typ string) (Effective, error) {
	var out Effective
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.EffectiveTx(ctx, tx, node, typ)
		return err
	})
	return out, err
}

// EffectiveTx is Effective inside the caller's tenant transaction.
func (s *Service) EffectiveTx(ctx context.Context, tx *gorm.DB, node, typ string) (Effective, error) {
	t, ok := Lookup(typ)
	if !ok {
		return Effective{}, fmt.Errorf("%w: %s", ErrUnknownType, typ)
	}
	out, err := s.resolve(ctx, tx, node, []Type{t})
	if err != nil {
		return Effective{}, err
	}
	return out[0], nil
}

// Privacy is the privacy settings in force on the node.
func (s *Service) Privacy(ctx context.Context, node string) (PrivacySettings, error) {
	var p PrivacySettings
	err := s.settingsOf(ctx, node, TypePrivacy, &p)
	return p, err
}

// Quota is the quota settings in force on the node.
func (s *Service) Quota(ctx context.Context, node string) (QuotaSettings, error) {
	var q QuotaSettings
	err := s.settingsOf(ctx, node, TypeQuota, &q)
	return q, err
}

func (s *Service) settingsOf(ctx context.Context, node, typ string, dst any) error {
	e, err := s.Effective(ctx, node, typ)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(e.Settings, dst); err != nil {
		return fmt.Errorf("%s settings in force on %s: %w", typ, node, err)
	}
	return nil
}

// resolve computes the effective profile of each type on the node: the nearest assignment on the
// node's lineage.
func (s *Service) resolve(ctx context.Context, tx *gorm.DB, node string, types []Type) ([]Effective, error) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, tenancy.ErrNoTenant
	}
	lineage, err := s.store.lineage(tx, tenantID, node)
	if errors.Is(err, errNoWorkspace) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownNode, node)
	}
	if err != nil {
		return nil, err
	}
	nodes := make([]string, len(lineage))
	for i, st := range lineage {
		nodes[i] = st.Node
	}
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.Name
	}
	assignments, profiles, err := s.store.assignmentsOn(tx, nodes, names)
	if err != nil {
		return nil, fmt.Errorf("profiles assigned above %s: %w", node, err)
	}
	// nearest[type] is the index in lineage (0: the node itself) of the type's nearest assignment.
	nearest := map[string]int{}
	chosen := map[string]Assignment{}
	for _, a := range assignments {
		i := slices.Index(nodes, a.Node)
		if cur, seen := nearest[a.Type]; !seen || i < cur {
			nearest[a.Type], chosen[a.Type] = i, a
		}
	}
	out := make([]Effective, 0, len(types))
	for _, t := range types {
		a, ok := chosen[t.Name]
		p, found := profiles[a.ProfileID]
		if !ok || !found {
			out = append(out, Effective{Type: t.Name, Settings: t.Default})
			continue
		}
		v := p.view()
		from := lineage[nearest[t.Name]].Origin
		out = append(out, Effective{Type: t.Name, Settings: v.Settings, Profile: &v, Inherited: a.Node != node, From: &from})
	}
	return out, nil
}
