package dashboards

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// A widget's tag filter is stored as JSON (tagsJSON) and read back with
// json.Unmarshal: any tag set of keys and valid UTF-8 values (with every
// character JSON escapes) comes back equal, and the same set always stores
// the same bytes.
func TestWidgetTagsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []rune("aZ_09.:-\"\\/\n\t\u0000\u2028<>&é€😀 ")
	str := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for trial := range 2000 {
		m := map[string]string{}
		for range r.IntN(33) {
			m["k"+str(r.IntN(20))] = str(r.IntN(60))
		}
		wj, err := tagsJSON(m)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if again, _ := tagsJSON(m); string(again) != string(wj) {
			t.Fatalf("trial %d: one tag set stored two ways", trial)
		}
		var back map[string]string
		if err := json.Unmarshal(wj, &back); err != nil || !maps.Equal(back, m) {
			t.Fatalf("trial %d: %s read back as %v (%v), want %v", trial, wj, back, err, m)
		}
	}
}
