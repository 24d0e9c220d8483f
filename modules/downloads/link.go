package downloads

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"
)

// LinkPath is where signed links point, under the API prefix; it needs no Authorization header.
const LinkPath = "/download-links/"

// LinkKeyLabel derives the link key from the server secret: links are signed with a key of
// their own, never with the key that signs access tokens.
const LinkKeyLabel = "atelier download links v1"

// DeriveLinkKey is HMAC-SHA256(secret, LinkKeyLabel).
func DeriveLinkKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(LinkKeyLabel))
	return m.Sum(nil)
}

// linkClaims are what a link is signed over.
type linkClaims struct {
	TenantID   uuid.UUID
	DownloadID uuid.UUID
	UserID     uuid.UUID
	ExpiresAt  time.Time // whole seconds
}

const (
	linkVersion     = 1
	linkPayloadSize = 1 + 16*3 + 8
	linkSize        = linkPayloadSize + sha256.Size
)

var errBadLink = errors.New("downloads: bad link")

// signLink encodes the claims and their HMAC-SHA256 as one URL-safe token.
func signLink(key []byte, c linkClaims) string {
	buf := make([]byte, linkPayloadSize, linkSize)
	buf[0] = linkVersion
	copy(buf[1:], c.TenantID[:])
	copy(buf[17:], c.DownloadID[:])
	copy(buf[33:], c.UserID[:])
	binary.BigEndian.PutUint64(buf[49:], uint64(c.ExpiresAt.Unix()))
	m := hmac.New(sha256.New, key)
	m.Write(buf)
	return base64.RawURLEncoding.EncodeToString(m.Sum(buf))
}

// verifyLink checks the token's signature and expiry and returns its claims.
func verifyLink(key []byte, token string, now time.Time) (linkClaims, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(linkSize) {
		return linkClaims{}, errBadLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != linkSize || raw[0] != linkVersion {
		return linkClaims{}, errBadLink
	}
	m := hmac.New(sha256.New, key)
	m.Write(raw[:linkPayloadSize])
	if !hmac.Equal(m.Sum(nil), raw[linkPayloadSize:]) {
		return linkClaims{}, errBadLink
	}
	var c linkClaims
	copy(c.TenantID[:], raw[1:17])
	copy(c.DownloadID[:], raw[17:33])
	copy(c.UserID[:], raw[33:49])
	exp := binary.BigEndian.Uint64(raw[49:linkPayloadSize])
	if exp > uint64(1<<62) {
		return linkClaims{}, errBadLink
	}
	c.ExpiresAt = time.Unix(int64(exp), 0).UTC()
	if !now.Before(c.ExpiresAt) {
		return linkClaims{}, errBadLink
	}
	return c, nil
}
