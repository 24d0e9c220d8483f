package users

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	RolesOn(ctx context.Context, tenantID, userID uuid.UUID, node string) ([]string, error)
	Changed(ctx context.Context, tenantID uuid.UUID) error
}

// errNULDisplayName refuses a NUL byte, which PostgreSQL cannot store in text: without this
// check the insert fails and bad input becomes a 500.
var errNULDisplayName = apierr.Invalid("display_name", "must not contain NUL characters")

// Service holds the rules of user management.
type Service struct {
	db       *tenancy.DB
	authz    Authorizer
	guard    decision.Gate
	hasher   *Hasher
	sessions []SessionRevoker
	streams  StreamEnder
	store    store
}

// SessionRevoker ends every session of a user inside the caller's transaction (auth).
type SessionRevoker interface {
	RevokeUserSessions(tx *gorm.DB, userID uuid.UUID) error
}

// StreamEnder is told, after commit, that a user was disabled, so that their live event streams
// close on every node (the events hub).
type StreamEnder interface {
	UserEnded(ctx context.Context, tenantID, userID uuid.UUID)
}

// SetStreamEnder connects the event streams.
func (s *Service) SetStreamEnder(e StreamEnder) { s.streams = e }

// SetSessions connects a credential store (login sessions, personal access tokens), so that
// disabling a user also ends what they could sign in with: re-enabling them later must not
// bring old tokens back to life. Each call adds one store.
func (s *Service) SetSessions(r SessionRevoker) { s.sessions = append(s.sessions, r) }

// NewService wires the service. The auditor records every granted change.
func NewService(db *tenancy.DB, authz Authorizer, hasher *Hasher, auditor rbac.Auditor) *Service {
	return &Service{db: db, authz: authz, hasher: hasher, guard: decision.NewGate(authz, auditor, "user")}
}

// CreateTx creates a user inside the caller's tenant transaction and grants the tenant role.
// Sign-up uses it for the first admin; callers must run Authorizer.Changed after commit.
func (s *Service) CreateTx(ctx context.Context, tx *gorm.DB, in CreateInput) (User, error) {
	if strings.ContainsRune(in.DisplayName, 0) {
		return User{}, errNULDisplayName
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return User{}, fmt.Errorf("hash password: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, err
	}
	u := User{ID: id, Email: strings.TrimSpace(in.Email), PasswordHash: hash, DisplayName: strings.TrimSpace(in.DisplayName)}
	if err := s.store.insert(tx, &u); err != nil {
		if errors.Is(err, errEmailTaken) {
			return User{}, apierr.Conflict("a user with this e-mail exists")
		}
		return User{}, fmt.Errorf("insert user: %w", err)
	}
	if err := setTenantRole(ctx, tx, u.ID, in.Role); err != nil {
		return User{}, err
	}
	return u, nil
}

// Create adds a user to the caller's tenant (tenant admins).
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	if err := s.guard.Authorize(ctx, rbac.UserCreate, rbac.Root); err != nil {
		return View{}, err
	}
	var u User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		u, err = s.CreateTx(ctx, tx, in)
		return err
	})
	if err != nil {
		return View{}, err
	}
	if err := s.changed(ctx); err != nil {
		return View{}, err
	}
	role := in.Role
	if role == "" {
		role = "member"
	}
	s.guard.Allow(ctx, rbac.UserCreate, u.ID, map[string]any{"email": u.Email, "role": role})
	return s.withRoles(ctx, u)
}

// Get returns a user of the caller's tenant. Users may read themselves; reading others needs
// user:read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	if !isSelf(ctx, id) {
		if err := s.guard.Authorize(ctx, rbac.UserRead, rbac.Root); err != nil {
			return View{}, err
		}
	}
	var u User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		u, err = s.store.get(tx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return View{}, apierr.NotFound("user")
	}
	if err != nil {
		return View{}, err
	}
	return s.withRoles(ctx, u)
}

// List pages through the tenant's users (user:read).
func (s *Service) List(ctx context.Context, after uuid.UUID, limit int) ([]View, error) {
	if err := s.guard.Authorize(ctx, rbac.UserRead, rbac.Root); err != nil {
		return nil, err
	}
	var rows []User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, u := range rows {
		v, err := s.withRoles(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Update renames, re-roles or disables a user (tenant admins). An admin cannot disable or demote
// themselves, so a tenant never loses its last way in by accident.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (View, error) {
	if err := s.guard.Authorize(ctx, rbac.UserUpdate, rbac.Root); err != nil {
		return View{}, err
	}
	if isSelf(ctx, id) && ((in.Disabled != nil && *in.Disabled) || (in.Role != nil && *in.Role != rbac.RoleAdmin)) {
		return View{}, apierr.Conflict("you cannot disable or demote yourself")
	}
	fields := map[string]any{}
	if in.DisplayName != nil && strings.ContainsRune(*in.DisplayName, 0) {
		return View{}, errNULDisplayName
	}
	if in.DisplayName != nil {
		fields["display_name"] = strings.TrimSpace(*in.DisplayName)
	}
	if in.Disabled != nil {
		fields["disabled"] = *in.Disabled
	}
	var u User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if _, err = s.store.get(tx, id); err != nil {
			return err
		}
		if len(fields) > 0 {
			if err := s.store.update(tx, id, fields); err != nil {
				return err
			}
		}
		if in.Disabled != nil && *in.Disabled {
			for _, r := range s.sessions {
				if err := r.RevokeUserSessions(tx, id); err != nil {
					return err
				}
			}
		}
		if in.Role != nil {
			if err := setTenantRole(ctx, tx, id, *in.Role); err != nil {
				return err
			}
		}
		u, err = s.store.get(tx, id)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return View{}, apierr.NotFound("user")
	}
	if err != nil {
		return View{}, err
	}
	if in.Disabled != nil && *in.Disabled && s.streams != nil {
		if tenantID, ok := tenancy.TenantFrom(ctx); ok {
			s.streams.UserEnded(ctx, tenantID, id)
		}
	}
	if in.Role != nil {
		if err := s.changed(ctx); err != nil {
			return View{}, err
		}
	}
	s.guard.Allow(ctx, rbac.UserUpdate, id, updateReason(fields, in.Role))
	return s.withRoles(ctx, u)
}

// updateReason lists what an update changed.
func updateReason(fields map[string]any, role *string) map[string]any {
	changed := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		changed[k] = v
	}
	if role != nil {
		changed["role"] = *role
	}
	return map[string]any{"changed": changed}
}

// MayAct reports whether the user may act now: they exist, are enabled and their tenant is
// active. Work done later in a user's name (downloads, queue runs) asks it first.
func (s *Service) MayAct(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		ok, err = s.MayActTx(tx, id)
		return err
	})
	return ok, err
}

// ActiveTx returns the user if they may act now (exists, enabled, tenant active), inside the
// caller's tenant transaction.
func (s *Service) ActiveTx(tx *gorm.DB, id uuid.UUID) (User, error) {
	return s.store.activeUser(tx, id)
}

// MayActTx reports, inside the caller's tenant transaction, whether the user may still act: they
// exist, are enabled and their tenant is active. Modules that hold a user's credentials (personal
// access tokens) ask it on every use.
func (s *Service) MayActTx(tx *gorm.DB, id uuid.UUID) (bool, error) {
	_, err := s.store.activeUser(tx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// DisplayNamesTx returns, inside the caller's tenant transaction, the display names of those of
// ids that are users of the tenant; an id missing from the answer is no user there. Other modules
// check and label the users they reference with it.
func (s *Service) DisplayNamesTx(tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []User
	if err := tx.Select("id", "display_name").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("display names: %w", err)
	}
	for _, u := range rows {
		out[u.ID] = u.DisplayName
	}
	return out, nil
}

// ByEmail finds a user of the tenant in ctx for login.
func (s *Service) ByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		u, err = s.store.byEmail(tx, email)
		return err
	})
	return u, err
}

// CheckPassword compares a password with a user's hash; pass a zero User to spend the same time
// on an unknown account.
func (s *Service) CheckPassword(u User, password string) bool {
	return s.hasher.Check(password, u.PasswordHash)
}

// Me returns the caller.
func (s *Service) Me(ctx context.Context) (View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return View{}, apierr.Unauthorized()
	}
	return s.Get(ctx, p.UserID)
}

func (s *Service) withRoles(ctx context.Context, u User) (View, error) {
	roles, err := s.authz.RolesOn(ctx, u.TenantID, u.ID, rbac.Root)
	if err != nil {
		return View{}, fmt.Errorf("roles of %s: %w", u.ID, err)
	}
	return u.view(roles), nil
}

func (s *Service) changed(ctx context.Context) error {
	tenantID, _ := tenancy.TenantFrom(ctx)
	return s.authz.Changed(ctx, tenantID)
}

// setTenantRole replaces the user's tenant-wide role; "member" (or empty) leaves none.
func setTenantRole(ctx context.Context, tx *gorm.DB, userID uuid.UUID, role string) error {
	pol, err := rbac.PolicyIn(ctx, tx)
	if err != nil {
		return err
	}
	current, err := pol.UserRolesOn(userID, rbac.Root)
	if err != nil {
		return err
	}
	for _, r := range current {
		if err := pol.RevokeUser(userID, r, rbac.Root); err != nil {
			return err
		}
	}
	if role == "" || role == "member" {
		return nil
	}
	if err := pol.GrantUser(userID, role, rbac.Root); err != nil {
		if errors.Is(err, rbac.ErrUnknownRole) {
			return apierr.Invalid("role", "unknown role")
		}
		return err
	}
	return nil
}

func isSelf(ctx context.Context, id uuid.UUID) bool {
	p, ok := tenancy.PrincipalFrom(ctx)
	return ok && p.UserID == id
}
