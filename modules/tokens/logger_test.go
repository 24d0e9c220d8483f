package tokens_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/tokens"
	"github.com/atelier-hq/atelier/tenancy"
)

func patCtx(tenantID, tokenID uuid.UUID) context.Context {
	return tenancy.WithPrincipal(context.Background(), tenancy.Principal{TenantID: tenantID, UserID: uuid.New(),
		Kind: tenancy.CredentialPAT, TokenID: tokenID, Scopes: []string{"read"}})
}

func req(path string, status int) tokens.Request {
	return tokens.Request{At: time.Now(), Method: "GET", Path: path, Status: status, ClientIP: "10.0.0.1", UserAgent: "t"}
}

// With the buffer full, entries are written on the caller's path instead of being dropped.
func TestLogger_fullBufferWritesInsteadOfDropping(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	c := mint(t, env, tn.Admin.Token)
	l := tokens.NewLogger(env.App.DB, nil, tokens.LoggerConfig{Buffer: 1, Batch: 1000, Interval: time.Hour})
	const n = 40
	for i := 0; i < n; i++ {
		l.Record(patCtx(tn.ID, c.ID), nil, req("/full", 200))
	}
	l.Close()
	if got := logRows(t, env, tn.ID, "path = ?", "/full"); got != n || l.Lost() != 0 {
		t.Errorf("%d of %d entries written, %d lost", got, n, l.Lost())
	}
	// After Close, entries are still written (directly).
	l.Record(patCtx(tn.ID, c.ID), nil, req("/after-close", 200))
	if got := logRows(t, env, tn.ID, "path = ?", "/after-close"); got != 1 {
		t.Errorf("entry after close: %d rows", got)
	}
}

// A row that cannot be written (its token is gone) is counted as lost and does not take the
// rest of its batch with it; requests that are no token's are not recorded at all.
func TestLogger_oneBadRowLosesOnlyItself(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	c := mint(t, env, tn.Admin.Token)
	l := tokens.NewLogger(env.App.DB, nil, tokens.LoggerConfig{Interval: time.Hour})
	t.Cleanup(l.Close)
	l.Record(patCtx(tn.ID, c.ID), nil, req("/batch", 200))
	l.Record(patCtx(tn.ID, uuid.New()), nil, req("/batch", 200))
	l.Record(patCtx(tn.ID, c.ID), nil, req("/batch", 500))
	// A session's request, and a plain 401, belong to no token.
	l.Record(tenancy.WithPrincipal(context.Background(), tenancy.Principal{TenantID: tn.ID, UserID: tn.Admin.ID,
		Kind: tenancy.CredentialSession}), nil, req("/batch", 200))
	l.Record(context.Background(), apierr.Unauthorized(), req("/batch", 401))
	// A refused genuine token is attributed to it.
	l.Record(context.Background(), &tokens.RefusedError{TenantID: tn.ID, TokenID: c.ID, Reason: "revoked"}, req("/batch", 401))
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := logRows(t, env, tn.ID, "path = ?", "/batch"); got != 3 || l.Lost() != 1 {
		t.Errorf("%d rows written, %d lost; want 3 and 1", got, l.Lost())
	}
	if got := logRows(t, env, tn.ID, "path = ? AND status IN (401, 500)", "/batch"); got != 2 {
		t.Errorf("%d error answers written, want the 500 and the refused 401", got)
	}
}

// Stored strings are made storable: invalid UTF-8 and NUL bytes never fail the insert.
func TestLogger_unstorableTextIsCleanedNotLost(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	c := mint(t, env, tn.Admin.Token)
	l := tokens.NewLogger(env.App.DB, nil, tokens.LoggerConfig{})
	t.Cleanup(l.Close)
	r := req("/bad\x00path\xff", 404)
	r.UserAgent = "ua\x00\xfe" + string(make([]byte, 2000))
	l.Record(patCtx(tn.ID, c.ID), nil, r)
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := logRows(t, env, tn.ID, "status = 404 AND octet_length(user_agent) <= 512 AND octet_length(path) <= 2048"); got != 1 || l.Lost() != 0 {
		t.Errorf("%d rows, %d lost", got, l.Lost())
	}
	var nilLogger *tokens.Logger
	nilLogger.Record(patCtx(tn.ID, c.ID), nil, r) // a nil logger records nothing and does not panic
	if err := nilLogger.Flush(context.Background()); err != nil {
		t.Error(err)
	}
}
