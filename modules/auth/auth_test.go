package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
)

func TestLogin_unknownTenantEmailAndWrongPasswordAnswerTheSame(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.SignUp(t)
	disabledEmail := "gone@" + tn.Slug + ".test"
	disabledID := createUser(t, env, tn, disabledEmail, "editor")
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/users/"+disabledID.String(), tn.Admin.Token,
		map[string]any{"disabled": true}), http.StatusOK)

	cases := []struct {
		name, tenant, email, password string
	}{
		{"wrong password", tn.Slug, tn.Admin.Email, "not the password"},
		{"unknown e-mail", tn.Slug, "nobody@" + tn.Slug + ".test", apptest.Password},
		{"unknown tenant", apptest.NewSlug("none"), tn.Admin.Email, apptest.Password},
		{"tenant that is not a slug", "Not A Slug", tn.Admin.Email, apptest.Password},
		{"e-mail of another tenant", tn.Slug, other.Admin.Email, apptest.Password},
		{"right password, disabled user", tn.Slug, disabledEmail, apptest.Password},
	}
	// PostgreSQL refuses NUL in text: such input is a 400 naming the field, before any lookup,
	// so it reveals nothing about the account either, and is never a 500.
	for field, r := range map[string]apptest.Response{
		"email":  login(env, tn.Slug, "admin\x00@"+tn.Slug+".test", apptest.Password),
		"tenant": login(env, tn.Slug+"\x00", tn.Admin.Email, apptest.Password),
	} {
		apptest.WantError(t, r, http.StatusBadRequest, "invalid")
		if !bytes.Contains(r.Body, []byte(`"field":"`+field+`"`)) {
			t.Errorf("NUL in %s: %s does not name the field", field, r.Body)
		}
	}
	var reference []byte
	for _, c := range cases {
		r := login(env, c.tenant, c.email, c.password)
		apptest.WantError(t, r, http.StatusUnauthorized, "unauthorized")
		if reference == nil {
			reference = r.Body
		}
		if !bytes.Equal(r.Body, reference) {
			t.Errorf("%s: body %s differs from %s", c.name, r.Body, reference)
		}
		if containsFold(r.Body, c.email) || containsFold(r.Body, tn.Slug) {
			t.Errorf("%s: body %s names the account", c.name, r.Body)
		}
		if r.Header.Get("Retry-After") != "" {
			t.Errorf("%s: a plain failure carries Retry-After", c.name)
		}
	}
	// The same credentials with the right password do work: the refusals above were not luck.
	tokensOf(t, login(env, tn.Slug, tn.Admin.Email, apptest.Password))
}

func TestLogin_successReturnsABearerPairForFifteenMinutes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)

	// Tenant and e-mail are matched case-insensitively.
	r := login(env, strings.ToUpper(tn.Slug), strings.ToUpper(tn.Admin.Email), apptest.Password)
	tok := tokensOf(t, r)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 {
		t.Fatalf("token_type %q expires_in %d, want Bearer and 900", tok.TokenType, tok.ExpiresIn)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if !strings.HasPrefix(tok.RefreshToken, "art_") {
		t.Errorf("refresh token %q lacks the art_ prefix", tok.RefreshToken)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.AccessToken, claims); err != nil {
		t.Fatalf("access token is no JWT: %v", err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp == nil || exp.Sub(iat.Time) != 15*time.Minute {
		t.Errorf("access token lives %v, want 15m (claims %v)", exp.Sub(iat.Time), claims)
	}
	if claims["tid"] != tn.ID.String() || claims["sub"] != tn.Admin.ID.String() || claims["typ"] != "access" {
		t.Errorf("claims %v do not name tenant %s and user %s", claims, tn.ID, tn.Admin.ID)
	}

	me := env.Do(http.MethodGet, mePath, tok.AccessToken, nil)
	apptest.WantStatus(t, me, http.StatusOK)
	var v struct {
		ID       uuid.UUID `json:"id"`
		TenantID uuid.UUID `json:"tenant_id"`
		Email    string    `json:"email"`
		Roles    []string  `json:"roles"`
	}
	me.JSON(t, &v)
	if v.ID != tn.Admin.ID || v.TenantID != tn.ID || v.Email != tn.Admin.Email || len(v.Roles) != 1 || v.Roles[0] != "admin" {
		t.Errorf("/me = %+v, want the admin of %s", v, tn.Slug)
	}
}

func TestLogin_badInputIs400NamingTheField(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	cases := []struct {
		name, body, field string
	}{
		{"missing tenant", `{"email":"a@b.test","password":"x"}`, "tenant"},
		{"missing e-mail", `{"tenant":"acme","password":"x"}`, "email"},
		{"missing password", `{"tenant":"acme","email":"a@b.test"}`, "password"},
		{"unknown field", `{"tenant":"acme","email":"a@b.test","password":"x","remember":true}`, "remember"},
		{"wrong type", `{"tenant":"acme","email":"a@b.test","password":5}`, "password"},
		{"malformed JSON", `{"tenant":"acme",`, "body"},
		{"empty body", ``, "body"},
	}
	for _, c := range cases {
		r := env.Do(http.MethodPost, loginPath, "", c.body)
		apptest.WantError(t, r, http.StatusBadRequest, "invalid")
		var e struct {
			Error struct {
				Details []struct {
					Field string `json:"field"`
				} `json:"details"`
			} `json:"error"`
		}
		r.JSON(t, &e)
		if len(e.Error.Details) == 0 || e.Error.Details[0].Field != c.field {
			t.Errorf("%s: details %s, want field %q", c.name, r.Body, c.field)
		}
	}
}

func TestLogin_perAccountLimitAnswers429EvenWithTheRightPassword(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.LoginLimitPerAccount = 3 })
	tn := env.SignUp(t) // spends one of the admin's three attempts
	email := "target@" + tn.Slug + ".test"
	createUser(t, env, tn, email, "editor")

	// Three failures, two of them with the e-mail in another case: it is one account.
	for _, e := range []string{email, strings.ToUpper(email), "Target@" + tn.Slug + ".test"} {
		apptest.WantError(t, login(env, tn.Slug, e, "wrong password"), http.StatusUnauthorized, "unauthorized")
	}
	r := login(env, tn.Slug, email, apptest.Password)
	apptest.WantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantRetryAfter(t, r, env.Cfg.LoginLimitWindow)

	// An account that does not exist is limited the same way, so the limit tells nothing either.
	ghost := "ghost@" + tn.Slug + ".test"
	for range 3 {
		apptest.WantError(t, login(env, tn.Slug, ghost, "x"), http.StatusUnauthorized, "unauthorized")
	}
	apptest.WantError(t, login(env, tn.Slug, ghost, "x"), http.StatusTooManyRequests, "rate_limited")

	// The limit is per account: another account from the same address still logs in.
	tokensOf(t, login(env, tn.Slug, tn.Admin.Email, apptest.Password))
}

func TestLogin_perAddressLimitAnswers429AcrossAccounts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.LoginLimitPerAddress = 3 })
	tn := env.SignUp(t)
	var emails []string
	for _, name := range []string{"a", "b", "c", "d"} {
		email := name + "@" + tn.Slug + ".test"
		createUser(t, env, tn, email, "viewer")
		emails = append(emails, email)
	}

	addr := randomAddress()
	apptest.WantStatus(t, loginFrom(env, addr, tn.Slug, emails[0], apptest.Password), http.StatusOK)
	apptest.WantError(t, loginFrom(env, addr, tn.Slug, emails[1], "wrong password"), http.StatusUnauthorized, "unauthorized")
	apptest.WantError(t, loginFrom(env, addr, "no-such-tenant", emails[2], "x"), http.StatusUnauthorized, "unauthorized")
	r := loginFrom(env, addr, tn.Slug, emails[3], apptest.Password)
	apptest.WantError(t, r, http.StatusTooManyRequests, "rate_limited")
	wantRetryAfter(t, r, env.Cfg.LoginLimitWindow)

	// The same account from another address is not limited: the limit was the address's.
	apptest.WantStatus(t, loginFrom(env, randomAddress(), tn.Slug, emails[3], apptest.Password), http.StatusOK)
}

// wantRetryAfter fails unless r carries a Retry-After of whole seconds within the window.
func wantRetryAfter(t *testing.T, r apptest.Response, window time.Duration) {
	t.Helper()
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > window {
		t.Fatalf("Retry-After %q, want 1..%v seconds", r.Header.Get("Retry-After"), window.Seconds())
	}
}

func TestRefresh_rotationIssuesANewPairAndRetiresTheOldToken(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)

	r := refresh(env, tn.Admin.RefreshToken)
	next := tokensOf(t, r)
	if next.TokenType != "Bearer" || next.ExpiresIn != 900 {
		t.Errorf("token_type %q expires_in %d, want Bearer and 900", next.TokenType, next.ExpiresIn)
	}
	if next.RefreshToken == tn.Admin.RefreshToken || next.AccessToken == tn.Admin.Token {
		t.Fatal("refresh returned the same tokens")
	}
	wantMe(t, env, next.AccessToken, tn.Admin.ID)

	apptest.WantError(t, refresh(env, tn.Admin.RefreshToken), http.StatusUnauthorized, "unauthorized")
}

func TestRefresh_reusingARotatedTokenRevokesTheWholeSession(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	otherSession := env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password)

	second := tokensOf(t, refresh(env, tn.Admin.RefreshToken))
	third := tokensOf(t, refresh(env, second.RefreshToken))
	wantMe(t, env, third.AccessToken, tn.Admin.ID)

	// A thief replays the first, long rotated, token.
	r := refresh(env, tn.Admin.RefreshToken)
	apptest.WantError(t, r, http.StatusUnauthorized, "unauthorized")

	apptest.WantError(t, refresh(env, third.RefreshToken), http.StatusUnauthorized, "unauthorized")
	wantUnauthorized(t, env, third.AccessToken)
	wantUnauthorized(t, env, tn.Admin.Token)

	// Only that session ended: the other login of the same user lives on.
	wantMe(t, env, otherSession.AccessToken, tn.Admin.ID)
	if n := liveRefreshTokens(t, env, tn.ID, tn.Admin.ID); n != 1 {
		t.Errorf("%d unrevoked refresh tokens, want 1 (the other session's)", n)
	}
	tokensOf(t, refresh(env, otherSession.RefreshToken))
}

func TestRefresh_tokenOfOneTenantIsRefusedInAnother(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	b := env.SignUp(t)

	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a.Admin.RefreshToken, "art_"))
	if err != nil || len(raw) != 64 || !bytes.Equal(raw[:16], a.ID[:]) {
		t.Fatalf("refresh token layout is not tenant|id|secret: %x", raw)
	}
	forged := append(append([]byte{}, b.ID[:]...), raw[16:]...)
	apptest.WantError(t, refresh(env, "art_"+base64.RawURLEncoding.EncodeToString(forged)), http.StatusUnauthorized, "unauthorized")

	// The genuine token is unharmed and still names tenant A's admin.
	tok := tokensOf(t, refresh(env, a.Admin.RefreshToken))
	wantMe(t, env, tok.AccessToken, a.Admin.ID)
}

func TestRefresh_malformedOrForgedTokensAre401(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tn.Admin.RefreshToken, "art_"))
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := append([]byte{}, raw...)
	wrongSecret[63] ^= 0xff
	unknownID := append([]byte{}, raw...)
	fresh := uuid.New()
	copy(unknownID[16:32], fresh[:])

	cases := map[string]string{
		"garbage":            "garbage",
		"prefix only":        "art_",
		"not base64":         "art_!!!!",
		"truncated":          tn.Admin.RefreshToken[:40],
		"wrong secret":       "art_" + base64.RawURLEncoding.EncodeToString(wrongSecret),
		"unknown id":         "art_" + base64.RawURLEncoding.EncodeToString(unknownID),
		"without the prefix": strings.TrimPrefix(tn.Admin.RefreshToken, "art_"),
	}
	for name, tok := range cases {
		if r := refresh(env, tok); r.Status != http.StatusUnauthorized || r.ErrorCode() != "unauthorized" {
			t.Errorf("%s: got %d %s, want 401", name, r.Status, r.Body)
		}
	}
	// A guess with the wrong secret must not revoke the real session (anyone could end it).
	tokensOf(t, refresh(env, tn.Admin.RefreshToken))
}

func TestLogout_endsTheSessionsAccessAndRefreshTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password)

	r := env.Do(http.MethodPost, logoutPath, tn.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusNoContent)

	wantUnauthorized(t, env, tn.Admin.Token)
	apptest.WantError(t, refresh(env, tn.Admin.RefreshToken), http.StatusUnauthorized, "unauthorized")
	// A second logout with the dead token is refused too.
	apptest.WantError(t, env.Do(http.MethodPost, logoutPath, tn.Admin.Token, nil), http.StatusUnauthorized, "unauthorized")

	// The user's other session is untouched.
	wantMe(t, env, other.AccessToken, tn.Admin.ID)
	if n := liveRefreshTokens(t, env, tn.ID, tn.Admin.ID); n != 1 {
		t.Errorf("%d unrevoked refresh tokens, want 1", n)
	}
}

func TestLogout_withARefreshTokenEndsThatSessionOnlyIfItIsTheCallers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	second := env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password)
	user := env.NewUser(t, tn, "editor")

	// Someone else's refresh token is refused and their session survives.
	r := env.Do(http.MethodPost, logoutPath, tn.Admin.Token, map[string]any{"refresh_token": user.RefreshToken})
	apptest.WantError(t, r, http.StatusBadRequest, "invalid")
	wantMe(t, env, user.Token, user.ID)

	// The caller's own other session ends; the calling one does not.
	apptest.WantStatus(t, env.Do(http.MethodPost, logoutPath, tn.Admin.Token, map[string]any{"refresh_token": second.RefreshToken}),
		http.StatusNoContent)
	wantUnauthorized(t, env, second.AccessToken)
	apptest.WantError(t, refresh(env, second.RefreshToken), http.StatusUnauthorized, "unauthorized")
	wantMe(t, env, tn.Admin.Token, tn.Admin.ID)
}

func TestLogout_allEndsEverySessionOfTheUser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	second := env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password)
	colleague := env.NewUser(t, tn, "editor")

	r := env.Do(http.MethodPost, logoutPath, second.AccessToken, map[string]any{"all": true})
	apptest.WantStatus(t, r, http.StatusNoContent)

	for _, s := range []apptest.Tokens{{AccessToken: tn.Admin.Token, RefreshToken: tn.Admin.RefreshToken}, second} {
		wantUnauthorized(t, env, s.AccessToken)
		apptest.WantError(t, refresh(env, s.RefreshToken), http.StatusUnauthorized, "unauthorized")
	}
	if n := liveRefreshTokens(t, env, tn.ID, tn.Admin.ID); n != 0 {
		t.Errorf("%d unrevoked refresh tokens after logout all, want 0", n)
	}
	// Another user's session is not the caller's to end.
	wantMe(t, env, colleague.Token, colleague.ID)
	// Logging in again starts a fresh session.
	wantMe(t, env, env.Login(t, tn.Slug, tn.Admin.Email, apptest.Password).AccessToken, tn.Admin.ID)
}

func TestAuth_disabledUserIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	user := env.NewUser(t, tn, "editor")
	wantMe(t, env, user.Token, user.ID)

	r := env.Do(http.MethodPatch, "/api/v1/users/"+user.ID.String(), tn.Admin.Token, map[string]any{"disabled": true})
	apptest.WantStatus(t, r, http.StatusOK)
	var v struct {
		Disabled bool `json:"disabled"`
	}
	r.JSON(t, &v)
	if !v.Disabled {
		t.Fatalf("PATCH answered %s, want disabled", r.Body)
	}

	wantUnauthorized(t, env, user.Token)
	apptest.WantError(t, refresh(env, user.RefreshToken), http.StatusUnauthorized, "unauthorized")
	apptest.WantError(t, login(env, tn.Slug, user.Email, apptest.Password), http.StatusUnauthorized, "unauthorized")
	// The admin who disabled them is unaffected.
	wantMe(t, env, tn.Admin.Token, tn.Admin.ID)
}

func TestAuth_suspendedTenantIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.SignUp(t)
	wantMe(t, env, tn.Admin.Token, tn.Admin.ID)

	if err := env.App.Tenants.SetStatus(context.Background(), tn.Slug, "suspended"); err != nil {
		t.Fatal(err)
	}

	wantUnauthorized(t, env, tn.Admin.Token)
	apptest.WantError(t, refresh(env, tn.Admin.RefreshToken), http.StatusUnauthorized, "unauthorized")
	suspended := login(env, tn.Slug, tn.Admin.Email, apptest.Password)
	apptest.WantError(t, suspended, http.StatusUnauthorized, "unauthorized")
	unknown := login(env, apptest.NewSlug("none"), tn.Admin.Email, apptest.Password)
	if !bytes.Equal(suspended.Body, unknown.Body) {
		t.Errorf("suspended tenant answers %s, unknown tenant %s", suspended.Body, unknown.Body)
	}
	// Another tenant is not affected.
	wantMe(t, env, other.Admin.Token, other.Admin.ID)
}

// Re-enabling a disabled user must not bring their old sessions back to life.
func TestAuth_disablingAUserEndsTheirSessionsForGood(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	u := env.NewUser(t, tn, "viewer")
	path := "/api/v1/users/" + u.ID.String()
	if r := env.Do(http.MethodPatch, path, tn.Admin.Token, map[string]bool{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodPatch, path, tn.Admin.Token, map[string]bool{"disabled": false}); r.Status != http.StatusOK {
		t.Fatalf("enable: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodGet, "/api/v1/me", u.Token, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("old access token after re-enabling: %d, want 401", r.Status)
	}
	if r := env.Do(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": u.RefreshToken}); r.Status != http.StatusUnauthorized {
		t.Fatalf("old refresh token after re-enabling: %d, want 401", r.Status)
	}
	env.Login(t, tn.Slug, u.Email, apptest.Password) // a fresh login works
}

// Behind a trusted proxy the client is the rightmost untrusted X-Forwarded-For hop: entries a
// client prepends itself cannot buy it a fresh address for every attempt.
func TestLogin_spoofedForwardedForDoesNotEscapeTheAddressLimit(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.LoginLimitPerAddress = 3 })
	tn := env.SignUp(t) // one login from env.ClientIP
	codes := []int{}
	for i := 0; i < 4; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login",
			strings.NewReader(`{"tenant":"`+tn.Slug+`","email":"nobody@x.test","password":"wrong password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d, %s", i, env.ClientIP))
		codes = append(codes, env.DoRequest(req).Status)
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v: a spoofed left-hand X-Forwarded-For escaped the per-address limit", codes)
	}
}

// Issue 14: the per-account login limit let an attacker lock a real user out: a few wrong
// passwords from anywhere made the right password answer 429 from everywhere. Failures now count
// per account and address: the attacker's address is stopped, the owner from theirs is not.
func TestLogin_regression_anAttackerCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.LoginLimitPerAccount = 3 })
	tn := env.SignUp(t)
	email := "owner@" + tn.Slug + ".test"
	createUser(t, env, tn, email, "editor")
	attacker, owner := randomAddress(), randomAddress()
	for range 3 {
		apptest.WantError(t, loginFrom(env, attacker, tn.Slug, email, "guess"), http.StatusUnauthorized, "unauthorized")
	}
	for range 3 {
		r := loginFrom(env, attacker, tn.Slug, email, "guess")
		apptest.WantError(t, r, http.StatusTooManyRequests, "rate_limited")
		wantRetryAfter(t, r, env.Cfg.LoginLimitWindow)
	}
	apptest.WantError(t, loginFrom(env, attacker, tn.Slug, email, apptest.Password), http.StatusTooManyRequests, "rate_limited")
	// The owner, from their own address, mistypes once and then signs in.
	apptest.WantError(t, loginFrom(env, owner, tn.Slug, email, "typo"), http.StatusUnauthorized, "unauthorized")
	apptest.WantStatus(t, loginFrom(env, owner, tn.Slug, email, apptest.Password), http.StatusOK)
	// Successful sign-ins spend no failure budget.
	for range 5 {
		apptest.WantStatus(t, loginFrom(env, owner, tn.Slug, email, apptest.Password), http.StatusOK)
	}
}
