package webhook

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The Standard Webhooks spec's published example.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecVector(t *testing.T) {
	h, err := Sign(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("webhook-signature"); got != specSig {
		t.Errorf("signature %q, want %q", got, specSig)
	}
	if h.Get("webhook-id") != specID || h.Get("webhook-timestamp") != "1614265330" {
		t.Errorf("headers %v", h)
	}
	// The prefix is optional on input, as in the spec's libraries.
	h2, err := Sign(strings.TrimPrefix(specSecret, "whsec_"), specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || h2.Get("webhook-signature") != specSig {
		t.Errorf("without prefix: %v %v", h2, err)
	}
	// And the vector verifies.
	hdr := http.Header{}
	hdr.Set("webhook-id", specID)
	hdr.Set("webhook-timestamp", "1614265330")
	hdr.Set("webhook-signature", specSig)
	if err := Verify(specSecret, hdr, []byte(specBody), time.Unix(specTS+10, 0), DefaultTolerance); err != nil {
		t.Errorf("Verify of the spec's vector: %v", err)
	}
}

func TestVerify(t *testing.T) {
	secret, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 24)))
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_770_000_000, 0)
	body := []byte(`{"status":"firing"}`)
	signed, err := Sign(secret, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(http.Header)) http.Header {
		h := signed.Clone()
		change(h)
		return h
	}
	other, _ := NewSecret(bytes.NewReader(bytes.Repeat([]byte{8}, 24)))
	cases := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		now    time.Time
		want   error // nil: verifies
	}{
		{"round trip", secret, signed, body, ts, nil},
		{"within tolerance, late", secret, signed, body, ts.Add(5 * time.Minute), nil},
		{"within tolerance, early clock", secret, signed, body, ts.Add(-5 * time.Minute), nil},
		{"several signatures, one good", secret, with(func(h http.Header) {
			h.Set("webhook-signature", "v1,AAAA v1a,"+strings.TrimPrefix(signed.Get("webhook-signature"), "v1,")+" "+signed.Get("webhook-signature")+" v2,zzz")
		}), body, ts, nil},
		{"body tampered", secret, signed, []byte(`{"status":"resolved"}`), ts, ErrSignature},
		{"body extended", secret, signed, append(append([]byte{}, body...), ' '), ts, ErrSignature},
		{"id changed", secret, with(func(h http.Header) { h.Set("webhook-id", "msg_2") }), body, ts, ErrSignature},
		{"timestamp changed", secret, with(func(h http.Header) { h.Set("webhook-timestamp", "1770000001") }), body, ts, ErrSignature},
		{"signature of another version only", secret, with(func(h http.Header) {
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(signed.Get("webhook-signature"), "v1,"))
		}), body, ts, ErrSignature},
		{"other secret", other, signed, body, ts, ErrSignature},
		{"old timestamp", secret, signed, body, ts.Add(5*time.Minute + time.Second), ErrTimestamp},
		{"future timestamp", secret, signed, body, ts.Add(-6 * time.Minute), ErrTimestamp},
		{"timestamp not a number", secret, with(func(h http.Header) { h.Set("webhook-timestamp", "1770000000.5") }), body, ts, ErrTimestamp},
		{"no signature", secret, with(func(h http.Header) { h.Del("webhook-signature") }), body, ts, ErrMissingHeaders},
		{"no id", secret, with(func(h http.Header) { h.Del("webhook-id") }), body, ts, ErrMissingHeaders},
	}
	for _, c := range cases {
		err := Verify(c.secret, c.h, c.body, c.now, DefaultTolerance)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	s, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xab}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if !strings.HasPrefix(s, "whsec_") || err != nil || !bytes.Equal(k, bytes.Repeat([]byte{0xab}, 24)) {
		t.Errorf("secret %q: want whsec_ and the base64 of 24 bytes read", s)
	}
	if _, err := NewSecret(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Error("a failing reader gave a secret")
	}
	if _, err := NewSecret(bytes.NewReader(make([]byte, 10))); err == nil {
		t.Error("a short reader gave a secret")
	}
}

func TestSignRefusesBadInput(t *testing.T) {
	ts := time.Unix(specTS, 0)
	for name, c := range map[string][2]string{
		"empty id":          {specSecret, ""},
		"dotted id":         {specSecret, "msg.1"},
		"id with CRLF":      {specSecret, "msg\r\nX: y"},
		"id with space":     {specSecret, "msg 1"},
		"secret not base64": {"whsec_!!!", "msg_1"},
		"empty secret":      {"whsec_", "msg_1"},
	} {
		if _, err := Sign(c[0], c[1], ts, nil); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}
