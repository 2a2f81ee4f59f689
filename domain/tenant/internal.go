package tenant

import (
	"strings"
	"time"
)

// InternalSlug is the tenant Pulse records its own pipeline figures in
// (the Health page reads it). Slugs starting with "_" are reserved for
// Pulse: New refuses them, so no tenant made by a person can take its place
// or be mistaken for it.
const InternalSlug = "_pulse"

// InternalRetentionDays keeps a week of raw figures: every process records
// a few dozen series every 10 s, and the rollups keep the longer view.
const InternalRetentionDays = 7

// IsReserved reports whether slug belongs to Pulse itself.
func IsReserved(slug string) bool { return strings.HasPrefix(slug, "_") }

// Internal returns the internal tenant, not stored yet (ID 0).
func Internal(now time.Time) Tenant {
	return Tenant{Slug: InternalSlug, Name: "Pulse (internal)", RetentionDays: InternalRetentionDays, CreatedAt: now.UTC()}
}
