package notify

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// Silence bounds.
const (
	MaxSilenceMatchers = 20
	MaxCommentLen      = 1000              // characters
	MaxSilenceSpan     = 366 * 24 * 3600e3 // a year, in milliseconds
)

// ErrSilenceNotFound is an unknown silence, or another tenant's.
var ErrSilenceNotFound = errors.New("silence not found")

// Silence mutes a tenant's notifications from StartsAt to EndsAt (Unix
// ms, end excluded): those of rule RuleID (0: any rule) whose labels every
// matcher selects. State changes are still recorded; only the sending is
// held. An ended silence stays, as history.
type Silence struct {
	ID        int64
	TenantID  int64
	RuleID    int64
	Matchers  alert.Matchers
	StartsAt  int64
	EndsAt    int64
	Comment   string
	CreatedBy string
	CreatedAt int64
}

// Validate checks a silence and compiles its matchers; it answers an
// *InvalidChannelError-like *InvalidSilenceError naming each bad field.
func (s *Silence) Validate() error {
	bad := FieldErrors{}
	if s.RuleID < 0 {
		bad["rule_id"] = "must be a rule id, or 0 for any rule"
	}
	if s.RuleID == 0 && len(s.Matchers) == 0 {
		bad["matchers"] = "a silence needs a rule or at least one matcher: it would mute everything"
	}
	if len(s.Matchers) > MaxSilenceMatchers {
		bad["matchers"] = fmt.Sprintf("at most %d matchers", MaxSilenceMatchers)
	}
	for i, reason := range s.Matchers.Compile() {
		bad[fmt.Sprintf("matchers[%d]", i)] = reason
	}
	switch {
	case s.StartsAt <= 0:
		bad["starts_at"] = "is required"
	case s.EndsAt <= s.StartsAt:
		bad["ends_at"] = "must be after starts_at"
	case s.EndsAt-s.StartsAt > MaxSilenceSpan:
		bad["ends_at"] = "a silence lasts at most a year"
	}
	s.Comment = strings.TrimSpace(s.Comment)
	if utf8.RuneCountInString(s.Comment) > MaxCommentLen || !utf8.ValidString(s.Comment) {
		bad["comment"] = fmt.Sprintf("at most %d characters", MaxCommentLen)
	}
	if len(bad) > 0 {
		return &InvalidSilenceError{Fields: bad}
	}
	return nil
}

// InvalidSilenceError lists every bad field of a silence (HTTP 422).
type InvalidSilenceError struct{ Fields FieldErrors }

func (e *InvalidSilenceError) Error() string {
	return strings.Replace((&InvalidChannelError{Fields: e.Fields}).Error(), "notification channel", "silence", 1)
}

// Active reports whether the silence mutes at now (Unix ms).
func (s Silence) Active(now int64) bool { return s.StartsAt <= now && now < s.EndsAt }

// Mutes reports whether the silence, active at now, mutes a notification
// of rule ruleID with labels.
func (s Silence) Mutes(ruleID int64, labels map[string]string, now int64) bool {
	if !s.Active(now) || (s.RuleID != 0 && s.RuleID != ruleID) {
		return false
	}
	return s.Matchers.Matches(metric.SortedTags(labels))
}

// Muted reports whether any of silences mutes the notification at now.
func Muted(silences []Silence, ruleID int64, labels map[string]string, now int64) bool {
	for _, s := range silences {
		if s.Mutes(ruleID, labels, now) {
			return true
		}
	}
	return false
}
