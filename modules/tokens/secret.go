package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/google/uuid"
)

// Prefix starts every personal access token, so a leaked one is recognisable: a secret scanner
// matches `atl_pat_[A-Za-z0-9_-]{86}`.
const Prefix = "atl_pat_"

const (
	secretLen  = 32
	payloadLen = 16 + 16 + secretLen
	// encodedLen is the length of a token after Prefix.
	encodedLen = (payloadLen*8 + 5) / 6
	// visibleLen is how much of the token after Prefix lists show: the base64 of the token id's
	// first 12 bytes (its 48-bit time, version and 30 random bits), which tells tokens apart and
	// says nothing about the secret.
	visibleLen = 16
)

var errMalformed = errors.New("tokens: not a well-formed personal access token")

// secret is a personal access token decoded. The token is Prefix followed by the unpadded
// base64url of token id (16 bytes) | tenant id (16 bytes) | secret (32 random bytes): the id
// comes first so the visible start differs per token; the tenant is carried so the lookup runs
// under that tenant's scope (row-level security) by primary key; only sha256(secret) is stored.
type secret struct {
	ID       uuid.UUID
	TenantID uuid.UUID
	Secret   []byte
}

func newSecret(tenantID uuid.UUID) (secret, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return secret{}, err
	}
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return secret{}, err
	}
	return secret{ID: id, TenantID: tenantID, Secret: b}, nil
}

// String is the token as the client keeps it (shown once, never stored).
func (s secret) String() string {
	buf := make([]byte, 0, payloadLen)
	buf = append(buf, s.ID[:]...)
	buf = append(buf, s.TenantID[:]...)
	buf = append(buf, s.Secret...)
	return Prefix + base64.RawURLEncoding.EncodeToString(buf)
}

// visible is the start of the token that lists show and that is stored in clear.
func (s secret) visible() string { return s.String()[:len(Prefix)+visibleLen] }

func (s secret) hash() []byte {
	h := sha256.Sum256(s.Secret)
	return h[:]
}

// parseSecret decodes a token; anything but the exact shape is errMalformed.
func parseSecret(raw string) (secret, error) {
	enc, ok := strings.CutPrefix(raw, Prefix)
	if !ok || len(enc) != encodedLen {
		return secret{}, errMalformed
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(b) != payloadLen {
		return secret{}, errMalformed
	}
	var s secret
	copy(s.ID[:], b[:16])
	copy(s.TenantID[:], b[16:32])
	s.Secret = b[32:]
	if s.ID == uuid.Nil || s.TenantID == uuid.Nil {
		return secret{}, errMalformed
	}
	return s, nil
}

// sameHash compares two hashes in constant time.
func sameHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
