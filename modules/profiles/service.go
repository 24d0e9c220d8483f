package profiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/datatypes"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	RightsOn(ctx context.Context, tenantID, userID uuid.UUID, node string) (rbac.Rights, error)
	Changed(ctx context.Context, tenantID uuid.UUID) error
}

// Workspaces resolves a `{ws}` of a route (an id or a path with / written as ~) to a workspace
// the caller can see; one the caller cannot see is not found.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// Auditor records every change to profiles and assignments.
type Auditor interface {
	Record(ctx context.Context, e rbac.AuditEntry)
}

// Errors of Effective, for the modules that read profiles.
var (
	ErrUnknownType = errors.New("profiles: unknown profile type")
	ErrUnknownNode = errors.New("profiles: no such node")
)

// Limits of a profile's texts.
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 1000
)

// Service holds the rules of profiles and their assignments.
type Service struct {
	db    *tenancy.DB
	authz Authorizer
	ws    Workspaces
	guard decision.Gate
	store store
}

// NewService wires the service. audit may be nil (nothing is recorded).
func NewService(db *tenancy.DB, authz Authorizer, ws Workspaces, audit Auditor) *Service {
	return &Service{db: db, authz: authz, ws: ws, guard: decision.NewGate(authz, audit, "profile")}
}

// Types describes every registered profile type. Any signed-in caller may read it: it is the
// product's vocabulary, not tenant data.
func (s *Service) Types() []TypeView {
	ts := Types()
	out := make([]TypeView, 0, len(ts))
	for _, t := range ts {
		out = append(out, TypeView{Name: t.Name, Description: t.Description, Settings: Schema{t.Settings}, Default: t.Default})
	}
	return out
}

// List pages through the tenant's profiles, optionally of one type (profile:read on the root).
func (s *Service) List(ctx context.Context, typ string, after uuid.UUID, limit int) ([]View, error) {
	if err := s.guard.Authorize(ctx, rbac.ProfileRead, rbac.Root); err != nil {
		return nil, err
	}
	if _, ok := Lookup(typ); typ != "" && !ok {
		return nil, apierr.Invalid("type", "unknown profile type; one of: "+typeNames())
	}
	var rows []Profile
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, typ, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, p := range rows {
		out = append(out, p.view())
	}
	return out, nil
}

// Create adds a profile owned by the caller (profile:manage on the root). Settings are checked
// against the type and stored normalised; nothing is written when they fail.
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	if err := s.guard.Authorize(ctx, rbac.ProfileManage, rbac.Root); err != nil {
		return View{}, err
	}
	t, ok := Lookup(in.Type)
	if !ok {
		return View{}, apierr.Invalid("type", "unknown profile type; one of: "+typeNames())
	}
	name, err := checkName(in.Name)
	if err != nil {
		return View{}, err
	}
	if err := checkDescription(in.Description); err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	owner := p.UserID
	row := Profile{ID: id, Type: t.Name, Name: name, Description: in.Description, OwnerID: &owner}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		settings, err := s.validate(ctx, tx, t, in.Settings)
		if err != nil {
			return err
		}
		row.Settings = datatypes.JSON(settings)
		return s.store.insert(tx, &row)
	})
	if errors.Is(err, errNameTaken) {
		return View{}, apierr.Conflict("a " + t.Name + " profile with this name exists")
	}
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, rbac.ProfileManage, id, map[string]any{"op": "create", "type": t.Name, "name": name})
	return row.view(), nil
}

// Update renames, describes or re-sets a profile (profile:manage on the root). New settings are
// validated again; a change to an access profile takes effect on every decision at once.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (View, error) {
	if err := s.authz.Authorize(ctx, rbac.ProfileManage, rbac.Root); err != nil {
		return View{}, s.refused(ctx, err, id)
	}
	fields := map[string]any{"updated_at": time.Now().UTC()}
	if in.Name != nil {
		name, err := checkName(*in.Name)
		if err != nil {
			return View{}, err
		}
		fields["name"] = name
	}
	if in.Description != nil {
		if err := checkDescription(*in.Description); err != nil {
			return View{}, err
		}
		fields["description"] = *in.Description
	}
	var row, cur Profile
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if cur, err = s.store.get(tx, id); err != nil {
			return err
		}
		if in.Settings != nil {
			t, ok := Lookup(cur.Type)
			if !ok {
				return apierr.Conflict("profile type " + cur.Type + " is no longer known")
			}
			settings, err := s.validate(ctx, tx, t, in.Settings)
			if err != nil {
				return err
			}
			if err := s.checkLockout(tx, cur, settings); err != nil {
				return err
			}
			fields["settings"] = datatypes.JSON(settings)
		}
		if err := s.store.update(tx, id, fields); err != nil {
			return err
		}
		row, err = s.store.get(tx, id)
		return err
	})
	switch {
	case errors.Is(err, errNotFound):
		return View{}, apierr.NotFound("profile")
	case errors.Is(err, errNameTaken):
		return View{}, apierr.Conflict("a " + cur.Type + " profile with this name exists")
	case err != nil:
		return View{}, err
	}
	// The enforcer holds access profiles (settings and name, for explain) with the policy.
	if row.Type == TypeAccess {
		if err := s.changed(ctx); err != nil {
			return View{}, err
		}
	}
	changed := make([]string, 0, len(fields))
	for k := range fields {
		if k != "updated_at" {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	s.guard.Allow(ctx, rbac.ProfileManage, id, map[string]any{"op": "update", "type": row.Type, "fields": changed})
	return row.view(), nil
}

// Delete removes a profile and every assignment of it (profile:manage on the root).
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := s.authz.Authorize(ctx, rbac.ProfileManage, rbac.Root); err != nil {
		return s.refused(ctx, err, id)
	}
	var row Profile
	var nodes []string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = s.store.get(tx, id); err != nil {
			return err
		}
		if nodes, err = s.store.assignedOn(tx, id); err != nil {
			return err
		}
		return s.store.delete(tx, id)
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("profile")
	}
	if err != nil {
		return err
	}
	if row.Type == TypeAccess {
		if err := s.changed(ctx); err != nil {
			return err
		}
	}
	slices.Sort(nodes)
	s.guard.Allow(ctx, rbac.ProfileManage, id, map[string]any{"op": "delete", "type": row.Type, "name": row.Name,
		"unassigned_from": nodes})
	return nil
}

// checkLockout refuses new settings for an access profile assigned on the tenant root that would
// take profile:manage from admin (see lockout).
func (s *Service) checkLockout(tx *gorm.DB, p Profile, settings json.RawMessage) error {
	if p.Type != TypeAccess {
		return nil
	}
	path, bad := lockout(settings)
	if !bad {
		return nil
	}
	nodes, err := s.store.assignedOn(tx, p.ID)
	if err != nil {
		return err
	}
	if slices.Contains(nodes, rbac.Root) {
		return apierr.Invalid("settings."+path, "the profile is assigned on the tenant root, where taking "+
			"profile:manage from admin would leave nobody able to change or unassign it")
	}
	return nil
}

// validate checks settings against the type, naming each bad field as settings.<path>.
func (s *Service) validate(ctx context.Context, tx *gorm.DB, t Type, raw json.RawMessage) (json.RawMessage, error) {
	settings, err := t.Validate(ctx, &txEnv{ctx: ctx, tx: tx}, raw)
	var bad *SettingsError
	if errors.As(err, &bad) {
		fields := make([]apierr.FieldError, len(bad.Fields))
		for i, f := range bad.Fields {
			fields[i] = apierr.FieldError{Field: child("settings", f.Field), Reason: f.Reason}
			if f.Field == "" {
				fields[i].Field = "settings"
			}
		}
		return nil, apierr.InvalidFields(fields)
	}
	if err != nil {
		return nil, fmt.Errorf("validate %s settings: %w", t.Name, err)
	}
	return settings, nil
}

// refused turns a refusal to manage profile id into 403 when the caller can see the profile
// (profile:read on the root, and it exists), and 404 otherwise, like a missing id.
func (s *Service) refused(ctx context.Context, err error, id uuid.UUID) error {
	if !errors.Is(err, rbac.ErrDenied) {
		return err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	canRead, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, rbac.Root, rbac.ProfileRead)
	if err != nil {
		return err
	}
	if !canRead {
		return apierr.NotFound("profile")
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		_, err := s.store.get(tx, id)
		return err
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("profile")
	}
	if err != nil {
		return err
	}
	return apierr.Forbidden("")
}

func (s *Service) changed(ctx context.Context) error {
	tenantID, _ := tenancy.TenantFrom(ctx)
	return s.authz.Changed(ctx, tenantID)
}

// txEnv answers validation's questions from the tenant transaction.
type txEnv struct {
	ctx context.Context
	tx  *gorm.DB
	pol *rbac.Policy
}

func (e *txEnv) RoleExists(name string) (bool, error) {
	if e.pol == nil {
		pol, err := rbac.PolicyIn(e.ctx, e.tx)
		if err != nil {
			return false, err
		}
		e.pol = pol
	}
	_, err := e.pol.RoleByName(name)
	if errors.Is(err, rbac.ErrUnknownRole) {
		return false, nil
	}
	return err == nil, err
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxNameLength {
		return "", apierr.Invalid("name", fmt.Sprintf("must be 1 to %d characters", MaxNameLength))
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 || !web.SafeName(name) {
		return "", apierr.Invalid("name", web.NameRule)
	}
	return name, nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > MaxDescriptionLength {
		return apierr.Invalid("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
	// NUL, which PostgreSQL cannot store in text, never gets past web.Decode.
	return nil
}
