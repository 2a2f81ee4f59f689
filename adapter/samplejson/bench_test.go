package samplejson

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeShapes decodes 10 samples of each shape through Decode:
// ASCII and non-ASCII tag values (the fast path), an ignored field (goccy
// after the strict check), and one bad field (the slow path).
func BenchmarkDecodeShapes(b *testing.B) {
	for _, sh := range []struct{ name, host, extra string }{
		{"ascii", "h-%d", ""},
		{"utf8", "hôte-%d-東京", ""},
		{"ignored-field", "h-%d", `,"agent":{"v":"1.2","os":"linux"}`},
		{"slow", "h-%d", `,"dedupe_id":7`},
	} {
		var p strings.Builder
		p.WriteByte('[')
		for j := range 10 {
			if j > 0 {
				p.WriteByte(',')
			}
			fmt.Fprintf(&p, `{"name":"bench.m","value":%d.5,"tags":{"host":"`+sh.host+`","dc":"eu"},"ts":1764064800.%03d%s}`, j, j, j, sh.extra)
		}
		p.WriteByte(']')
		body := []byte(p.String())
		b.Run(sh.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decode(body, 100); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
