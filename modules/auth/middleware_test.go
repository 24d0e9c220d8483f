package auth_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
)

// withAuthorization sends GET /api/v1/me with the Authorization header as given ("" for none).
func withAuthorization(env *apptest.Env, header string) apptest.Response {
	req := httptest.NewRequest(http.MethodGet, mePath, nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	req.Header.Set("X-Forwarded-For", env.ClientIP)
	return env.DoRequest(req)
}

// sign signs claims with the method and key, failing the test on error.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// with returns a copy of claims with the changes applied; a nil value removes the claim.
func with(claims jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	out := maps.Clone(claims)
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestMe_refusesEveryBadCredentialWith401(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	tn := env.SignUp(t)
	other := env.SignUp(t)
	colleague := env.NewUser(t, tn, "editor")
	secret := []byte(env.Cfg.JWTSecret)

	// The claims of a real access token (iss, sub, tid, sid, typ, iat, nbf, exp, jti), re-signed
	// below with one thing wrong at a time.
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tn.Admin.Token, claims); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	past := jwt.MapClaims{"iat": now.Add(-time.Hour).Unix(), "nbf": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix()}

	// The control: the same claims re-signed with the deployment's key are accepted, so every
	// refusal below is caused by the one thing that was changed.
	wantMe(t, env, sign(t, jwt.SigningMethodHS256, secret, claims), tn.Admin.ID)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tn.Admin.Token, ".")
	otherTenantPayload := base64.RawURLEncoding.EncodeToString(mustJSON(t, with(claims, map[string]any{"tid": other.ID.String()})))

	bearer := func(tok string) string { return "Bearer " + tok }
	cases := []struct {
		name, header string
	}{
		{"no header", ""},
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(tn.Admin.Email+":"+apptest.Password))},
		{"Basic scheme carrying a valid token", "Basic " + tn.Admin.Token},
		{"bearer without token", "Bearer "},
		{"token without scheme", tn.Admin.Token},
		{"garbage", bearer("garbage")},
		{"three dotted garbage parts", bearer("a.b.c")},
		{"expired", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, past)))},
		{"issued in the future", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"iat": now.Add(time.Hour).Unix()})))},
		{"without expiry", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"exp": nil})))},
		{"signed with another key", bearer(sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 64)), claims))},
		{"alg none", bearer(none)},
		{"HS256 header without signature", bearer(parts[0] + "." + parts[1] + ".")},
		{"HS384 with the deployment key", bearer(sign(t, jwt.SigningMethodHS384, secret, claims))},
		{"HS512 with the deployment key", bearer(sign(t, jwt.SigningMethodHS512, secret, claims))},
		{"RS256", bearer(sign(t, jwt.SigningMethodRS256, rsaKey, claims))},
		{"ES256", bearer(sign(t, jwt.SigningMethodES256, ecKey, claims))},
		{"typ refresh", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"typ": "refresh"})))},
		{"typ missing", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"typ": nil})))},
		{"another issuer", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"iss": "evil"})))},
		{"subject not a uuid", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"sub": "admin"})))},
		{"session missing", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"sid": nil})))},
		{"unknown session", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"sid": uuid.NewString()})))},
		{"refresh token as bearer", bearer(tn.Admin.RefreshToken)},
		{"tenant claim edited, old signature", bearer(parts[0] + "." + otherTenantPayload + "." + parts[2])},
		// Even a holder of the signing key cannot move a session into another tenant: the user and
		// session are looked up in the tenant the token names, where they do not exist.
		{"tenant claim of another tenant, re-signed", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"tid": other.ID.String()})))},
		{"subject of another user, re-signed", bearer(sign(t, jwt.SigningMethodHS256, secret, with(claims, map[string]any{"sub": colleague.ID.String()})))},
	}
	var reference []byte
	for _, c := range cases {
		r := withAuthorization(env, c.header)
		if r.Status != http.StatusUnauthorized || r.ErrorCode() != "unauthorized" {
			t.Errorf("%s: got %d %s, want 401 unauthorized", c.name, r.Status, r.Body)
			continue
		}
		if reference == nil {
			reference = r.Body
		}
		if !bytes.Equal(r.Body, reference) {
			t.Errorf("%s: body %s differs from %s", c.name, r.Body, reference)
		}
	}
	// None of the attempts harmed the real session.
	wantMe(t, env, tn.Admin.Token, tn.Admin.ID)
}

func mustJSON(t *testing.T, claims jwt.MapClaims) []byte {
	t.Helper()
	// The jwt library's own encoding, so only the claim differs from a real token.
	s := sign(t, jwt.SigningMethodHS256, []byte("x"), claims)
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}
