package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/boards"
	"github.com/atelier-hq/atelier/modules/downloads"
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/modules/queue"
	"github.com/atelier-hq/atelier/modules/tenants"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/rbac"
)

// The adapters below give a module what it declares it needs of another, in its own terms, so
// that modules know one another only through their consumer-side interfaces.

// imageBoards is the boards module as images sees it (images.Boards): a board and the standing
// SPEC §6's table gives, never the table itself.
type imageBoards struct{ s *boards.Service }

func (b imageBoards) Load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (images.Board, error) {
	a, err := b.s.Load(ctx, tx, id)
	return imageBoard(a), err
}

func (b imageBoards) Relate(ctx context.Context, tx *gorm.DB, id uuid.UUID) (images.Board, error) {
	a, err := b.s.Relate(ctx, tx, id)
	return imageBoard(a), err
}

func (b imageBoards) RelateUser(ctx context.Context, tx *gorm.DB, id, tenantID, userID uuid.UUID) (images.Board, error) {
	a, err := b.s.RelateUser(ctx, tx, id, tenantID, userID)
	return imageBoard(a), err
}

func (b imageBoards) ExplainRead(ctx context.Context, id, userID uuid.UUID) (rbac.Explanation, error) {
	return b.s.ExplainUser(ctx, id, userID, rbac.BoardRead)
}

func (imageBoards) VisibleIDs(tx *gorm.DB, workspaceID, userID uuid.UUID, seeAll, wsMember bool) *gorm.DB {
	return boards.VisibleIDs(tx, workspaceID, userID, seeAll, wsMember)
}

func (b imageBoards) Published(ctx context.Context, id uuid.UUID) (context.Context, images.Board, error) {
	ctx, board, err := b.s.Published(ctx, id)
	return ctx, imageBoard(boards.Access{Board: board}), err
}

// imageBoard translates a board and the user's relation to it.
func imageBoard(a boards.Access) images.Board {
	b, r := a.Board, a.Relation
	return images.Board{ID: b.ID, WorkspaceID: b.WorkspaceID, Name: b.Name, Description: b.Description,
		Read: a.Can(boards.OpRead), AddImages: a.Can(boards.OpAddImages),
		ChangeOwn: boards.MayChangeImage(r, b.Visibility, true), ChangeAny: boards.MayChangeImage(r, b.Visibility, false),
		Admin: r.Admin, ReadAll: r.ReadAll, Role: r.Role,
		Owner: r.Role == boards.RoleOwner, Editor: r.Role == boards.RoleEditor,
		PublicMember: r.Role == "" && r.WSMember && b.Visibility == boards.Public}
}

// imagePrivacy is the privacy profiles as images sees them (images.Privacy).
type imagePrivacy struct{ p *profiles.Service }

func (ip imagePrivacy) MetadataPolicy(ctx context.Context, node string) (images.MetadataPolicy, error) {
	p, err := ip.p.Privacy(ctx, node)
	if err != nil {
		return images.MetadataPolicy{}, err
	}
	return images.MetadataPolicy{Hidden: p.HideGenerationMetadata, Owner: p.Shows(profiles.AudienceOwner),
		Admins: p.Shows(profiles.AudienceAdmins), Auditors: p.Shows(profiles.AudienceAuditors)}, nil
}

// tenantUsers creates a new tenant's first admin for sign-up (tenants.Users).
type tenantUsers struct{ u *users.Service }

func (t tenantUsers) CreateAdminTx(ctx context.Context, tx *gorm.DB, in tenants.AdminInput) (tenants.SignUpUser, error) {
	u, err := t.u.CreateTx(ctx, tx, users.CreateInput{Email: in.Email, Password: in.Password,
		DisplayName: in.DisplayName, Role: rbac.RoleAdmin})
	return tenants.SignUpUser{ID: u.ID, Email: u.Email}, err
}

// downloadQuotas is the quota profiles as downloads sees them (downloads.Quotas).
type downloadQuotas struct{ p *profiles.Service }

func (dq downloadQuotas) DownloadQuota(ctx context.Context, node string) (downloads.Quota, error) {
	q, err := dq.p.Quota(ctx, node)
	if err != nil {
		return downloads.Quota{}, err
	}
	ttl := q.DownloadLinkTTLSeconds
	if ttl <= 0 {
		ttl = profiles.DefaultDownloadLinkTTL
	}
	return downloads.Quota{MaxImages: q.MaxBulkDownloadImages, MaxBytes: q.MaxBulkDownloadBytes,
		LinkTTL: time.Duration(ttl) * time.Second}, nil
}

// queueProfiles is the privacy and quota profiles as the queue sees them (queue.Profiles).
type queueProfiles struct{ p *profiles.Service }

func (qp queueProfiles) FieldPolicy(ctx context.Context, node string) (queue.FieldPolicy, error) {
	p, err := qp.p.Privacy(ctx, node)
	if err != nil {
		return queue.FieldPolicy{}, err
	}
	return queue.FieldPolicy{Hidden: p.HideQueueFieldValues, Owner: p.Shows(profiles.AudienceOwner),
		Admins: p.Shows(profiles.AudienceAdmins), Auditors: p.Shows(profiles.AudienceAuditors)}, nil
}

func (qp queueProfiles) PendingLimit(ctx context.Context, node string) (*int64, error) {
	q, err := qp.p.Quota(ctx, node)
	return q.MaxPendingQueueItemsPerUser, err
}

// queueEvents sends the queue's notices to the event streams (queue.Publisher).
type queueEvents struct{ hub *events.Hub }

func (q queueEvents) Publish(ctx context.Context, n queue.Notice) error {
	return q.hub.Publish(ctx, events.Event{TenantID: n.TenantID, Name: n.Name, Data: n.Data, UserID: n.UserID,
		WorkspaceID: n.WorkspaceID, AdminAction: n.AdminAction, TenantWide: n.TenantWide})
}

// explainUsers is the users module as explain sees it (authz.Users): whether a user is disabled.
type explainUsers struct{ s *users.Service }

func (u explainUsers) Disabled(ctx context.Context, id uuid.UUID) (bool, error) {
	v, err := u.s.Get(ctx, id)
	return v.Disabled, err
}
