// Package token defines API tokens: their public format, secret hashing,
// scopes and the rules that decide whether a presented token is good.
//
// Format: pulse_<id>_<secret><crc>, where id is 10 lowercase base-62 chars
// (public, the lookup key), secret is 32 base-62 chars (~190 bits) and crc is
// the CRC32 of "pulse_<id>_<secret>" in 6 base-62 chars, so that a mistyped or
// truncated token is refused without a database lookup.
package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"
)

const (
	prefix    = "pulse_"
	idLen     = 10
	secretLen = 32
	crcLen    = 6
	alphabet  = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	idAlpha   = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// ErrUnauthenticated covers a missing, malformed, unknown, revoked or wrong token.
// The reasons are deliberately not told apart to the client.
var ErrUnauthenticated = errors.New("missing or invalid API token")

// ErrForbidden means the token is valid but lacks the needed scope.
var ErrForbidden = errors.New("token lacks the required scope")

// ErrNotFound is returned by stores when no token has the id.
var ErrNotFound = errors.New("token not found")

// Scope is a permission a token carries.
type Scope string

// The scopes of the contract.
const (
	ScopeIngest Scope = "ingest"
	ScopeRead   Scope = "read"
	ScopeAdmin  Scope = "admin"
)

// ScopePlatform is a requirement, never granted: the platform admin API
// (all tenants) needs a platform token (bound to no tenant) carrying the
// admin scope. ParseScopes refuses it.
const ScopePlatform Scope = "platform"

// ParseScopes reads "ingest,read" into scopes, refusing unknown names.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	seen := map[Scope]bool{}
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if sc == "" {
			continue
		}
		if sc != ScopeIngest && sc != ScopeRead && sc != ScopeAdmin {
			return nil, fmt.Errorf("unknown scope %q (want ingest, read or admin)", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("at least one scope is required")
	}
	return out, nil
}

// Token is a stored token: never the secret, only its hash.
type Token struct {
	ID       string
	TenantID int64
	Name     string
	Scopes   []Scope
	// RateLimit is the token's quota in samples per minute; 0 = server default.
	RateLimit  int64
	SecretHash [32]byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Has reports whether the token carries the scope.
func (t Token) Has(s Scope) bool {
	for _, have := range t.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// Presented is a syntactically valid token as a client sent it.
type Presented struct {
	ID     string
	secret string
}

// Parse checks format and checksum; it never touches storage.
func Parse(raw string) (Presented, error) {
	if len(raw) != len(prefix)+idLen+1+secretLen+crcLen || !strings.HasPrefix(raw, prefix) {
		return Presented{}, ErrUnauthenticated
	}
	id := raw[len(prefix) : len(prefix)+idLen]
	if raw[len(prefix)+idLen] != '_' {
		return Presented{}, ErrUnauthenticated
	}
	body := raw[:len(raw)-crcLen]
	secret := body[len(prefix)+idLen+1:]
	if !onlyFrom(id, idAlpha) || !onlyFrom(secret, alphabet) {
		return Presented{}, ErrUnauthenticated
	}
	if encodeCRC(crc32.ChecksumIEEE([]byte(body))) != raw[len(body):] {
		return Presented{}, ErrUnauthenticated
	}
	return Presented{ID: id, secret: secret}, nil
}

// ValidID reports whether s looks like a token id (for CLI input checks).
func ValidID(s string) bool { return len(s) == idLen && onlyFrom(s, idAlpha) }

// Matches compares the presented secret with the stored hash in constant time.
func (p Presented) Matches(hash [32]byte) bool {
	sum := sha256.Sum256([]byte(p.secret))
	return subtle.ConstantTimeCompare(sum[:], hash[:]) == 1
}

// Issued is a freshly generated token: Plain is shown once and never stored.
type Issued struct {
	Plain string
	Token Token
}

// Issue generates a new token for tenantID (0 = platform admin) from random.
func Issue(random io.Reader, tenantID int64, name string, scopes []Scope, now time.Time) (Issued, error) {
	id, err := randomString(random, idLen, idAlpha)
	if err != nil {
		return Issued{}, fmt.Errorf("token id: %w", err)
	}
	secret, err := randomString(random, secretLen, alphabet)
	if err != nil {
		return Issued{}, fmt.Errorf("token secret: %w", err)
	}
	body := prefix + id + "_" + secret
	plain := body + encodeCRC(crc32.ChecksumIEEE([]byte(body)))
	return Issued{Plain: plain, Token: Token{
		ID: id, TenantID: tenantID, Name: name, Scopes: scopes,
		SecretHash: sha256.Sum256([]byte(secret)), CreatedAt: now.UTC(),
	}}, nil
}

// Check decides whether the stored token t admits presented p for scope need.
// A platform token (TenantID 0) meets only ScopePlatform; a tenant token
// never meets it.
func Check(t Token, p Presented, need Scope) error {
	if t.RevokedAt != nil || !p.Matches(t.SecretHash) {
		return ErrUnauthenticated
	}
	if need == ScopePlatform {
		if t.TenantID != 0 || !t.Has(ScopeAdmin) {
			return ErrForbidden
		}
		return nil
	}
	if t.TenantID == 0 || !t.Has(need) {
		return ErrForbidden
	}
	return nil
}

// InvalidError reports an invalid field of a token request.
type InvalidError struct{ Field, Message string }

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Message) }

// MaxNameBytes bounds a token's label.
const MaxNameBytes = 200

// Spec is what a new tenant token is asked for.
type Spec struct {
	Name   string
	Scopes []Scope
	// RateLimit is the quota in samples per minute; 0 = the server default.
	RateLimit int64
}

// Validate checks the spec: a name of at most MaxNameBytes, at least one
// known scope and a rate limit ≥ 0.
func (s Spec) Validate() error {
	if len(s.Name) > MaxNameBytes {
		return &InvalidError{Field: "name", Message: fmt.Sprintf("must be at most %d bytes", MaxNameBytes)}
	}
	if len(s.Scopes) == 0 {
		return &InvalidError{Field: "scopes", Message: "at least one scope (ingest, read, admin) is required"}
	}
	for _, sc := range s.Scopes {
		if sc != ScopeIngest && sc != ScopeRead && sc != ScopeAdmin {
			return &InvalidError{Field: "scopes", Message: fmt.Sprintf("unknown scope %q (want ingest, read or admin)", sc)}
		}
	}
	if s.RateLimit < 0 || s.RateLimit > MaxRateLimit {
		return &InvalidError{Field: "rate_limit", Message: fmt.Sprintf("must be 0 (server default) or a number of samples per minute up to %d", MaxRateLimit)}
	}
	return nil
}

// MaxRateLimit bounds a token's own quota: a billion samples a minute is
// already beyond any one Pulse; more is a typo or an attempt to overflow.
const MaxRateLimit = 1_000_000_000

// ValidateForTenantAdmin is Validate for a token a tenant admin asks for:
// a tenant may lower a token's quota below the platform's default
// (platformDefault samples per minute; 0 = unlimited), never raise it —
// that is the platform admin's decision.
func (s Spec) ValidateForTenantAdmin(platformDefault int64) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if s.RateLimit > 0 && platformDefault > 0 && s.RateLimit > platformDefault {
		return &InvalidError{Field: "rate_limit", Message: fmt.Sprintf(
			"a tenant admin may only lower a token's quota: at most the platform's default of %d samples per minute (a platform admin can raise it)", platformDefault)}
	}
	return nil
}

// LastUsedDue reports whether last-used time should be written now: at most once a minute.
func (t Token) LastUsedDue(now time.Time) bool {
	return t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute
}

func randomString(r io.Reader, n int, alpha string) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	limit := 256 - 256%len(alpha) // rejection sampling keeps the distribution uniform
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alpha[int(b)%len(alpha)])
			}
		}
	}
	return string(out), nil
}

func encodeCRC(c uint32) string {
	out := make([]byte, crcLen)
	v := uint64(c)
	for i := crcLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
	return string(out)
}

func onlyFrom(s, alpha string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(alpha, s[i]) < 0 {
			return false
		}
	}
	return true
}
