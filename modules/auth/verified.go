package auth

import (
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

// verifiedTokens remembers the claims of the access tokens this node has verified, keyed by the
// whole token. A client sends the same token on every request until it expires, and its
// verification (base64, two JSON documents, HMAC) is the largest cost of an authenticated request
// after the database. A token found here is byte for byte one whose signature was checked with
// our key and whose claims were accepted, so only the checks that depend on the time (expiry, not
// before, issued at) can answer otherwise now, and verify runs them again on every hit. Liveness
// (user, tenant, session) is not its business: it is checked after verify, whatever this says.
type verifiedTokens struct {
	c *lru.Cache[string, accessClaims]
}

// verifiedTokensMax bounds the cache (about 600 bytes a token); the least recently used token
// goes first, and is cheap to verify again.
const verifiedTokensMax = 50_000

func newVerifiedTokens(max int) *verifiedTokens {
	c, err := lru.New[string, accessClaims](max)
	if err != nil {
		panic(err) // only for a size ≤ 0, a programming error
	}
	return &verifiedTokens{c: c}
}

func (v *verifiedTokens) get(raw string) (accessClaims, bool) { return v.c.Get(raw) }

func (v *verifiedTokens) put(raw string, c accessClaims) {
	// raw may alias a request buffer that the next request reuses: the key gets its own copy.
	v.c.Add(strings.Clone(raw), c)
}
