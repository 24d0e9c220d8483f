package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
}

// Users is what tokens need of the users module: is the owner still allowed to act (enabled,
// tenant active), checked inside the verifying transaction.
type Users interface {
	MayActTx(tx *gorm.DB, id uuid.UUID) (bool, error)
}

// Auditor records granted changes and denials (the audit module).
type Auditor interface {
	Record(ctx context.Context, e rbac.AuditEntry)
}

// Config tunes the service. Zero fields take the defaults.
type Config struct {
	// Retention is how long access log entries are kept; zero or less keeps them forever.
	Retention time.Duration
	// PruneBatch bounds one retention delete (default 5000).
	PruneBatch int
	// NoticeWindow is how long before expiry the owner is told (default 7 days).
	NoticeWindow time.Duration
	// TouchInterval is the resolution of last_used_at: at most one write per token per interval
	// (default 1 minute).
	TouchInterval time.Duration
}

// Defaults of Config.
const (
	DefaultPruneBatch    = 5000
	DefaultNoticeWindow  = 7 * 24 * time.Hour
	DefaultTouchInterval = time.Minute
)

// SystemSubject is the audit subject of what the periodic tasks do.
const SystemSubject = "system"

// Service holds the rules of personal access tokens. It is also the credential verifier the
// authentication middleware asks for `atl_pat_` tokens (Accepts, Verify, Guard).
type Service struct {
	live     *auth.LiveCache
	db       *tenancy.DB
	authz    Authorizer
	users    Users
	audit    Auditor
	guard    decision.Gate
	notifier Notifier
	streams  StreamEnder
	readLike map[string]bool
	store    store
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
}

// NewService wires the service. audit may be nil (nothing is recorded).
func NewService(db *tenancy.DB, authz Authorizer, u Users, audit Auditor, cfg Config, log *slog.Logger) *Service {
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = DefaultPruneBatch
	}
	if cfg.NoticeWindow <= 0 {
		cfg.NoticeWindow = DefaultNoticeWindow
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = DefaultTouchInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if audit == nil {
		audit = noAudit{}
	}
	return &Service{db: db, authz: authz, users: u, audit: audit,
		guard: decision.NewGate(authz, audit, "token"), notifier: LogNotifier{Log: log}, cfg: cfg,
		log: log, now: func() time.Time { return time.Now().UTC() }}
}

// StreamEnder is told, after commit, that a token was revoked, so that the live event streams
// opened with it close on every node (the events hub).
type StreamEnder interface {
	TokenEnded(ctx context.Context, tenantID, tokenID uuid.UUID)
}

// SetStreamEnder connects the event streams.
func (s *Service) SetStreamEnder(e StreamEnder) { s.streams = e }

// AllowForReadTokens lets a token without the write scope call one route that uses an unsafe
// method only to read (minting an event-stream ticket, which opens nothing but a read). path is
// the full path without parameters. Call it while wiring, before serving.
func (s *Service) AllowForReadTokens(method, path string) {
	if s.readLike == nil {
		s.readLike = map[string]bool{}
	}
	s.readLike[method+" "+path] = true
}

// Live answers nil while a token principal may still act: the token neither revoked nor
// expired, its owner enabled and the tenant active (an apierr.Unauthorized otherwise).
// Long-lived streams opened with the token ask it.
func (s *Service) Live(ctx context.Context, p tenancy.Principal) error {
	if p.Kind != tenancy.CredentialPAT {
		return apierr.Unauthorized()
	}
	ctx = tenancy.WithTenant(ctx, p.TenantID)
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		t, err := s.store.get(tx, p.TokenID)
		if err != nil {
			return err
		}
		if t.UserID != p.UserID || t.RevokedAt != nil || !t.ExpiresAt.After(now) {
			return errNotFound
		}
		ok, err := s.users.MayActTx(tx, t.UserID)
		if err == nil && !ok {
			return errNotFound
		}
		return err
	})
	if errors.Is(err, errNotFound) {
		return apierr.Unauthorized()
	}
	return err
}

// SetNotifier replaces the expiry notifier (the events module; tests).
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// SetClock replaces the clock (tests of expiry). Call it before the service is used.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Create mints a token for the caller. Only an interactive session may: a token cannot mint
// tokens, so it can never outlive or widen itself.
func (s *Service) Create(ctx context.Context, in CreateInput) (Created, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return Created{}, apierr.Unauthorized()
	}
	if p.Kind != tenancy.CredentialSession {
		s.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: "token:create",
			Object: "token", Allowed: false, Reason: map[string]any{"rule": "only an interactive session may create tokens",
				"credential": string(p.Kind), "token": p.TokenID.String()}})
		return Created{}, apierr.Forbidden("only an interactive session may create tokens")
	}
	name, scopes, days, err := checkCreate(in)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	var (
		t   Token
		sec secret
	)
	// The visible prefix comes from the id, which is unique; a clash is astronomically unlikely
	// but would only cost a new id.
	for attempt := 0; ; attempt++ {
		if sec, err = newSecret(p.TenantID); err != nil {
			return Created{}, fmt.Errorf("new token: %w", err)
		}
		t = Token{ID: sec.ID, UserID: p.UserID, Name: name, Prefix: sec.visible(), SecretHash: sec.hash(),
			Scopes: scopes, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Second), CreatedAt: now}
		err = s.db.Tx(ctx, func(tx *gorm.DB) error { return s.store.insert(tx, &t) })
		if !errors.Is(err, errPrefixTaken) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return Created{}, fmt.Errorf("insert token: %w", err)
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: "token:create",
		Object: "token:" + t.ID.String(), Allowed: true, Reason: map[string]any{"name": t.Name, "prefix": t.Prefix,
			"scopes": scopes, "expires_at": t.ExpiresAt}})
	return Created{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: slices.Clone(scopes), ExpiresAt: t.ExpiresAt,
		CreatedAt: t.CreatedAt, Token: sec.String()}, nil
}

// checkCreate validates the input beyond its tags and applies the defaults.
func checkCreate(in CreateInput) (name string, scopes []string, days int, err error) {
	name = strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return "", nil, 0, apierr.Invalid("name", "must not be blank")
	case len([]rune(name)) > MaxNameLen:
		return "", nil, 0, apierr.Invalid("name", "must be at most 100 characters")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", nil, 0, apierr.Invalid("name", "must not contain control characters")
	}
	scopes, err = checkScopes(in.Scopes)
	if err != nil {
		return "", nil, 0, err
	}
	days = DefaultExpiresDays
	if in.ExpiresInDays != nil {
		days = *in.ExpiresInDays
	}
	if days < MinExpiresInDays || days > MaxExpiresInDays {
		return "", nil, 0, apierr.Invalid("expires_in_days", "must be between 1 and 3650")
	}
	return name, scopes, days, nil
}

// checkScopes accepts exactly the sets {read} and {read, write} (absent: {read}); `write` alone,
// unknown scopes, duplicates and an empty list are refused rather than guessed at.
func checkScopes(in []string) ([]string, error) {
	if in == nil {
		return []string{ScopeRead}, nil
	}
	set := slices.Clone(in)
	slices.Sort(set)
	switch {
	case slices.Equal(set, []string{ScopeRead}):
		return []string{ScopeRead}, nil
	case slices.Equal(set, []string{ScopeRead, ScopeWrite}):
		return []string{ScopeRead, ScopeWrite}, nil
	}
	return nil, apierr.Invalid("scopes", `must be ["read"] or ["read","write"]`)
}

// List pages through the caller's own tokens.
func (s *Service) List(ctx context.Context, after uuid.UUID, limit int) ([]View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	var rows []Token
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.listOwn(tx, p.UserID, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	now := s.now()
	out := make([]View, 0, len(rows))
	for _, t := range rows {
		out = append(out, t.view(now))
	}
	return out, nil
}

// Revoke revokes one of the caller's own tokens. Anyone else's token, of this tenant or another,
// is not found: the owner is in the statement, so it cannot be revoked here.
func (s *Service) Revoke(ctx context.Context, id uuid.UUID) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return apierr.Unauthorized()
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error { return s.store.revokeOwn(tx, id, p.UserID, s.now()) })
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("token")
	}
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: "token:revoke",
		Object: "token:" + id.String(), Allowed: true, Reason: map[string]any{"by": "owner"}})
	s.ended(ctx, p.TenantID, id)
	return nil
}

// RevokeUserSessions revokes every live token of the user inside the caller's transaction (the
// users module, when it disables the user). Decided (issue 14): disabling a user revokes their
// personal access tokens for good, as it ends their sessions; re-enabling the user revives none,
// and the owner makes new ones.
func (s *Service) RevokeUserSessions(tx *gorm.DB, userID uuid.UUID) error {
	return tx.Model(&Token{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", s.now()).Error
}

// AccessLog pages through the log of one of the caller's own tokens, newest first.
func (s *Service) AccessLog(ctx context.Context, id, before uuid.UUID, limit int) ([]LogView, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	var rows []AccessEntry
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		mine, err := s.store.owned(tx, id, p.UserID)
		if err != nil {
			return err
		}
		if !mine {
			return errNotFound
		}
		rows, err = s.store.accessLog(tx, id, before, limit)
		return err
	})
	if errors.Is(err, errNotFound) {
		return nil, apierr.NotFound("token")
	}
	if err != nil {
		return nil, fmt.Errorf("access log of token %s: %w", id, err)
	}
	out := make([]LogView, 0, len(rows))
	for _, e := range rows {
		out = append(out, e.view())
	}
	return out, nil
}

// ListAll pages through every token of the tenant with its owner (token:read: tenant admins
// and auditors).
func (s *Service) ListAll(ctx context.Context, after uuid.UUID, limit int) ([]AdminView, error) {
	if err := s.guard.Authorize(ctx, rbac.TokenRead, rbac.Root); err != nil {
		return nil, err
	}
	var rows []adminRow
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.listAll(tx, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tenant tokens: %w", err)
	}
	now := s.now()
	out := make([]AdminView, 0, len(rows))
	for _, r := range rows {
		out = append(out, AdminView{View: r.Token.view(now),
			Owner: Owner{ID: r.UserID, Email: r.OwnerEmail, DisplayName: r.OwnerDisplayName}})
	}
	return out, nil
}

// RevokeAny revokes any token of the tenant (token:manage: tenant admins).
func (s *Service) RevokeAny(ctx context.Context, id uuid.UUID) error {
	if err := s.guard.Authorize(ctx, rbac.TokenManage, rbac.Root); err != nil {
		return err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	var owner uuid.UUID
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		t, err := s.store.get(tx, id)
		if err != nil {
			return err
		}
		owner = t.UserID
		return s.store.revokeAny(tx, id, s.now())
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("token")
	}
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: rbac.UserSubject(p.UserID), Action: string(rbac.TokenManage),
		Object: "token:" + id.String(), Allowed: true, Reason: map[string]any{"op": "revoke", "owner": owner.String()}})
	s.ended(ctx, p.TenantID, id)
	return nil
}

func (s *Service) ended(ctx context.Context, tenantID, tokenID uuid.UUID) {
	if s.streams != nil {
		s.streams.TokenEnded(ctx, tenantID, tokenID)
	}
}

type noAudit struct{}

func (noAudit) Record(context.Context, rbac.AuditEntry) {}
