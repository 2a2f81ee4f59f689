package webhook

import (
	"fmt"
	"maps"
	"slices"
)

// Fingerprint is Alertmanager's fingerprint of a label set (Prometheus's
// model.LabelSet.Fingerprint): FNV-1a 64 over the sorted names and values,
// each followed by a 0xff byte, as 16 hex digits. Receivers use it to
// match a resolved alert with its firing one, so it must be the same
// function, not merely a stable one.
func Fingerprint(labels map[string]string) string {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
		sep      = 0xff
	)
	h := uint64(offset64)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime64
		}
		h ^= sep
		h *= prime64
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		add(k)
		add(labels[k])
	}
	return fmt.Sprintf("%016x", h)
}
