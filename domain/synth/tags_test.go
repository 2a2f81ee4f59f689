package synth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/synth"
)

func TestExpandTags(t *testing.T) {
	pad := func(format string, from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf(format, i))
		}
		return out
	}
	for _, c := range []struct {
		name      string
		templates []string
		want      []string // tagString of each series, in order
	}{
		{"no template is one series without tags", nil, []string{""}},
		{"a plain value", []string{"env=prod"}, []string{"env=prod"}},
		{"a range", []string{"host=web-{1..3}"}, []string{"host=web-1", "host=web-2", "host=web-3"}},
		{"a range of one", []string{"n={5..5}"}, []string{"n=5"}},
		{"negative bounds", []string{"n={-2..1}"}, []string{"n=-2", "n=-1", "n=0", "n=1"}},
		{"zero padding", []string{"n={01..10}"}, pad("n=%02d", 1, 10)},
		{"zero padding past its width", []string{"n={08..11}"}, []string{"n=08", "n=09", "n=10", "n=11"}},
		{"three digits", []string{"n={001..3}"}, []string{"n=001", "n=002", "n=003"}},
		{"a single 0 does not pad", []string{"n={0..10}"}, pad("n=%d", 0, 10)},
		{"alternatives", []string{"dc={eu,us}"}, []string{"dc=eu", "dc=us"}},
		{"one alternative", []string{"dc={eu}"}, []string{"dc=eu"}},
		{"alternatives keep their order", []string{"dc={us,eu,ap}"}, []string{"dc=us", "dc=eu", "dc=ap"}},
		{"two groups in a value, the first outer", []string{"k={a,b}-{1..2}"}, []string{"k=a-1", "k=a-2", "k=b-1", "k=b-2"}},
		{"text around groups", []string{"k=x{a,b}y{1..2}z"}, []string{"k=xay1z", "k=xay2z", "k=xby1z", "k=xby2z"}},
		{"the key is trimmed", []string{" host =web"}, []string{"host=web"}},
		{"the value keeps a =", []string{"q=a=b"}, []string{"q=a=b"}},
		{"an empty value", []string{"k="}, []string{"k="}},
		{"a product, the first template outer", []string{"dc={eu,us}", "host=h{1..3}"},
			[]string{"dc=eu,host=h1", "dc=eu,host=h2", "dc=eu,host=h3", "dc=us,host=h1", "dc=us,host=h2", "dc=us,host=h3"}},
		{"the product the other way round", []string{"host=h{1..3}", "dc={eu,us}"},
			[]string{"dc=eu,host=h1", "dc=us,host=h1", "dc=eu,host=h2", "dc=us,host=h2", "dc=eu,host=h3", "dc=us,host=h3"}},
		{"three keys", []string{"a={1,2}", "b=x", "c={3,4}"},
			[]string{"a=1,b=x,c=3", "a=1,b=x,c=4", "a=2,b=x,c=3", "a=2,b=x,c=4"}},
		{"a range at the top of int", []string{"n={9223372036854775806..9223372036854775807}"},
			[]string{"n=9223372036854775806", "n=9223372036854775807"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := synth.ExpandTags(c.templates)
			if err != nil {
				t.Fatalf("ExpandTags(%q): %v", c.templates, err)
			}
			strs := make([]string, len(got))
			for i, m := range got {
				strs[i] = tagString(m)
			}
			if !slices.Equal(strs, c.want) {
				t.Fatalf("ExpandTags(%q) = %q, want %q", c.templates, strs, c.want)
			}
			// Each series has its own map: changing one changes no other.
			if len(got) > 1 {
				got[0]["x"] = "y"
				if _, ok := got[1]["x"]; ok {
					t.Fatal("two series share a map")
				}
			}
		})
	}
}

func TestExpandTagsMaxSeries(t *testing.T) {
	got, err := synth.ExpandTags([]string{"a={1..100}", "b={1..1000}"})
	if err != nil || len(got) != synth.MaxSeries {
		t.Fatalf("exactly MaxSeries: %d series, %v", len(got), err)
	}
	got, err = synth.ExpandTags([]string{"a={1..100000}"})
	if err != nil || len(got) != synth.MaxSeries {
		t.Fatalf("exactly MaxSeries in one range: %d series, %v", len(got), err)
	}
}

func TestExpandTagsErrors(t *testing.T) {
	for _, c := range []struct {
		name      string
		templates []string
		want      string // in the error
	}{
		{"no =", []string{"host"}, "want key=value"},
		{"no key", []string{"=web"}, "want key=value"},
		{"a blank key", []string{"  =web"}, "want key=value"},
		{"braces in the key", []string{"h{1..2}=web"}, "want key=value"},
		{"a comma in the key", []string{"a,b=web"}, "want key=value"},
		{"a key twice", []string{"host=a", "dc=eu", "host=b"}, "the key host is given twice"},
		{"a key twice once spaced", []string{"host=a", " host=b"}, "given twice"},
		{"an unclosed {", []string{"k=web-{1..3"}, "a { without its }"},
		{"a } alone", []string{"k=web-1..3}"}, "a } without its {"},
		{"a } before a group", []string{"k=x}{a,b}"}, "a } without its {"},
		{"a } after a group", []string{"k={a,b}}"}, "a } without its {"},
		{"a { in a group", []string{"k={a{b}"}, "groups do not nest"},
		{"nested groups", []string{"k={a,{b,c}}"}, "groups do not nest"},
		{"a reversed range", []string{"n={3..1}"}, "first ≤ last"},
		{"a range of words", []string{"n={a..c}"}, "with integers"},
		{"a range without its end", []string{"n={1..}"}, "with integers"},
		{"a range past int", []string{"n={1..99999999999999999999}"}, "with integers"},
		{"a range of more than MaxSeries", []string{"n={0..100000}"}, "more than 100000 values"},
		{"the widest range", []string{"n={-9223372036854775808..9223372036854775807}"}, "more than 100000 values"},
		{"an empty group", []string{"k={}"}, "an empty alternative"},
		{"an empty alternative", []string{"k={a,,b}"}, "an empty alternative"},
		{"a leading comma", []string{"k={,a}"}, "an empty alternative"},
		{"a trailing comma", []string{"k={a,}"}, "an empty alternative"},
		{"an alternative twice", []string{"dc={eu,us,eu}"}, `the value "eu" comes twice`},
		{"a value twice from two groups", []string{"k={a,ab}{b,bb}"}, `the value "abb" comes twice`},
		{"a range among alternatives", []string{"k={1,1..2}"}, "with integers"},
		{"groups in one value past MaxSeries", []string{"k={1..400}{1..400}"}, "more than 100000 values"},
		{"templates past MaxSeries", []string{"a={1..1000}", "b={1..101}"}, "more than 100000 series"},
		{"an error in the second template", []string{"a=1", "b={2..1}"}, `"b={2..1}"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := synth.ExpandTags(c.templates)
			if err == nil {
				t.Fatalf("ExpandTags(%q) = %d series, want an error with %q", c.templates, len(got), c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ExpandTags(%q): %q, want it to say %q", c.templates, err, c.want)
			}
			if got != nil {
				t.Fatalf("ExpandTags(%q): %d series with the error", c.templates, len(got))
			}
		})
	}
}

// TestTagsAgainstTheContract: templates ExpandTags accepts but ingest would
// refuse are NewPlan's problems, named by series and field.
func TestTagsAgainstTheContract(t *testing.T) {
	long := strings.Repeat("v", 257)
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	for _, c := range []struct {
		name string
		tags []string
		want string
	}{
		{"a key not a name", []string{"1host=a"}, "series 0: tags.1host: tag key must match"},
		{"a key with a space", []string{"ho st=a"}, "series 0: tags.ho st:"},
		{"a value too long in the third series", []string{"k={a,b," + long + "}"}, "series 2: tags.k: tag value exceeds"},
		{"invalid UTF-8", []string{"k=\xff"}, "not valid UTF-8"},
		{"too many tags", many, "33 tags exceed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base(synth.Sine)
			s.Tags = c.tags
			_, err := synth.NewPlan(s)
			if err == nil {
				t.Fatalf("tags %q accepted", c.tags)
			}
			if ps := problems(t, err); len(ps) != 1 || !strings.Contains(ps[0], c.want) {
				t.Fatalf("problems %q, want one with %q", ps, c.want)
			}
		})
	}
	s := base(synth.Sine)
	s.Tags, s.End = many[:32], t0.Add(time.Second)
	if _, err := synth.NewPlan(s); err != nil {
		t.Fatalf("32 tags: %v", err)
	}
}
