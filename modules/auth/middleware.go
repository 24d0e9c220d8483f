package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/tenancy"
)

// CredentialVerifier turns one kind of bearer credential into a principal. Each kind is
// recognised by its shape (Accepts) before it is verified, so a string that is no known kind of
// credential is refused instead of falling through to a weaker check.
type CredentialVerifier interface {
	Accepts(raw string) bool
	Verify(ctx context.Context, raw string) (tenancy.Principal, error)
}

// RequestGuard is implemented by verifiers whose credentials are limited by the kind of request
// (a personal access token without the `write` scope may only use safe methods). Authenticate
// asks it after Verify, with the principal already in ctx so that the refusal is attributed
// and logged, and before the handler runs.
type RequestGuard interface {
	Guard(ctx context.Context, p tenancy.Principal, method, path string) error
}

// Authenticate is the middleware in front of every non-public route. It accepts access tokens
// and any extra verifiers (personal access tokens), and then checks, on every request, that the
// user is still enabled, the tenant still active and the session not revoked.
func (s *Service) Authenticate(extra ...CredentialVerifier) fiber.Handler {
	verifiers := append([]CredentialVerifier{sessionVerifier{s}}, extra...)
	return func(c *fiber.Ctx) error {
		raw, ok := bearer(c.Get(fiber.HeaderAuthorization))
		if !ok {
			return apierr.Unauthorized()
		}
		var v CredentialVerifier
		for _, cand := range verifiers {
			if cand.Accepts(raw) {
				v = cand
				break
			}
		}
		if v == nil {
			return apierr.Unauthorized()
		}
		p, err := v.Verify(c.UserContext(), raw)
		if err != nil {
			return err
		}
		c.Locals(web.LocalTenant, p.TenantID)
		c.Locals(web.LocalUser, p.UserID)
		// One unit of work from here to the end of the handler: the liveness check, every
		// decision and the handler's reads share one connection, and a safe method's one
		// snapshot.
		ctx, unit := s.db.BeginUnit(tenancy.WithPrincipal(c.UserContext(), p), safeMethod(c.Method()))
		defer unit.End()
		c.SetUserContext(ctx)
		if l, ok := v.(liveness); ok {
			if err := l.Live(ctx, p); err != nil {
				return err
			}
		}
		if g, ok := v.(RequestGuard); ok {
			if err := g.Guard(c.UserContext(), p, c.Method(), c.Path()); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

// liveness is implemented by verifiers whose Verify checks only the credential itself (a signed
// access token): Live then checks, inside the request's unit of work, that the principal may
// still act.
type liveness interface {
	Live(ctx context.Context, p tenancy.Principal) error
}

// safeMethod reports whether the HTTP method only reads.
func safeMethod(m string) bool {
	return m == fiber.MethodGet || m == fiber.MethodHead || m == fiber.MethodOptions
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// sessionVerifier accepts the access tokens of password logins.
type sessionVerifier struct{ s *Service }

func (sessionVerifier) Accepts(raw string) bool {
	return strings.Count(raw, ".") == 2 && !strings.HasPrefix(raw, refreshPrefix)
}

func (v sessionVerifier) Verify(ctx context.Context, raw string) (tenancy.Principal, error) {
	claims, err := v.s.signer.verify(raw)
	if err != nil {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	userID, err := uuid.Parse(claims.Subject)
	if err != nil {
		return tenancy.Principal{}, apierr.Unauthorized()
	}
	return tenancy.Principal{TenantID: claims.TenantID, UserID: userID, Kind: tenancy.CredentialSession,
		SessionID: claims.SessionID}, nil
}

// Live refuses a session whose user, tenant or session has ended since the token was signed.
func (v sessionVerifier) Live(ctx context.Context, p tenancy.Principal) error {
	return v.s.checkLive(ctx, p)
}

// checkLive refuses a principal whose user is disabled, whose tenant is suspended or whose
// session was revoked, at once and not only when the access token expires.
// A live answer is kept in the node's LiveCache (see there for how it is dropped and when it is
// not trusted).
func (s *Service) checkLive(ctx context.Context, p tenancy.Principal) error {
	key := LiveKey{Tenant: p.TenantID, Credential: p.SessionID}
	if owner, _, ok := s.live.Get(key); ok && owner == p.UserID {
		return nil
	}
	ticket := s.live.Begin()
	if err := s.checkLiveDB(ctx, p); err != nil {
		return err
	}
	s.live.Put(ticket, key, p.UserID, nil)
	return nil
}

func (s *Service) checkLiveDB(ctx context.Context, p tenancy.Principal) error {
	ctx = tenancy.WithTenant(ctx, p.TenantID)
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.users.ActiveTx(tx, p.UserID); err != nil {
			return err
		}
		live, err := s.store.sessionLive(tx, p.UserID, p.SessionID, s.now())
		if err != nil {
			return err
		}
		if !live {
			return errNoRefresh
		}
		return nil
	})
	if isNotFound(err) || errors.Is(err, errNoRefresh) {
		return apierr.Unauthorized()
	}
	return err
}
