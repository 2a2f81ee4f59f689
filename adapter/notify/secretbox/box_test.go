package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newBox(t *testing.T, b byte) *Box {
	t.Helper()
	box, err := New(testKey(b))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

var aad = []byte("channel:42:tenant:7")

func TestSealOpenRoundTrip(t *testing.T) {
	box := newBox(t, 1)
	for _, plain := range []string{"", "hunter2", "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX", strings.Repeat("é", 10000), "\x00\xff"} {
		sealed, err := box.Seal([]byte(plain), aad)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, plain) && plain != "" {
			t.Fatalf("sealed form %.40q", sealed)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
		if err != nil || len(raw) != nonceSize+len(plain)+tagSize {
			t.Fatalf("sealed body: %d bytes, %v; want nonce|ciphertext|tag", len(raw), err)
		}
		got, err := box.Open(sealed, aad)
		if err != nil || string(got) != plain {
			t.Fatalf("Open = %.40q, %v; want %.40q", got, err, plain)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	box := newBox(t, 1)
	sealed, err := box.Seal([]byte("hunter2"), aad)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(sealed, "v1:")
	raw, _ := base64.StdEncoding.DecodeString(body)
	tamper := func(i int) string {
		c := bytes.Clone(raw)
		c[i] ^= 1
		return "v1:" + base64.StdEncoding.EncodeToString(c)
	}
	for _, c := range []struct {
		name   string
		box    *Box
		sealed string
		aad    []byte
		want   error
	}{
		{"wrong key", newBox(t, 2), sealed, aad, ErrOpen},
		{"wrong aad (another row)", box, sealed, []byte("channel:43:tenant:7"), ErrOpen},
		{"no aad", box, sealed, nil, ErrOpen},
		{"tampered nonce", box, tamper(0), aad, ErrOpen},
		{"tampered ciphertext", box, tamper(nonceSize), aad, ErrOpen},
		{"tampered tag", box, tamper(len(raw) - 1), aad, ErrOpen},
		{"truncated", box, "v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), aad, ErrOpen},
		{"unknown version", box, "v2:" + body, aad, ErrUnknownVersion},
		{"no version", box, body, aad, ErrUnknownVersion},
		{"plaintext stored by mistake", box, "hunter2", aad, ErrUnknownVersion},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.box.Open(c.sealed, c.aad)
			if !errors.Is(err, c.want) || got != nil {
				t.Errorf("Open = %q, %v; want %v", got, err, c.want)
			}
		})
	}
	for _, bad := range []string{"v1:", "v1:!!!", "v1:" + base64.StdEncoding.EncodeToString(make([]byte, nonceSize+tagSize-1))} {
		if got, err := box.Open(bad, aad); err == nil || got != nil {
			t.Errorf("Open(%q) = %q, %v; want an error", bad, got, err)
		}
	}
}

func TestNoncesDiffer(t *testing.T) {
	box := newBox(t, 1)
	seen := map[string]bool{}
	for range 1000 {
		sealed, err := box.Seal([]byte("same"), aad)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
		nonce := string(raw[:nonceSize])
		if seen[nonce] {
			t.Fatal("a nonce repeated")
		}
		seen[nonce] = true
	}
}

func TestNewWantsAES256Key(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil || !strings.Contains(err.Error(), "want 32") {
			t.Errorf("%d-byte key: %v", n, err)
		}
	}
}

func TestBoxDoesNotPrintItsKey(t *testing.T) {
	box := newBox(t, 0xAB)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, box); got != "secretbox.Box{…}" {
			t.Errorf("%s: %q", verb, got)
		}
	}
	var zero *Box
	if _, err := zero.Seal(nil, nil); err == nil {
		t.Error("a nil Box sealed")
	}
}
