package tenant_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/tenant"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 11, 25, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name      string
		slug      string
		tname     string
		retention int
		wantField string // "" = valid
		wantName  string
		wantRet   int
	}{
		{name: "minimal", slug: "acme", wantName: "acme", wantRet: 30},
		{name: "explicit name and retention", slug: "acme", tname: "ACME Corp", retention: 90, wantName: "ACME Corp", wantRet: 90},
		{name: "two chars", slug: "a1", wantName: "a1", wantRet: 30},
		{name: "63 chars", slug: strings.Repeat("a", 63), wantName: strings.Repeat("a", 63), wantRet: 30},
		{name: "digit first", slug: "9lives", wantName: "9lives", wantRet: 30},
		{name: "hyphen inside", slug: "acme-prod", wantName: "acme-prod", wantRet: 30},
		{name: "retention 1", slug: "acme", retention: 1, wantName: "acme", wantRet: 1},
		{name: "retention 3650", slug: "acme", retention: 3650, wantName: "acme", wantRet: 3650},
		{name: "name 200 bytes", slug: "acme", tname: strings.Repeat("n", 200), wantName: strings.Repeat("n", 200), wantRet: 30},

		{name: "slug empty", slug: "", wantField: "slug"},
		{name: "slug one char", slug: "a", wantField: "slug"},
		{name: "slug 64 chars", slug: strings.Repeat("a", 64), wantField: "slug"},
		{name: "slug uppercase", slug: "Acme", wantField: "slug"},
		{name: "slug hyphen first", slug: "-acme", wantField: "slug"},
		{name: "slug underscore", slug: "ac_me", wantField: "slug"},
		{name: "slug dot", slug: "ac.me", wantField: "slug"},
		{name: "slug space", slug: "ac me", wantField: "slug"},
		{name: "slug slash (MQTT topic level)", slug: "a/b", wantField: "slug"},
		{name: "slug MQTT wildcard", slug: "a+", wantField: "slug"},
		{name: "slug trailing newline", slug: "acme\n", wantField: "slug"},
		{name: "name 201 bytes", slug: "acme", tname: strings.Repeat("n", 201), wantField: "name"},
		{name: "retention negative", slug: "acme", retention: -1, wantField: "retention_days"},
		{name: "retention 3651", slug: "acme", retention: 3651, wantField: "retention_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tenant.New(tt.slug, tt.tname, tt.retention, now)
			if tt.wantField != "" {
				var ie *tenant.InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *tenant.InvalidError", err)
				}
				if ie.Field != tt.wantField {
					t.Errorf("field = %q, want %q", ie.Field, tt.wantField)
				}
				if ie.Message == "" || !strings.Contains(err.Error(), tt.wantField) {
					t.Errorf("error %q does not name the field", err)
				}
				if got != (tenant.Tenant{}) {
					t.Errorf("invalid input returned %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			want := tenant.Tenant{Slug: tt.slug, Name: tt.wantName, RetentionDays: tt.wantRet, CreatedAt: now.UTC()}
			if got != want {
				t.Errorf("New = %+v, want %+v", got, want)
			}
			if got.ID != 0 {
				t.Error("a new tenant must not have an id before it is stored")
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
			}
		})
	}
	if tenant.DefaultRetentionDays != 30 {
		t.Errorf("DefaultRetentionDays = %d, want 30", tenant.DefaultRetentionDays)
	}
}

func TestUpdate(t *testing.T) {
	base := tenant.Tenant{ID: 4, Slug: "acme", Name: "Acme", RetentionDays: 30}
	days := func(d int) *int { return &d }
	yes, no := true, false
	disabled := base
	disabled.Disabled = true
	tests := []struct {
		name      string
		from      tenant.Tenant
		retention *int
		disabled  *bool
		want      tenant.Tenant
		wantField string
	}{
		{name: "retention", from: base, retention: days(7), want: tenant.Tenant{ID: 4, Slug: "acme", Name: "Acme", RetentionDays: 7}},
		{name: "disable", from: base, disabled: &yes, want: disabled},
		{name: "enable", from: disabled, disabled: &no, want: base},
		{name: "both", from: base, retention: days(3650), disabled: &yes, want: tenant.Tenant{ID: 4, Slug: "acme", Name: "Acme", RetentionDays: 3650, Disabled: true}},
		{name: "nothing", from: base, wantField: "update"},
		{name: "retention 0", from: base, retention: days(0), wantField: "retention_days"},
		{name: "retention 3651", from: base, retention: days(3651), wantField: "retention_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Update(tt.retention, tt.disabled)
			if tt.wantField != "" {
				var ie *tenant.InvalidError
				if !errors.As(err, &ie) || ie.Field != tt.wantField || got != (tenant.Tenant{}) {
					t.Fatalf("Update = %+v, %v; want *InvalidError on %s", got, err, tt.wantField)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Update = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
