package accounts

import (
	"fmt"

	"github.com/alexedwards/argon2id"
)

// Argon2id hashes passwords with argon2id in the PHC string format.
// Params nil means argon2id.DefaultParams (64 MiB, 1 pass); tests pass
// cheaper ones.
type Argon2id struct {
	Params *argon2id.Params
}

// Hash returns the PHC-encoded hash of password with a random salt.
func (a Argon2id) Hash(password string) (string, error) {
	p := a.Params
	if p == nil {
		p = argon2id.DefaultParams
	}
	h, err := argon2id.CreateHash(password, p)
	if err != nil {
		return "", fmt.Errorf("argon2id: %w", err)
	}
	return h, nil
}

// Verify checks password against a PHC-encoded hash (its own parameters).
func (a Argon2id) Verify(password, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("argon2id: %w", err)
	}
	return ok, nil
}
