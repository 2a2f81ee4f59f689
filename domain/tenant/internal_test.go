package tenant_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/tenant"
)

// Nobody can create the internal tenant, nor any other "_" slug, with New.
func TestReservedSlugs(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, slug := range []string{tenant.InternalSlug, "_", "_x", "__pulse", "_acme-prod"} {
		_, err := tenant.New(slug, "", 0, now)
		var ie *tenant.InvalidError
		if !errors.As(err, &ie) || ie.Field != "slug" || !strings.Contains(ie.Message, "reserved") {
			t.Errorf("New(%q) = %v, want a reserved-slug error", slug, err)
		}
		if !tenant.IsReserved(slug) {
			t.Errorf("IsReserved(%q) = false", slug)
		}
	}
	if tenant.IsReserved("acme") || tenant.IsReserved("pulse") {
		t.Error("ordinary slugs reported reserved")
	}
	in := tenant.Internal(now)
	if in.Slug != tenant.InternalSlug || in.RetentionDays != tenant.InternalRetentionDays || in.ID != 0 || !in.CreatedAt.Equal(now) {
		t.Errorf("Internal = %+v", in)
	}
}
