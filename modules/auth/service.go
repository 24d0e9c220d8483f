package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/users"
	"github.com/atelier-hq/atelier/tenancy"
)

// Users is what auth needs of the users module.
type Users interface {
	ByEmail(ctx context.Context, email string) (users.User, error)
	CheckPassword(u users.User, password string) bool
	ActiveTx(tx *gorm.DB, id uuid.UUID) (users.User, error)
}

// Tenants resolves a tenant slug to its id, for active tenants only: uuid.Nil, and no error, for
// a slug that names no active tenant.
type Tenants interface {
	ActiveBySlug(ctx context.Context, slug string) (uuid.UUID, error)
}

// Limiter counts attempts in Redis, so the limits hold across API nodes.
type Limiter interface {
	Allow(ctx context.Context, key string, limit redis_rate.Limit) (*redis_rate.Result, error)
	AllowN(ctx context.Context, key string, limit redis_rate.Limit, n int) (*redis_rate.Result, error)
}

// Config tunes the service.
type Config struct {
	Secret          []byte
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	PerAccount      int
	PerAddress      int
	LimitWindow     time.Duration
	RevokedKeepTime time.Duration
	// LiveCacheTTL is how long a node trusts a liveness check it made (0: it checks on every
	// request). The cache serves only while the events hub's subscription is up (LiveCache).
	LiveCacheTTL time.Duration
}

// Service holds the rules of sessions.
type Service struct {
	db      *tenancy.DB
	users   Users
	tenants Tenants
	limiter Limiter
	signer  signer
	cfg     Config
	store   store
	log     *slog.Logger
	now     func() time.Time
	streams StreamEnder
	live    *LiveCache
}

// StreamEnder is told, after commit, that sessions ended, so that the live event streams opened
// through them close on every node (the events hub).
type StreamEnder interface {
	UserEnded(ctx context.Context, tenantID, userID uuid.UUID)
	SessionEnded(ctx context.Context, tenantID, userID, sessionID uuid.UUID)
}

// LiveCache is the node's cache of liveness checks; the events hub watches it (Hub.Watch) and
// personal access tokens share it.
func (s *Service) LiveCache() *LiveCache { return s.live }

// SetStreamEnder connects the event streams.
func (s *Service) SetStreamEnder(e StreamEnder) { s.streams = e }

// Live answers nil while a session principal may still act: the user enabled, the tenant active
// and the session not revoked (an apierr.Unauthorized otherwise). Long-lived streams ask it.
func (s *Service) Live(ctx context.Context, p tenancy.Principal) error { return s.checkLive(ctx, p) }

// NewService wires the service.
func NewService(db *tenancy.DB, u Users, t Tenants, l Limiter, cfg Config, log *slog.Logger) *Service {
	if cfg.RevokedKeepTime == 0 {
		cfg.RevokedKeepTime = 24 * time.Hour
	}
	now := func() time.Time { return time.Now().UTC() }
	return &Service{db: db, users: u, tenants: t, limiter: l, cfg: cfg, log: log, now: now,
		signer: newSigner(cfg.Secret, cfg.AccessTTL, now), live: NewLiveCache(cfg.LiveCacheTTL, 0, now)}
}

// LoginInput is a password login.
type LoginInput struct {
	Tenant   string `json:"tenant" validate:"required,max=63"`
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=256"`
}

// RefreshInput exchanges a refresh token for a new pair.
type RefreshInput struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=4096"`
}

// LogoutInput ends the session the refresh token belongs to; all ends every session of the caller.
type LogoutInput struct {
	RefreshToken string `json:"refresh_token" validate:"max=200"`
	All          bool   `json:"all"`
}

// Tokens is a login or refresh answer.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// Login checks a password. Wrong password, unknown e-mail and unknown or suspended tenant all
// answer the same 401 after the same work.
//
// The limits (issue 14: an attacker must not lock a real user out): every attempt counts
// against the client address (PerAddress per window); failed attempts count against the account
// *from that address* (PerAccount per window), checked before any hashing. After PerAccount
// failures an address gets 429 for that account, even with the right password, until the
// window lets one more through; the account's owner signing in from another address is not
// limited by them. Guessing one password from many addresses is bounded by PerAddress per
// address instead.
func (s *Service) Login(ctx context.Context, in LoginInput, clientAddr string) (Tokens, error) {
	account := strings.ToLower(strings.TrimSpace(in.Tenant)) + "/" + strings.ToLower(strings.TrimSpace(in.Email))
	failures := "login:fail:" + account + "@" + clientAddr
	spent, err := s.checkFailures(ctx, failures, s.cfg.PerAccount)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.limit(ctx, "login:addr:"+clientAddr, s.cfg.PerAddress); err != nil {
		return Tokens{}, err
	}
	tenantID, err := s.tenants.ActiveBySlug(ctx, strings.ToLower(strings.TrimSpace(in.Tenant)))
	if err != nil {
		return Tokens{}, err
	}
	var u users.User
	if tenantID != uuid.Nil {
		u, err = s.users.ByEmail(tenancy.WithTenant(ctx, tenantID), in.Email)
		if err != nil && !isNotFound(err) {
			return Tokens{}, err
		}
	}
	// CheckPassword spends the hashing time even for a zero user, so timing tells nothing.
	if !s.users.CheckPassword(u, in.Password) || u.ID == uuid.Nil || u.Disabled {
		s.log.InfoContext(ctx, "login refused", slog.String("tenant", in.Tenant), slog.String("addr", clientAddr))
		if !spent {
			if err := s.limit(ctx, failures, s.cfg.PerAccount); err != nil && !apierr.Is(err, apierr.CodeRateLimited) {
				return Tokens{}, err
			}
		}
		return Tokens{}, apierr.Unauthorized()
	}
	ctx = tenancy.WithTenant(ctx, tenantID)
	var tokens Tokens
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		tokens, err = s.startSession(tx, tenantID, u.ID, uuid.Nil)
		return err
	})
	return tokens, err
}

// Refresh rotates a refresh token. Presenting a token that was already rotated is reuse: the
// whole family is revoked, the access tokens of that session stop working, and the answer is 401.
func (s *Service) Refresh(ctx context.Context, raw string) (Tokens, error) {
	sec, err := parseRefresh(raw)
	if err != nil {
		return Tokens{}, apierr.Unauthorized()
	}
	ctx = tenancy.WithTenant(ctx, sec.TenantID)
	var (
		tokens Tokens
		reused bool
		family RefreshToken
	)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rt, err := s.store.lockForRotation(tx, sec.ID)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case !sameHash(rt.SecretHash, sec.hash()):
			return errNoRefresh
		case rt.RevokedAt != nil || !rt.ExpiresAt.After(now):
			return errNoRefresh
		case rt.RotatedAt != nil:
			reused, family = true, rt
			return s.store.revokeFamily(tx, rt.FamilyID, now)
		}
		if _, err := s.users.ActiveTx(tx, rt.UserID); err != nil {
			return err
		}
		if err := s.store.markRotated(tx, rt.ID, now); err != nil {
			return err
		}
		tokens, err = s.startSession(tx, sec.TenantID, rt.UserID, rt.FamilyID)
		return err
	})
	if reused {
		s.log.WarnContext(ctx, "refresh token reuse: session revoked", slog.String("tenant_id", sec.TenantID.String()))
		if err == nil && s.streams != nil {
			s.streams.SessionEnded(ctx, sec.TenantID, family.UserID, family.FamilyID)
		}
		return Tokens{}, apierr.Unauthorized()
	}
	if errors.Is(err, errNoRefresh) || isNotFound(err) {
		return Tokens{}, apierr.Unauthorized()
	}
	return tokens, err
}

// Logout revokes the session of the given refresh token (which must be the caller's), or every
// session of the caller. Sessions are a person's: a personal access token may not end them
// (a leaked script token must not be able to sign its owner out everywhere); it revokes itself
// through DELETE /me/tokens/{id}.
func (s *Service) Logout(ctx context.Context, in LogoutInput) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return apierr.Unauthorized()
	}
	if p.Kind != tenancy.CredentialSession {
		return apierr.Forbidden("only an interactive session may end sessions; revoke a token with DELETE /api/v1/me/tokens/{id}")
	}
	ended := p.SessionID
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		if in.All || in.RefreshToken == "" {
			if in.All {
				return s.store.revokeUser(tx, p.UserID, now)
			}
			return s.store.revokeFamily(tx, p.SessionID, now)
		}
		sec, err := parseRefresh(in.RefreshToken)
		if err != nil || sec.TenantID != p.TenantID {
			return apierr.Invalid("refresh_token", "not a refresh token of yours")
		}
		rt, err := s.store.lockForRotation(tx, sec.ID)
		if err != nil || rt.UserID != p.UserID || !sameHash(rt.SecretHash, sec.hash()) {
			return apierr.Invalid("refresh_token", "not a refresh token of yours")
		}
		ended = rt.FamilyID
		return s.store.revokeFamily(tx, rt.FamilyID, now)
	})
	if err != nil || s.streams == nil {
		return err
	}
	switch {
	case in.All:
		s.streams.UserEnded(ctx, p.TenantID, p.UserID)
	case ended != uuid.Nil:
		s.streams.SessionEnded(ctx, p.TenantID, p.UserID, ended)
	}
	return nil
}

// RevokeUserSessions ends every session of the user inside the caller's tenant transaction.
func (s *Service) RevokeUserSessions(tx *gorm.DB, userID uuid.UUID) error {
	return s.store.revokeUser(tx, userID, s.now())
}

// PurgeRefreshTokens deletes the tenant's refresh tokens that can never be used again.
func (s *Service) PurgeRefreshTokens(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		n, err = s.store.purge(tx, s.now(), s.cfg.RevokedKeepTime)
		return err
	})
	return n, err
}

func (s *Service) startSession(tx *gorm.DB, tenantID, userID, familyID uuid.UUID) (Tokens, error) {
	sec, err := newRefreshSecret(tenantID)
	if err != nil {
		return Tokens{}, err
	}
	if familyID == uuid.Nil {
		familyID = sec.ID
	}
	rt := RefreshToken{ID: sec.ID, UserID: userID, FamilyID: familyID, SecretHash: sec.hash(),
		ExpiresAt: s.now().Add(s.cfg.RefreshTTL)}
	if err := s.store.insert(tx, &rt); err != nil {
		return Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	access, _, err := s.signer.issue(tenantID, userID, familyID)
	if err != nil {
		return Tokens{}, fmt.Errorf("sign access token: %w", err)
	}
	return Tokens{AccessToken: access, RefreshToken: sec.String(), TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL / time.Second)}, nil
}

// checkFailures refuses when the failure budget under key is spent, without spending any: a
// look (a zero-cost request to the limiter), and only when that finds nothing left, a real
// request for the answer's Retry-After. spent reports that the real request went through
// (the window freed one meanwhile), so the caller does not count the attempt twice.
func (s *Service) checkFailures(ctx context.Context, key string, n int) (spent bool, err error) {
	if n <= 0 {
		return false, nil
	}
	res, err := s.limiter.AllowN(ctx, key, redis_rate.Limit{Rate: n, Burst: n, Period: s.cfg.LimitWindow}, 0)
	if err != nil {
		return false, apierr.Unavailable("rate limiter", err)
	}
	if res.Remaining >= 1 {
		return false, nil
	}
	if err := s.limit(ctx, key, n); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Service) limit(ctx context.Context, key string, n int) error {
	if n <= 0 {
		return nil
	}
	res, err := s.limiter.Allow(ctx, key, redis_rate.Limit{Rate: n, Burst: n, Period: s.cfg.LimitWindow})
	if err != nil {
		return apierr.Unavailable("rate limiter", err)
	}
	if res.Allowed == 0 {
		return apierr.RateLimited(int(res.RetryAfter / time.Second))
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, users.ErrNotFound) }
