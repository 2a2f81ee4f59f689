package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret, so that one pasted into the wrong
// place is recognisable.
const SecretPrefix = "whsec_"

// secretBytes is the key's length: 192 bits, within the 24 to 64 bytes
// the Standard Webhooks spec asks for.
const secretBytes = 24

// DefaultTolerance is how far a timestamp may be from the receiver's
// clock, the spec's recommended five minutes: it bounds replays.
const DefaultTolerance = 5 * time.Minute

// Verification failures.
var (
	ErrMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrTimestamp      = errors.New("webhook: timestamp outside the tolerance")
	ErrSignature      = errors.New("webhook: no matching signature")
)

// NewSecret makes a channel's signing secret from rand (crypto/rand's
// Reader in production): "whsec_" and the base64 of 24 random bytes. It
// is shown once, when the channel is created.
func NewSecret(rand io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// key is the HMAC key of a secret: the base64-decoded part after whsec_
// (the spec's libraries accept it without the prefix too, and so do we).
func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook: the secret is not whsec_ and base64")
	}
	return k, nil
}

// Sign gives the Standard Webhooks headers of body, sent with id at ts:
// webhook-id, webhook-timestamp (Unix seconds) and webhook-signature
// "v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>". The id must be
// the same for every attempt of one message, so receivers can drop
// repeats; the timestamp is the attempt's.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	k, err := key(secret)
	if err != nil {
		return nil, err
	}
	t := strconv.FormatInt(ts.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, t)
	h.Set(HeaderSignature, "v1,"+base64.StdEncoding.EncodeToString(mac(k, id, t, body)))
	return h, nil
}

// checkID refuses ids that could not travel in a header, and ids with a
// dot: "id.timestamp.body" must split one way only, or a signature for one
// (id, timestamp) would also be one for another.
func checkID(id string) error {
	if id == "" || len(id) > 256 {
		return errors.New("webhook: the message id must be 1 to 256 bytes")
	}
	for _, c := range []byte(id) {
		if c <= ' ' || c >= 0x7f || c == '.' {
			return fmt.Errorf("webhook: the message id %q must be printable ASCII without spaces or dots", id)
		}
	}
	return nil
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a received message, as a receiver does (and as our tests
// do): the timestamp within tolerance of now, either way, and one of the
// space-separated signatures a v1 signature of id.timestamp.body under
// secret, compared in constant time. Signatures of other versions are
// skipped, as the spec says, so a sender may add a newer scheme beside v1.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrTimestamp, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)).Abs(); d > tolerance {
		return fmt.Errorf("%w: %v away from now", ErrTimestamp, d.Round(time.Second))
	}
	k, err := key(secret)
	if err != nil {
		return err
	}
	want := mac(k, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
