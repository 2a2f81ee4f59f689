// Package dashboard defines a tenant's dashboards and their widgets: a
// widget charts one metric (with tag filters, an aggregation and a chart
// type). Names, metric names and tags follow the rules of domain/metric.
package dashboard

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of the dashboard rules and storage.
var (
	// ErrNotFound is an unknown dashboard or widget, or one of another
	// tenant (never told apart).
	ErrNotFound = errors.New("dashboard not found")
	// ErrForbidden is a change attempted by a user whose role may only read.
	ErrForbidden = errors.New("your role may not change dashboards")
)

// ValidationError lists every bad field of one form, by field name
// ("name", "title", "metric", "tags", "agg", "chart").
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid dashboard input: " + strings.Join(parts, "; ")
}

// Bounds.
const (
	MaxNameChars  = 100
	MaxTitleChars = 100
	MaxWidgets    = 50
)

// Dashboard is one named page of widgets of one tenant.
type Dashboard struct {
	ID        int64
	TenantID  int64
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Widgets are ordered by Position (set when read with its widgets).
	Widgets []Widget
}

// Summary is a dashboard as listed.
type Summary struct {
	ID        int64
	Name      string
	Widgets   int
	UpdatedAt time.Time
}

// CheckName validates and trims a dashboard name (1–100 characters).
func CheckName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if msg := checkText("name", n, 1, MaxNameChars); msg != "" {
		return "", &ValidationError{Fields: map[string]string{"name": msg}}
	}
	return n, nil
}

func checkText(field, s string, minChars, maxChars int) string {
	switch {
	case !utf8.ValidString(s):
		return field + " must be valid UTF-8 text"
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return field + " must not contain control characters"
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minChars && minChars == 1:
		return field + " is required"
	case n > maxChars:
		return fmt.Sprintf("%s must be at most %d characters", field, maxChars)
	}
	return ""
}
