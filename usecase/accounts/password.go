package accounts

import (
	"encoding/base64"
	"fmt"

	"github.com/alexedwards/argon2id"
)

// Argon2id hashes passwords with argon2id in the PHC string format.
// Params nil means argon2id.DefaultParams (64 MiB, 1 pass, one lane per
// CPU); tests pass cheaper ones.
type Argon2id struct {
	Params *argon2id.Params
}

func (a Argon2id) params() *argon2id.Params {
	if a.Params == nil {
		return argon2id.DefaultParams
	}
	return a.Params
}

// Hash returns the PHC-encoded hash of password with a random salt.
func (a Argon2id) Hash(password string) (string, error) {
	h, err := argon2id.CreateHash(password, a.params())
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

// argon2Version is the only version of argon2 the argon2id package
// produces and accepts (golang.org/x/crypto/argon2.Version).
const argon2Version = 19

// DummyHash is a hash with exactly the parameters Hash uses (memory,
// passes, lanes, salt and key lengths), an all-zero salt and an all-zero
// key, which no password matches short of breaking argon2id: verifying it
// costs what verifying a real hash made by Hash costs.
func (a Argon2id) DummyHash() string {
	p := a.params()
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2Version, p.Memory, p.Iterations, p.Parallelism,
		b64(make([]byte, p.SaltLength)), b64(make([]byte, p.KeyLength)))
}
