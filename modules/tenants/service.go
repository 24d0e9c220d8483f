package tenants

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Users creates the first admin inside the sign-up transaction.
type Users interface {
	CreateAdminTx(ctx context.Context, tx *gorm.DB, in AdminInput) (SignUpUser, error)
}

// Workspaces creates the tenant's root `default` workspace, owned by its first admin, inside the
// sign-up transaction.
type Workspaces interface {
	CreateDefaultTx(ctx context.Context, tx *gorm.DB, ownerID uuid.UUID) error
}

// Seeder adds a module's starting content (the system workflows, say) to a new tenant inside the
// sign-up transaction, after its first admin and default workspace exist.
type Seeder interface {
	SeedTenant(ctx context.Context, tx *gorm.DB) error
}

// Service holds the tenant registry's rules.
type Service struct {
	db            *tenancy.DB
	users         Users
	workspaces    Workspaces
	signupEnabled bool
	seeders       []Seeder
	streams       StreamEnder
	limiter       Limiter
	perAddress    int
	window        time.Duration
}

// AddSeeder has every later sign-up run the seeder.
func (s *Service) AddSeeder(sd Seeder) { s.seeders = append(s.seeders, sd) }

// StreamEnder is told that a tenant was suspended, so that its live event streams close on
// every node (the events hub).
type StreamEnder interface {
	TenantEnded(ctx context.Context, tenantID uuid.UUID)
}

// SetStreamEnder connects the event streams.
func (s *Service) SetStreamEnder(e StreamEnder) { s.streams = e }

// NewService wires the service.
func NewService(db *tenancy.DB, u Users, ws Workspaces, signupEnabled bool) *Service {
	return &Service{db: db, users: u, workspaces: ws, signupEnabled: signupEnabled}
}

// Limiter counts attempts under a key (redis_rate.Limiter).
type Limiter interface {
	Allow(ctx context.Context, key string, limit redis_rate.Limit) (*redis_rate.Result, error)
}

// SetSignUpLimit limits anonymous sign-ups per client address (perAddress per window; 0: no
// limit). A sign-up costs an argon2id hash and a tenant's worth of rows, so one address may not
// make them at will.
func (s *Service) SetSignUpLimit(l Limiter, perAddress int, window time.Duration) {
	s.limiter, s.perAddress, s.window = l, perAddress, window
}

// SignUp creates a tenant, its built-in roles, its first admin and its `default` workspace in
// one transaction: a failure anywhere leaves nothing behind. Anonymous callers are limited per
// client address, before any work.
func (s *Service) SignUp(ctx context.Context, in SignUpInput, clientAddr string) (SignUpResult, error) {
	if !s.signupEnabled {
		return SignUpResult{}, apierr.Forbidden("sign-up is disabled on this deployment")
	}
	if s.limiter != nil && s.perAddress > 0 {
		res, err := s.limiter.Allow(ctx, "signup:addr:"+clientAddr, redis_rate.Limit{Rate: s.perAddress, Burst: s.perAddress, Period: s.window})
		if err != nil {
			return SignUpResult{}, apierr.Unavailable("rate limiter", err)
		}
		if res.Allowed == 0 {
			return SignUpResult{}, apierr.RateLimited(max(int(res.RetryAfter/time.Second), 1))
		}
	}
	return s.Create(ctx, in)
}

// Create is SignUp without the sign-up switch, for operators.
func (s *Service) Create(ctx context.Context, in SignUpInput) (SignUpResult, error) {
	name := strings.TrimSpace(in.Name)
	if err := checkSignUp(name, in); err != nil {
		return SignUpResult{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return SignUpResult{}, err
	}
	t := Tenant{ID: id, Slug: in.Slug, Name: name, Settings: "{}", Status: StatusActive}
	var admin SignUpUser
	ctx = tenancy.WithTenant(ctx, id)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apierr.Conflict("this slug is taken")
			}
			return fmt.Errorf("insert tenant: %w", err)
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if err := pol.SeedBuiltinRoles(); err != nil {
			return err
		}
		if admin, err = s.users.CreateAdminTx(ctx, tx, in.Admin); err != nil {
			return err
		}
		if err = s.workspaces.CreateDefaultTx(ctx, tx, admin.ID); err != nil {
			return err
		}
		for _, sd := range s.seeders {
			if err := sd.SeedTenant(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SignUpResult{}, err
	}
	return SignUpResult{Tenant: View{ID: t.ID, Slug: t.Slug, Name: t.Name},
		User: admin}, nil
}

// checkSignUp refuses what the validate tags cannot express: a name of only spaces, and text
// PostgreSQL cannot store (a NUL byte), which would otherwise fail the insert with a 500.
func checkSignUp(name string, in SignUpInput) error {
	switch {
	case name == "":
		return apierr.Invalid("name", "is required")
	case strings.ContainsRune(name, 0):
		return apierr.Invalid("name", "must not contain NUL characters")
	case strings.ContainsRune(in.Admin.DisplayName, 0):
		return apierr.Invalid("admin.display_name", "must not contain NUL characters")
	}
	return nil
}

// ActiveBySlug resolves a slug for login; a missing or suspended tenant is uuid.Nil (no error).
func (s *Service) ActiveBySlug(ctx context.Context, slug string) (uuid.UUID, error) {
	// A string that cannot be a slug names no tenant; asking PostgreSQL about it could even fail
	// (a NUL byte), which would turn a login's 401 into a 500.
	if !web.SlugPattern.MatchString(slug) {
		return uuid.Nil, nil
	}
	var t Tenant
	err := s.db.Registry(ctx).Where("slug = ? AND status = ?", slug, StatusActive).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("look up tenant: %w", err)
	}
	return t.ID, nil
}

// SetStatus suspends or reactivates a tenant (operators).
func (s *Service) SetStatus(ctx context.Context, slug, status string) error {
	var t Tenant
	if err := s.db.Registry(ctx).Where("slug = ?", slug).Take(&t).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return apierr.NotFound("tenant")
		}
		return err
	}
	res := s.db.Registry(ctx).Model(&Tenant{}).Where("id = ?", t.ID).Update("status", status)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return apierr.NotFound("tenant")
	}
	if status != StatusActive && s.streams != nil {
		s.streams.TenantEnded(ctx, t.ID)
	}
	return nil
}

// IDs lists every tenant id, for maintenance jobs that visit tenants one at a time.
func (s *Service) IDs(ctx context.Context) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.db.Registry(ctx).Model(&Tenant{}).Order("id").Pluck("id", &ids).Error
	return ids, err
}
