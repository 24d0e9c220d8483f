package users

import (
	"fmt"
	"runtime"

	"github.com/alexedwards/argon2id"
)

// Hasher hashes and checks passwords with argon2id.
type Hasher struct {
	params *argon2id.Params
	// dummy is compared against when the account does not exist, so that a login for an
	// unknown e-mail costs the same time as one for a known e-mail.
	dummy string
}

// NewHasher returns a hasher using memoryKiB of memory per hash. It fails when it cannot make
// the dummy hash that equalises the time of a check against a missing user.
func NewHasher(memoryKiB uint32) (*Hasher, error) {
	p := &argon2id.Params{
		Memory:      memoryKiB,
		Iterations:  2,
		Parallelism: uint8(min(runtime.NumCPU(), 4)),
		SaltLength:  16,
		KeyLength:   32,
	}
	dummy, err := argon2id.CreateHash("not a password anyone has", p)
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	return &Hasher{params: p, dummy: dummy}, nil
}

// Hash returns the encoded hash of the password.
func (h *Hasher) Hash(password string) (string, error) {
	return argon2id.CreateHash(password, h.params)
}

// Check reports whether password matches the encoded hash; an empty hash still spends the time.
func (h *Hasher) Check(password, encoded string) bool {
	if encoded == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, h.dummy)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, encoded)
	return err == nil && ok
}
