package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key's length: AES-256.
const KeySize = 32

// version1 prefixes a sealed value: base64 (standard, padded) of the
// 12-byte random nonce, the ciphertext and GCM's 16-byte tag.
const version1 = "v1:"

const (
	nonceSize = 12
	tagSize   = 16
)

// ErrUnknownVersion: the sealed value is not in a format this build
// reads (or not a sealed value at all).
var ErrUnknownVersion = errors.New("secretbox: unknown sealed format (want \"v1:\")")

// ErrOpen: the value does not open. Wrong key, wrong row (additional
// data) and tampering are told apart by no one, on purpose: GCM cannot,
// and saying which would help an attacker.
var ErrOpen = errors.New("secretbox: cannot open the secret: wrong key, bound to another row, or altered")

// Box seals and opens secrets under one key. It is safe for concurrent
// use. It holds the expanded key, so it prints as nothing.
type Box struct {
	aead cipher.AEAD
}

// New makes a Box for a 32-byte key (see ParseKey and
// LoadOrCreateKeyFile). The key is not kept beyond AES's schedule.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: the key is %d bytes, want %d (AES-256)", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	// A random 96-bit nonce per seal, drawn from crypto/rand inside the
	// AEAD: secrets are sealed rarely (when a channel is saved), far from
	// the 2^32 seals per key where random nonces start to risk repeating.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad, which names the secret's place
// (e.g. "channel:42:tenant:7"): Open needs the same aad.
func (b *Box) Seal(plaintext, aad []byte) (string, error) {
	if b == nil || b.aead == nil {
		return "", errors.New("secretbox: Seal on a Box not made by New")
	}
	return version1 + base64.StdEncoding.EncodeToString(b.aead.Seal(nil, nil, plaintext, aad)), nil
}

// Open decrypts a value made by Seal with the same key and aad.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	if b == nil || b.aead == nil {
		return nil, errors.New("secretbox: Open on a Box not made by New")
	}
	body, ok := strings.CutPrefix(sealed, version1)
	if !ok {
		return nil, ErrUnknownVersion
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("secretbox: the sealed value is not base64: %w", err)
	}
	if len(raw) < nonceSize+tagSize {
		return nil, fmt.Errorf("secretbox: the sealed value is %d bytes, shorter than a nonce and a tag (%d)", len(raw), nonceSize+tagSize)
	}
	plain, err := b.aead.Open(nil, nil, raw, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// String and GoString keep the key schedule out of a %v or %#v.
func (b *Box) String() string { return "secretbox.Box{…}" }

// GoString is String for %#v.
func (b *Box) GoString() string { return b.String() }
