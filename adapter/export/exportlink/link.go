// Package exportlink signs and checks the download link of an export:
// /exports/{id}.csv?exp=<unix seconds>&sig=<base64url HMAC-SHA256 over
// "pulse-export|<id>|<tenant>|<exp>"> under a key derived from
// PULSE_SECRET_KEY. Whoever holds the link may download until it expires;
// a link of another tenant's export, or with another expiry, does not
// verify. The export use case signs with it on every status call and
// checks it on every download (its export.Links port).
package exportlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// DefaultTTL is how long a link is valid.
const DefaultTTL = time.Hour

var (
	// ErrForged is a signature that does not match (403).
	ErrForged = errors.New("export link: the signature does not match")
	// ErrExpired is a link past its expiry (403).
	ErrExpired = errors.New("export link: expired")
)

// Signer signs links under one key.
type Signer struct{ key []byte }

// NewSigner derives the links' key from the deployment's secret key, so
// that a link's MAC is never a MAC the secret box or another use computes.
func NewSigner(secretKey []byte) (*Signer, error) {
	if len(secretKey) < 16 {
		return nil, errors.New("export link: the secret key is too short")
	}
	m := hmac.New(sha256.New, secretKey)
	m.Write([]byte("pulse export links v1"))
	return &Signer{key: m.Sum(nil)}, nil
}

func (s *Signer) mac(id, tenantID, exp int64) []byte {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "pulse-export|%d|%d|%d", id, tenantID, exp)
	return m.Sum(nil)
}

// Query is the link's query string for export id of tenantID, valid until
// expires.
func (s *Signer) Query(id, tenantID int64, expires time.Time) string {
	exp := expires.Unix()
	v := url.Values{}
	v.Set("exp", strconv.FormatInt(exp, 10))
	v.Set("sig", base64.RawURLEncoding.EncodeToString(s.mac(id, tenantID, exp)))
	return v.Encode()
}

// Check verifies a link's exp and sig for export id of tenantID at now.
func (s *Signer) Check(id, tenantID int64, exp, sig string, now time.Time) error {
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return ErrForged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(id, tenantID, e)) {
		return ErrForged
	}
	if now.Unix() >= e {
		return ErrExpired
	}
	return nil
}
