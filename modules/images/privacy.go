package images

import (
	"context"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
)

// MetadataPolicy is who sees images' generation metadata on a node, as the `privacy` profile in
// force there says.
type MetadataPolicy struct {
	Hidden bool // hidden from everyone but the audiences below
	// The audiences that still see hidden metadata.
	Owner, Admins, Auditors bool
}

// Privacy gives the metadata policy in force on a node (the privacy profiles).
type Privacy interface {
	MetadataPolicy(ctx context.Context, node string) (MetadataPolicy, error)
}

// audience is how a reader stands to one image, in the privacy profile's terms.
type audience struct {
	owner   bool // the image's direct owner
	admin   bool // tenant admin or admin of the image's workspace or an ancestor
	auditor bool // reads everything without being an admin (the tenant's auditors)
}

// metadataRule says whether a reader in the audience sees generation metadata.
type metadataRule func(audience) bool

// defaultRule is the privacy default: the owner and admins.
func defaultRule(a audience) bool { return a.owner || a.admin }

// metadataRule is the privacy profile in force on the workspace, as a rule for its images.
func (s *Service) metadataRule(ctx context.Context, wsID uuid.UUID) (metadataRule, error) {
	if s.privacy == nil {
		return defaultRule, nil
	}
	p, err := s.privacy.MetadataPolicy(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return nil, err
	}
	return func(a audience) bool {
		if !p.Hidden {
			return true
		}
		return (a.owner && p.Owner) || (a.admin && p.Admins) || (a.auditor && p.Auditors)
	}, nil
}
