package auth

import (
	"strings"
	"sync"
)

// verifiedTokens remembers the claims of the access tokens this node has verified, keyed by the
// whole token. A client sends the same token on every request until it expires, and its
// verification (base64, two JSON documents, HMAC) is the largest cost of an authenticated request
// after the database. A token found here is byte for byte one whose signature was checked with
// our key and whose claims were accepted, so only the checks that depend on the time (expiry, not
// before, issued at) can answer otherwise now, and verify runs them again on every hit. Liveness
// (user, tenant, session) is not its business: it is checked after verify, whatever this says.
type verifiedTokens struct {
	max int

	mu sync.RWMutex
	m  map[string]accessClaims
}

// verifiedTokensMax bounds the cache (about 600 bytes a token): when full it starts afresh, the
// tokens are cheap to verify again.
const verifiedTokensMax = 50_000

func newVerifiedTokens(max int) *verifiedTokens {
	return &verifiedTokens{max: max, m: make(map[string]accessClaims)}
}

func (v *verifiedTokens) get(raw string) (accessClaims, bool) {
	v.mu.RLock()
	c, ok := v.m[raw]
	v.mu.RUnlock()
	return c, ok
}

func (v *verifiedTokens) put(raw string, c accessClaims) {
	// raw may alias a request buffer that the next request reuses: the key gets its own copy.
	raw = strings.Clone(raw)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		clear(v.m)
	}
	v.m[raw] = c
}
