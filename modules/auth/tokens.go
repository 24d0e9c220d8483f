// Package auth turns credentials into a principal: password login, rotating refresh tokens,
// logout, and the middleware that authenticates every non-public request.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const (
	issuer          = "atelier"
	accessTokenType = "access"
	// refreshPrefix marks refresh tokens so they are never mistaken for another credential.
	refreshPrefix = "art_"
)

// accessClaims are the claims of an access token. sid is the session (refresh-token family):
// revoking the family ends the access tokens issued from it too.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID  uuid.UUID `json:"tid"`
	SessionID uuid.UUID `json:"sid"`
	Type      string    `json:"typ"`
}

// signer issues and verifies access tokens (HS256 with the deployment's secret).
type signer struct {
	key       []byte
	ttl       time.Duration
	now       func() time.Time
	parser    *jwt.Parser
	validator *jwt.Validator // the parser's time and issuer checks, for tokens already verified
	verified  *verifiedTokens
}

// newSigner returns a signer whose parser (built once: it is on every request's path) accepts
// only what issue writes.
func newSigner(key []byte, ttl time.Duration, now func() time.Time) signer {
	claimChecks := []jwt.ParserOption{
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
	}
	return signer{key: key, ttl: ttl, now: now,
		parser:    jwt.NewParser(append(claimChecks, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))...),
		validator: jwt.NewValidator(claimChecks...),
		verified:  newVerifiedTokens(verifiedTokensMax),
	}
}

var errBadToken = errors.New("bad token")

func (s signer) issue(tenantID, userID, sessionID uuid.UUID) (string, time.Time, error) {
	now := s.now().UTC()
	exp := now.Add(s.ttl)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   userID.String(),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        uuid.NewString(),
		},
		TenantID: tenantID, SessionID: sessionID, Type: accessTokenType,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	return tok, exp, err
}

// verify accepts only an HS256 access token signed with our key, unexpired, of our issuer and
// of the access type. alg:none, other algorithms, other keys and other token types fail. The
// parsing and signature check are the jwt library's, never our own.
func (s signer) verify(raw string) (accessClaims, error) {
	if c, ok := s.verified.get(raw); ok {
		// These very bytes passed every check below; only the clock can have changed the answer.
		if err := s.validator.Validate(&c); err != nil {
			return accessClaims{}, fmt.Errorf("%w: %v", errBadToken, err)
		}
		return c, nil
	}
	var c accessClaims
	_, err := s.parser.ParseWithClaims(raw, &c, s.keyFunc)
	if err != nil {
		return c, fmt.Errorf("%w: %v", errBadToken, err)
	}
	if c.Type != accessTokenType || c.TenantID == uuid.Nil || c.SessionID == uuid.Nil {
		return c, errBadToken
	}
	s.verified.put(raw, c)
	return c, nil
}

func (s signer) keyFunc(*jwt.Token) (any, error) { return s.key, nil }

// refreshSecret is a refresh token decoded: which tenant and row it names, and its secret.
type refreshSecret struct {
	TenantID uuid.UUID
	ID       uuid.UUID
	Secret   []byte
}

func newRefreshSecret(tenantID uuid.UUID) (refreshSecret, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return refreshSecret{}, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return refreshSecret{}, err
	}
	return refreshSecret{TenantID: tenantID, ID: id, Secret: secret}, nil
}

// String encodes the token the client keeps: the prefix, then tenant, id and secret.
func (r refreshSecret) String() string {
	buf := make([]byte, 0, 64)
	buf = append(buf, r.TenantID[:]...)
	buf = append(buf, r.ID[:]...)
	buf = append(buf, r.Secret...)
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

func (r refreshSecret) hash() []byte {
	h := sha256.Sum256(r.Secret)
	return h[:]
}

func parseRefresh(raw string) (refreshSecret, error) {
	if len(raw) < len(refreshPrefix) || raw[:len(refreshPrefix)] != refreshPrefix {
		return refreshSecret{}, errBadToken
	}
	b, err := base64.RawURLEncoding.DecodeString(raw[len(refreshPrefix):])
	if err != nil || len(b) != 64 {
		return refreshSecret{}, errBadToken
	}
	var r refreshSecret
	copy(r.TenantID[:], b[:16])
	copy(r.ID[:], b[16:32])
	r.Secret = b[32:]
	return r, nil
}

// sameHash compares two hashes in constant time.
func sameHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// RefreshTokenID returns the row id a refresh token names (for operators and tests).
func RefreshTokenID(raw string) (uuid.UUID, error) {
	r, err := parseRefresh(raw)
	return r.ID, err
}
