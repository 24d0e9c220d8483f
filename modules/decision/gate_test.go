package decision_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

type answer struct{ err error }

func (a answer) Authorize(context.Context, rbac.Action, string) error { return a.err }

type log struct{ entries []rbac.AuditEntry }

func (l *log) Record(_ context.Context, e rbac.AuditEntry) { l.entries = append(l.entries, e) }

func caller() (context.Context, tenancy.Principal) {
	p := tenancy.Principal{TenantID: uuid.New(), UserID: uuid.New()}
	return tenancy.WithPrincipal(context.Background(), p), p
}

// A denial, bare or with the decision point's reason, is 403; any other failure passes through.
func TestAuthorize_aDenialIsForbiddenAndOtherErrorsPassThrough(t *testing.T) {
	ctx, _ := caller()
	boom := errors.New("policy store down")
	for _, c := range []struct {
		name string
		err  error
		want func(error) bool
	}{
		{"allowed", nil, func(err error) bool { return err == nil }},
		{"denied", rbac.ErrDenied, func(err error) bool { return apierr.Is(err, apierr.CodeForbidden) }},
		{"denied with a reason", fmt.Errorf("%w: token lacks the write scope", rbac.ErrDenied),
			func(err error) bool { return apierr.Is(err, apierr.CodeForbidden) }},
		{"failed", boom, func(err error) bool { return errors.Is(err, boom) && !apierr.Is(err, apierr.CodeForbidden) }},
	} {
		g := decision.NewGate(answer{c.err}, nil, "board")
		if err := g.Authorize(ctx, rbac.BoardRead, rbac.Root); !c.want(err) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
	g := decision.NewGate(answer{}, nil, "role")
	if _, err := g.AuthorizeCaller(context.Background(), rbac.RoleManage, rbac.Root); !apierr.Is(err, apierr.CodeUnauthorized) {
		t.Errorf("no caller: got %v, want 401", err)
	}
}

// Entries name the caller, the action, the object as kind:id, the outcome and the reason; a
// refusal's reason is its rule and the 403 says the same.
func TestRecord_entriesNameTheCallerAndTheObject(t *testing.T) {
	ctx, p := caller()
	l := &log{}
	g := decision.NewGate(answer{}, l, "board")
	id := uuid.New()

	g.Allow(ctx, "board:create", id, map[string]any{"workspace_id": "w"})
	err := g.Forbid(ctx, "board:delete", id, "only the owner deletes a board")
	g.Record(ctx, rbac.WorkspaceCreate, "workspace:x", true, nil)

	if e, ok := apierr.As(err); !ok || e.Code != apierr.CodeForbidden || e.Message != "only the owner deletes a board" {
		t.Errorf("forbid returned %v", err)
	}
	who := rbac.UserSubject(p.UserID)
	want := []rbac.AuditEntry{
		{Subject: who, Action: "board:create", Object: "board:" + id.String(), Allowed: true, Reason: map[string]any{"workspace_id": "w"}},
		{Subject: who, Action: "board:delete", Object: "board:" + id.String(), Reason: map[string]any{"rule": "only the owner deletes a board"}},
		{Subject: who, Action: "workspace:create", Object: "workspace:x", Allowed: true},
	}
	if !reflect.DeepEqual(l.entries, want) {
		t.Errorf("entries\n got %+v\nwant %+v", l.entries, want)
	}

	// No caller, no one to name: nothing is written. No auditor: nothing to write to.
	g.Allow(context.Background(), "board:create", id, nil)
	decision.NewGate(answer{}, nil, "board").Allow(ctx, "board:create", id, nil)
	if len(l.entries) != len(want) {
		t.Errorf("%d entries, want %d", len(l.entries), len(want))
	}
}

func TestRequireWrite_onlyAReadOnlyTokenIsRefused(t *testing.T) {
	base := tenancy.Principal{TenantID: uuid.New(), UserID: uuid.New()}
	readOnly, writer := base, base
	readOnly.Kind, readOnly.Scopes = tenancy.CredentialPAT, []string{"read"}
	writer.Kind, writer.Scopes = tenancy.CredentialPAT, []string{"read", "write"}
	for _, c := range []struct {
		name   string
		ctx    context.Context
		refuse bool
	}{
		{"session", tenancy.WithPrincipal(context.Background(), base), false},
		{"token with write", tenancy.WithPrincipal(context.Background(), writer), false},
		{"read-only token", tenancy.WithPrincipal(context.Background(), readOnly), true},
	} {
		if err := decision.RequireWrite(c.ctx); (err != nil) != c.refuse {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}
