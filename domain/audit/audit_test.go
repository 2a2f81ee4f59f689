package audit_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/audit"
)

func TestNewEntry(t *testing.T) {
	at := time.Date(2026, 11, 25, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name                        string
		actor                       audit.Actor
		target, detail              string
		wantActor, wantTarget       string
		wantRemote, wantDetailBytes int
	}{
		{name: "plain", actor: audit.Actor{ID: "abcdefgh12", TenantID: 3, RemoteAddr: "10.0.0.1:5000"}, target: "token:x", detail: "d",
			wantActor: "abcdefgh12", wantTarget: "token:x", wantRemote: len("10.0.0.1:5000"), wantDetailBytes: 1},
		{name: "cli", actor: audit.CLI(), target: "tenant:acme", wantActor: "cli", wantTarget: "tenant:acme", wantRemote: len("local")},
		{name: "long fields are cut", actor: audit.Actor{ID: strings.Repeat("a", 100), RemoteAddr: strings.Repeat("r", 300)},
			target: strings.Repeat("t", 300), detail: strings.Repeat("d", 2000),
			wantActor: strings.Repeat("a", audit.MaxActor), wantTarget: strings.Repeat("t", audit.MaxTarget), wantRemote: audit.MaxRemote, wantDetailBytes: audit.MaxDetail},
		{name: "cut at a rune boundary", actor: audit.Actor{ID: "x"}, target: strings.Repeat("é", 200),
			wantActor: "x", wantTarget: strings.Repeat("é", 127)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := audit.NewEntry(at, tt.actor, 3, audit.TokenCreate, tt.target, tt.detail)
			if !e.At.Equal(at) || e.At.Location() != time.UTC {
				t.Errorf("At = %v, want %v in UTC", e.At, at)
			}
			if e.Actor != tt.wantActor || e.Target != tt.wantTarget || len(e.RemoteAddr) != tt.wantRemote || len(e.Detail) != tt.wantDetailBytes {
				t.Errorf("entry = %+v", e)
			}
			if !utf8.ValidString(e.Target) || e.TenantID != 3 || e.Action != audit.TokenCreate || e.ID != 0 {
				t.Errorf("entry = %+v", e)
			}
		})
	}
}
