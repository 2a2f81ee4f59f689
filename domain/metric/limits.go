package metric

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits are the per-sample bounds of the public contract. Each rejection
// message names the limit and its value so a client can fix its request.
type Limits struct {
	MaxNameBytes     int
	MaxTags          int
	MaxTagKeyBytes   int
	MaxTagValueBytes int
	MaxDedupeIDBytes int
	// MaxAge bounds how old a timestamp may be (the tenant's retention); 0 = unbounded.
	MaxAge time.Duration
	// MaxFuture bounds how far ahead of the server clock a timestamp may be.
	MaxFuture time.Duration
}

// DefaultLimits are the contract's defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxNameBytes:     200,
		MaxTags:          32,
		MaxTagKeyBytes:   64,
		MaxTagValueBytes: 256,
		MaxDedupeIDBytes: 128,
		MaxFuture:        10 * time.Minute,
	}
}

// WithRetention returns the limits with MaxAge set to the given number of days.
func (l Limits) WithRetention(days int) Limits {
	if days > 0 {
		l.MaxAge = time.Duration(days) * 24 * time.Hour
	}
	return l
}

func limitMsg(what string, max int, unit string) string {
	return fmt.Sprintf("%s exceeds the limit of %d %s", what, max, unit)
}

func (l Limits) checkName(name string) string {
	switch {
	case name == "":
		return "name is required"
	case len(name) > l.MaxNameBytes:
		return limitMsg("name", l.MaxNameBytes, "bytes")
	case !validName(name):
		return "name must match [A-Za-z_][A-Za-z0-9_.:-]*"
	}
	return ""
}

// validName checks [A-Za-z_][A-Za-z0-9_.:-]* without a regexp (this is the hot path).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if i == 0 {
			if !letter {
				return false
			}
			continue
		}
		if !letter && !(c >= '0' && c <= '9') && c != '.' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func (l Limits) checkTags(m map[string]string) (Tags, []FieldError) {
	var errs []FieldError
	if len(m) > l.MaxTags {
		errs = append(errs, FieldError{Field: "tags", Message: fmt.Sprintf("%d tags exceed the limit of %d tags per sample", len(m), l.MaxTags)})
	}
	tags := SortedTags(m) // sorted first, so errors come in a stable order
	for _, t := range tags {
		k := t.Key
		switch {
		case k == "":
			errs = append(errs, FieldError{Field: "tags", Message: "tag key must not be empty"})
		case len(k) > l.MaxTagKeyBytes:
			errs = append(errs, FieldError{Field: "tags." + truncate(k, 32), Message: limitMsg("tag key", l.MaxTagKeyBytes, "bytes")})
		case !validName(k):
			errs = append(errs, FieldError{Field: "tags." + truncate(k, 32), Message: "tag key must match [A-Za-z_][A-Za-z0-9_.:-]*"})
		}
		if len(t.Value) > l.MaxTagValueBytes {
			errs = append(errs, FieldError{Field: "tags." + truncate(k, 32), Message: limitMsg("tag value", l.MaxTagValueBytes, "bytes")})
		}
		if !validUTF8(t.Value) {
			errs = append(errs, FieldError{Field: "tags." + truncate(k, 32), Message: "tag value is not valid UTF-8"})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return tags, nil
}

func (l Limits) checkTime(ts, now time.Time) string {
	if l.MaxFuture > 0 && ts.After(now.Add(l.MaxFuture)) {
		return fmt.Sprintf("ts is more than %s in the future (limit max_future=%s)", l.MaxFuture, l.MaxFuture)
	}
	if l.MaxAge > 0 && ts.Before(now.Add(-l.MaxAge)) {
		return fmt.Sprintf("ts is older than the tenant's retention of %d days", int(l.MaxAge/(24*time.Hour)))
	}
	return ""
}

// checkUTF8 refuses a string that is not valid UTF-8: stored, it would come
// back as invalid JSON. (Names and tag keys are ASCII by their pattern.)
func checkUTF8(field, s string) []FieldError {
	if validUTF8(s) {
		return nil
	}
	return []FieldError{{Field: field, Message: field + " is not valid UTF-8"}}
}

// validUTF8 is utf8.ValidString with a plain loop over the ASCII bytes
// first: values are short and mostly ASCII, where it costs less (hot path).
func validUTF8(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s[i:])
		}
	}
	return true
}

// truncate cuts s to about n bytes for a field name, which must stay
// valid UTF-8 (bad bytes become U+FFFD).
func truncate(s string, n int) string {
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}
