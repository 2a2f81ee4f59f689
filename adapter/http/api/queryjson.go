package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/goccy/go-json"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// writeQueryAnswer writes a query answer as JSON, byte for byte what
// json.Marshal of queryAnswer would write, but rendering the points by
// hand: a chart's answer holds thousands of them, and a raw point's value,
// min and max are one number formatted once instead of three times
// (measured: the reflection encoder and float formatting were most of a
// large answer's time).
func writeQueryAnswer(w http.ResponseWriter, name, interval, agg string, page metric.Page) error {
	n := 0
	for _, sp := range page.Series {
		n += len(sp.Points)
	}
	// A point renders to about 100 bytes with full-precision values: size
	// the buffer once instead of growing (and copying) it repeatedly, and
	// reuse buffers across answers (a chart's answer is most of a MB).
	need := 256 + n*112
	bp := answerBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledAnswer {
			answerBuffers.Put(bp)
		}
	}()
	if cap(*bp) < need {
		*bp = make([]byte, 0, need)
	}
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	b = append(b, `{"name":`...)
	b, err := appendMarshal(b, name)
	if err != nil {
		return err
	}
	b = append(b, `,"interval":`...)
	if b, err = appendMarshal(b, interval); err != nil {
		return err
	}
	b = append(b, `,"agg":`...)
	if b, err = appendMarshal(b, agg); err != nil {
		return err
	}
	b = append(b, `,"series":[`...)
	for i, sp := range page.Series {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"tags":`...)
		if b, err = appendMarshal(b, sp.Tags.Map()); err != nil {
			return err
		}
		b = append(b, `,"points":[`...)
		for j, p := range sp.Points {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendPoint(b, p)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"next_cursor":`...)
	if page.Next.Set {
		b = append(b, '"')
		b = append(b, encodeCursor(page.Next)...)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// answerBuffers recycles answer buffers up to maxPooledAnswer bytes.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledAnswer = 16 << 20

func appendMarshal(b []byte, v any) ([]byte, error) {
	m, err := json.Marshal(v)
	return append(b, m...), err
}

// appendPoint renders {"ts","value","min","max","count"}.
func appendPoint(b []byte, p metric.Point) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendInt(b, p.TS, 10)
	b = append(b, `,"value":`...)
	start := len(b)
	b = appendFloat(b, p.Value)
	value := b[start:]
	b = append(b, `,"min":`...)
	if sameFloat(p.Min, p.Value) {
		b = append(b, value...)
	} else {
		b = appendFloat(b, p.Min)
	}
	b = append(b, `,"max":`...)
	if sameFloat(p.Max, p.Value) {
		b = append(b, value...)
	} else {
		b = appendFloat(b, p.Max)
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, p.Count, 10)
	return append(b, '}')
}

// sameFloat reports whether a and b format alike: equal and of one sign
// (0 == -0, but they are written "0" and "-0").
func sameFloat(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b)
}

// appendFloat formats f as encoding/json does: shortest representation,
// exponent form only below 1e-6 or from 1e21, exponent without leading
// zero. Values are finite (ingest refuses the rest).
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
