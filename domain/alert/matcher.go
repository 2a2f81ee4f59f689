package alert

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// MatchOp is a tag matcher's operator (Prometheus's four).
type MatchOp string

// The matcher operators.
const (
	MatchEqual    MatchOp = "="
	MatchNotEqual MatchOp = "!="
	MatchRegexp   MatchOp = "=~"
	MatchNotRegex MatchOp = "!~"
)

// Matcher selects series by one tag. A missing tag has the value "", as in
// Prometheus: host!="a" matches a series without host, host=~".+" does not.
type Matcher struct {
	Tag   string
	Op    MatchOp
	Value string
	re    *regexp.Regexp // compiled once by Validate (RE2, anchored)
}

// Matchers are ANDed.
type Matchers []Matcher

func (m *Matcher) compile() error {
	switch {
	case m.Tag == "" || len(m.Tag) > maxLabelKeyLen:
		return errors.New("tag must be 1 to 100 characters")
	case len(m.Value) > maxMatcherValue:
		return fmt.Errorf("value must be at most %d characters", maxMatcherValue)
	}
	switch m.Op {
	case MatchEqual, MatchNotEqual:
		m.re = nil
		return nil
	case MatchRegexp, MatchNotRegex:
		// The value must be a regex of its own before it is anchored: else
		// "a)|(?:b" would compile as ^(?:a)|(?:b)$, anchored at one end only.
		_, err := regexp.Compile(m.Value)
		var re *regexp.Regexp
		if err == nil {
			re, err = regexp.Compile("^(?:" + m.Value + ")$")
		}
		if err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				return fmt.Errorf("regex does not compile: %s", se.Code)
			}
			return fmt.Errorf("regex does not compile: %v", err)
		}
		m.re = re
		return nil
	}
	return errors.New(`op must be one of "=", "!=", "=~", "!~"`)
}

// Matches reports whether a value of the matcher's tag ("" if missing)
// is selected. A regex matcher must have been compiled by Validate.
func (m Matcher) Matches(value string) bool {
	switch m.Op {
	case MatchEqual:
		return value == m.Value
	case MatchNotEqual:
		return value != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(value)
	case MatchNotRegex:
		return m.re != nil && !m.re.MatchString(value)
	}
	return false
}

// Matches reports whether every matcher selects tags.
func (ms Matchers) Matches(tags metric.Tags) bool {
	for _, m := range ms {
		if !m.Matches(tagValue(tags, m.Tag)) {
			return false
		}
	}
	return true
}

// Equalities are the "=" matchers with a non-empty value, which a store
// can apply itself (narrowing what it reads); the others are applied by
// Matches on what comes back.
func (ms Matchers) Equalities() map[string]string {
	var eq map[string]string
	for _, m := range ms {
		if m.Op == MatchEqual && m.Value != "" {
			if eq == nil {
				eq = map[string]string{}
			}
			eq[m.Tag] = m.Value
		}
	}
	return eq
}

func tagValue(tags metric.Tags, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// Compile checks and compiles every matcher (as a rule's Validate does),
// for matchers held outside a rule (a silence's); it answers the index and
// reason of each bad one.
func (ms Matchers) Compile() map[int]string {
	var bad map[int]string
	for i := range ms {
		if err := ms[i].compile(); err != nil {
			if bad == nil {
				bad = map[int]string{}
			}
			bad[i] = err.Error()
		}
	}
	return bad
}
