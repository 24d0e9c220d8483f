package images

import (
	"context"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/rbac"
)

// Privacy gives the `privacy` settings in force on a node (profiles.Service): who sees images'
// generation metadata.
type Privacy interface {
	Privacy(ctx context.Context, node string) (profiles.PrivacySettings, error)
}

// SetPrivacy connects the privacy profiles. Without them the default holds: the owner and
// admins see generation metadata, nobody else.
func (s *Service) SetPrivacy(p Privacy) { s.privacy = p }

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
	p, err := s.privacy.Privacy(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return nil, err
	}
	return func(a audience) bool {
		if !p.HideGenerationMetadata {
			return true
		}
		return (a.owner && p.Shows(profiles.AudienceOwner)) || (a.admin && p.Shows(profiles.AudienceAdmins)) ||
			(a.auditor && p.Shows(profiles.AudienceAuditors))
	}, nil
}
