package samples

import (
	"math/rand"
	"testing"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The filter on the stored JSON decides exactly as matching the decoded
// tags does, for tags full of the characters JSON escapes.
func TestTagFilterEqualsDecodedMatching(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := []string{"a", "b", `"`, `\`, ",", ":", "{", "}", "=", "<", "&", "é", " ", `","a":"`}
	word := func() string {
		s := ""
		for range rng.Intn(4) {
			s += alphabet[rng.Intn(len(alphabet))]
		}
		return s
	}
	agree := 0
	for i := range 20000 {
		m := map[string]string{}
		for range rng.Intn(4) {
			m[word()] = word()
		}
		tags := metric.SortedTags(m)
		raw, err := encodeTags(tags)
		if err != nil {
			t.Fatal(err)
		}
		want, in := map[string]string{}, map[string][]string{}
		for range rng.Intn(3) {
			k := word()
			if v, ok := m[k]; ok && rng.Intn(2) == 0 {
				want[k] = v
			} else {
				want[k] = word()
			}
		}
		for range rng.Intn(2) {
			k := word()
			vs := []string{word(), word()}
			if v, ok := m[k]; ok && rng.Intn(2) == 0 {
				vs = append(vs, v)
			}
			in[k] = vs
		}
		decoded, err := decodeTags(raw)
		if err != nil {
			t.Fatal(err)
		}
		exact := matches(decoded, want) && matchesOneOf(decoded, in)
		if got := newTagFilter(want, in).match(raw); got != exact {
			t.Fatalf("case %d: tags %s, want %v, in %v: filter %v, decoded matching %v", i, raw, want, in, got, exact)
		}
		if exact {
			agree++
		}
	}
	if agree < 1000 {
		t.Errorf("only %d matching cases: the generator does not exercise matches", agree)
	}
}
