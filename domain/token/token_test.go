package token_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pulsemetrics/pulse/domain/token"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

const (
	tokenLen   = len("pulse_") + 10 + 1 + 32 + 6
	alphabet62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

var format = regexp.MustCompile(`^pulse_([0-9a-z]{10})_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$`)

// seeded is a deterministic "random" source.
func seeded(seed int64) io.Reader { return rand.New(rand.NewSource(seed)) }

func issue(t *testing.T, seed int64, scopes ...token.Scope) token.Issued {
	t.Helper()
	iss, err := token.Issue(seeded(seed), 7, "ci", scopes, now)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestIssueParseRoundTrip(t *testing.T) {
	for seed := int64(1); seed <= 50; seed++ {
		iss := issue(t, seed, token.ScopeIngest)
		m := format.FindStringSubmatch(iss.Plain)
		if m == nil {
			t.Fatalf("Plain %q does not match the documented format", iss.Plain)
		}
		if m[1] != iss.Token.ID {
			t.Errorf("id in Plain = %q, Token.ID = %q", m[1], iss.Token.ID)
		}
		p, err := token.Parse(iss.Plain)
		if err != nil {
			t.Fatalf("Parse(Issue().Plain) = %v", err)
		}
		if p.ID != iss.Token.ID {
			t.Errorf("Parse id = %q, want %q", p.ID, iss.Token.ID)
		}
		if !p.Matches(iss.Token.SecretHash) {
			t.Error("parsed token does not match its own hash")
		}
		if !token.ValidID(p.ID) {
			t.Errorf("ValidID(%q) = false", p.ID)
		}
	}
}

func TestIssueFields(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	scopes := []token.Scope{token.ScopeIngest, token.ScopeRead}
	iss, err := token.Issue(seeded(1), 42, "agent", scopes, now.In(cet))
	if err != nil {
		t.Fatal(err)
	}
	tk := iss.Token
	if tk.TenantID != 42 || tk.Name != "agent" || !slices.Equal(tk.Scopes, scopes) {
		t.Errorf("Token = %+v", tk)
	}
	if !tk.CreatedAt.Equal(now) || tk.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", tk.CreatedAt, now)
	}
	if tk.RevokedAt != nil || tk.LastUsedAt != nil {
		t.Error("a new token is revoked or used")
	}
}

func TestIssueIsDeterministicGivenTheReader(t *testing.T) {
	tests := []struct {
		name string
		r    func() io.Reader
	}{
		{"bytes.Repeat", func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte{7}, 1000)) }},
		{"math/rand seeded", func() io.Reader { return seeded(99) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := token.Issue(tt.r(), 1, "n", []token.Scope{token.ScopeRead}, now)
			if err != nil {
				t.Fatal(err)
			}
			b, err := token.Issue(tt.r(), 1, "n", []token.Scope{token.ScopeRead}, now)
			if err != nil {
				t.Fatal(err)
			}
			if a.Plain != b.Plain || a.Token.ID != b.Token.ID || a.Token.SecretHash != b.Token.SecretHash {
				t.Errorf("same reader, different tokens: %q vs %q", a.Plain, b.Plain)
			}
			if _, err := token.Parse(a.Plain); err != nil {
				t.Errorf("Parse(%q) = %v", a.Plain, err)
			}
		})
	}
	// Byte 7 maps to '7' in both alphabets.
	iss, _ := token.Issue(bytes.NewReader(bytes.Repeat([]byte{7}, 1000)), 1, "n", nil, now)
	if want := "pulse_7777777777_" + strings.Repeat("7", 32); !strings.HasPrefix(iss.Plain, want) {
		t.Errorf("Plain = %q, want prefix %q", iss.Plain, want)
	}
	// Different seeds give different tokens.
	if issue(t, 1).Plain == issue(t, 2).Plain {
		t.Error("different random sources gave the same token")
	}
}

func TestIssueReaderFailure(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"error", iotest.ErrReader(errors.New("entropy gone"))},
		{"short", bytes.NewReader(make([]byte, 25))},
		{"only rejected bytes then EOF", bytes.NewReader(bytes.Repeat([]byte{255}, 500))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := token.Issue(tt.r, 1, "n", nil, now)
			if err == nil {
				t.Fatalf("Issue succeeded with a failing reader: %q", iss.Plain)
			}
			if iss.Plain != "" {
				t.Errorf("Plain = %q on error", iss.Plain)
			}
		})
	}
}

func TestSecretIsNeverStored(t *testing.T) {
	iss := issue(t, 3, token.ScopeAdmin)
	secret := format.FindStringSubmatch(iss.Plain)[2]
	dump := fmt.Sprintf("%+v %#v", iss.Token, iss.Token)
	if strings.Contains(dump, secret) {
		t.Errorf("the secret %q appears in the stored token: %s", secret, dump)
	}
	if strings.Contains(dump, iss.Plain) {
		t.Error("the plain token appears in the stored token")
	}
	if iss.Token.SecretHash == ([32]byte{}) {
		t.Error("SecretHash is empty")
	}
	if bytes.Contains(iss.Token.SecretHash[:], []byte(secret)) {
		t.Error("SecretHash holds the secret itself")
	}
}

func TestParseRefuses(t *testing.T) {
	good := issue(t, 5).Plain
	tests := []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"prefix only", "pulse_"},
		{"wrong prefix", "pulze_" + good[6:]},
		{"upper-case prefix", "PULSE_" + good[6:]},
		{"no prefix, right length", "xxxxxx" + good[6:]},
		{"one char short (truncated)", good[:len(good)-1]},
		{"crc cut off", good[:len(good)-6]},
		{"half a token", good[:len(good)/2]},
		{"one char too long", good + "a"},
		{"leading space", " " + good[:len(good)-1]},
		{"trailing newline", good + "\n"},
		{"separator replaced", good[:16] + "-" + good[17:]},
		{"upper case in id", good[:6] + "A" + good[7:]},
		{"underscore in secret", good[:20] + "_" + good[21:]},
		{"non-ascii in secret", good[:20] + "é" + good[22:]},
		{"NUL in crc", good[:len(good)-1] + "\x00"},
		{"bearer prefix", "Bearer " + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := token.Parse(tt.raw); !errors.Is(err, token.ErrUnauthenticated) {
				t.Errorf("Parse(%q) = %+v, %v; want ErrUnauthenticated", tt.raw, p, err)
			}
		})
	}
}

// TestParseDetectsEveryOneCharChange flips each position of a valid token to
// every other character of the token alphabet: the checksum (or the format)
// must refuse all of them.
func TestParseDetectsEveryOneCharChange(t *testing.T) {
	good := issue(t, 11).Plain
	if len(good) != tokenLen {
		t.Fatalf("len = %d, want %d", len(good), tokenLen)
	}
	for i := range len(good) {
		for _, c := range []byte(alphabet62 + "_") {
			if c == good[i] {
				continue
			}
			raw := good[:i] + string(c) + good[i+1:]
			if _, err := token.Parse(raw); !errors.Is(err, token.ErrUnauthenticated) {
				t.Fatalf("Parse accepted %q (position %d changed to %q)", raw, i, c)
			}
		}
	}
}

func TestParseSwapOfTwoSecretChars(t *testing.T) {
	good := issue(t, 12).Plain
	b := []byte(good)
	for i := 17; i < 17+31; i++ {
		if b[i] == b[i+1] {
			continue
		}
		s := slices.Clone(b)
		s[i], s[i+1] = s[i+1], s[i]
		if _, err := token.Parse(string(s)); err == nil {
			t.Errorf("Parse accepted adjacent swap at %d", i)
		}
	}
}

func TestMatches(t *testing.T) {
	a, b := issue(t, 20), issue(t, 21)
	pa, err := token.Parse(a.Plain)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		hash [32]byte
		want bool
	}{
		{"own hash", a.Token.SecretHash, true},
		{"other token's hash", b.Token.SecretHash, false},
		{"zero hash", [32]byte{}, false},
	}
	for _, tt := range tests {
		if got := pa.Matches(tt.hash); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (token.Presented{ID: a.Token.ID}).Matches(a.Token.SecretHash) {
		t.Error("a Presented without secret matches")
	}
}

func TestCheck(t *testing.T) {
	iss := issue(t, 30, token.ScopeIngest, token.ScopeRead)
	p, err := token.Parse(iss.Plain)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := token.Parse(issue(t, 31).Plain)
	revokedAt := now.Add(-time.Hour)
	revoked := iss.Token
	revoked.RevokedAt = &revokedAt

	tests := []struct {
		name string
		tok  token.Token
		p    token.Presented
		need token.Scope
		want error
	}{
		{"ok ingest", iss.Token, p, token.ScopeIngest, nil},
		{"ok read", iss.Token, p, token.ScopeRead, nil},
		{"missing scope", iss.Token, p, token.ScopeAdmin, token.ErrForbidden},
		{"revoked", revoked, p, token.ScopeIngest, token.ErrUnauthenticated},
		{"revoked and missing scope is 401, not 403", revoked, p, token.ScopeAdmin, token.ErrUnauthenticated},
		{"wrong secret", iss.Token, wrong, token.ScopeIngest, token.ErrUnauthenticated},
		{"wrong secret and missing scope is 401, not 403", iss.Token, wrong, token.ScopeAdmin, token.ErrUnauthenticated},
		{"no scopes", token.Token{SecretHash: iss.Token.SecretHash}, p, token.ScopeRead, token.ErrForbidden},
		{"tenant admin token is not a platform token", withTenant(iss.Token, 7, token.ScopeAdmin), p, token.ScopePlatform, token.ErrForbidden},
		{"platform token meets platform", withTenant(iss.Token, 0, token.ScopeAdmin), p, token.ScopePlatform, nil},
		{"platform token without admin", withTenant(iss.Token, 0, token.ScopeRead), p, token.ScopePlatform, token.ErrForbidden},
		{"platform token cannot ingest", withTenant(iss.Token, 0, token.ScopeAdmin, token.ScopeIngest), p, token.ScopeIngest, token.ErrForbidden},
		{"platform token cannot use tenant admin", withTenant(iss.Token, 0, token.ScopeAdmin), p, token.ScopeAdmin, token.ErrForbidden},
		{"revoked platform token is 401", revokedPlatform(iss.Token, revokedAt), p, token.ScopePlatform, token.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := token.Check(tt.tok, tt.p, tt.need); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func withTenant(tk token.Token, tenantID int64, scopes ...token.Scope) token.Token {
	tk.TenantID, tk.Scopes = tenantID, scopes
	return tk
}

func revokedPlatform(tk token.Token, at time.Time) token.Token {
	tk = withTenant(tk, 0, token.ScopeAdmin)
	tk.RevokedAt = &at
	return tk
}

func TestSpecValidate(t *testing.T) {
	ok := []token.Scope{token.ScopeIngest}
	tests := []struct {
		name  string
		spec  token.Spec
		field string // "" = valid
	}{
		{"minimal", token.Spec{Scopes: ok}, ""},
		{"rate limit", token.Spec{Name: "agent", Scopes: ok, RateLimit: 6000}, ""},
		{"name 200 bytes", token.Spec{Name: strings.Repeat("n", 200), Scopes: ok}, ""},
		{"name 201 bytes", token.Spec{Name: strings.Repeat("n", 201), Scopes: ok}, "name"},
		{"no scopes", token.Spec{}, "scopes"},
		{"unknown scope", token.Spec{Scopes: []token.Scope{"root"}}, "scopes"},
		{"platform is not grantable", token.Spec{Scopes: []token.Scope{token.ScopePlatform}}, "scopes"},
		{"negative rate limit", token.Spec{Scopes: ok, RateLimit: -1}, "rate_limit"},
		{"rate limit at the bound", token.Spec{Scopes: ok, RateLimit: token.MaxRateLimit}, ""},
		{"absurd rate limit", token.Spec{Scopes: ok, RateLimit: token.MaxRateLimit + 1}, "rate_limit"},
		{"int64 max rate limit", token.Spec{Scopes: ok, RateLimit: math.MaxInt64}, "rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var ie *token.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v, want *token.InvalidError on %s", err, tt.field)
			}
		})
	}
	if _, err := token.ParseScopes("platform"); err == nil {
		t.Error("ParseScopes accepted the platform requirement as a scope")
	}
}

// A tenant admin may lower a token's quota below the platform's default,
// never raise it; with no platform default (unlimited) any valid value
// lowers it.
func TestSpecValidateForTenantAdmin(t *testing.T) {
	ok := []token.Scope{token.ScopeIngest}
	tests := []struct {
		name     string
		rate     int64
		platform int64
		wantErr  bool
	}{
		{"default quota", 0, 600000, false},
		{"lowered", 6000, 600000, false},
		{"equal to the platform's", 600000, 600000, false},
		{"raised", 600001, 600000, true},
		{"int64 max", math.MaxInt64, 600000, true},
		{"platform unlimited: any valid value lowers it", 5_000_000, 0, false},
		{"platform unlimited: absurd still refused", token.MaxRateLimit + 1, 0, true},
		{"negative", -1, 600000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := token.Spec{Scopes: ok, RateLimit: tt.rate}.ValidateForTenantAdmin(tt.platform)
			var ie *token.InvalidError
			if tt.wantErr != (err != nil) || (err != nil && (!errors.As(err, &ie) || ie.Field != "rate_limit")) {
				t.Fatalf("ValidateForTenantAdmin = %v, want error %v on rate_limit", err, tt.wantErr)
			}
		})
	}
}

func TestHas(t *testing.T) {
	tk := token.Token{Scopes: []token.Scope{token.ScopeRead}}
	if !tk.Has(token.ScopeRead) || tk.Has(token.ScopeIngest) || tk.Has(token.ScopeAdmin) {
		t.Errorf("Has is wrong for %v", tk.Scopes)
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in      string
		want    []token.Scope
		wantErr string
	}{
		{in: "ingest", want: []token.Scope{token.ScopeIngest}},
		{in: "ingest,read", want: []token.Scope{token.ScopeIngest, token.ScopeRead}},
		{in: "read,ingest,admin", want: []token.Scope{token.ScopeRead, token.ScopeIngest, token.ScopeAdmin}},
		{in: " ingest , read ", want: []token.Scope{token.ScopeIngest, token.ScopeRead}},
		{in: "ingest,,read,", want: []token.Scope{token.ScopeIngest, token.ScopeRead}},
		{in: "ingest,ingest", want: []token.Scope{token.ScopeIngest}},
		{in: "read,ingest,read", want: []token.Scope{token.ScopeRead, token.ScopeIngest}},
		{in: "", wantErr: "at least one scope"},
		{in: " , ,", wantErr: "at least one scope"},
		{in: "write", wantErr: `unknown scope "write"`},
		{in: "ingest,root", wantErr: `unknown scope "root"`},
		{in: "INGEST", wantErr: "unknown scope"},
		{in: "ingest;read", wantErr: "unknown scope"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := token.ParseScopes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseScopes(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if got != nil {
					t.Errorf("scopes = %v on error", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseScopes(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLastUsedDue(t *testing.T) {
	at := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	tests := []struct {
		name string
		last *time.Time
		want bool
	}{
		{"never used", nil, true},
		{"just now", at(0), false},
		{"59s ago", at(59 * time.Second), false},
		{"59.999s ago", at(time.Minute - time.Millisecond), false},
		{"60s ago", at(time.Minute), true},
		{"an hour ago", at(time.Hour), true},
		{"in the future (clock skew)", at(-time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (token.Token{LastUsedAt: tt.last}).LastUsedDue(now); got != tt.want {
				t.Errorf("LastUsedDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"abcdefgh12", true},
		{"0000000000", true},
		{"abcdefgh1", false},
		{"abcdefgh123", false},
		{"Abcdefgh12", false},
		{"abcdefgh_2", false},
		{"", false},
		{"pulse_abcd", false},
	}
	for _, tt := range tests {
		if got := token.ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
