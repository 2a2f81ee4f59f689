package publish

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/pulsemetrics/pulse/domain/agentmetric"
)

// Encode is a batch as Pulse's sample JSON: an array of
// {"name","value","tags","ts"} with ts the batch time in Unix milliseconds
// (a JSON number ≥ 1e11 is read as milliseconds).
func Encode(b agentmetric.Batch) ([]byte, error) {
	ts := strconv.FormatInt(b.At.UnixMilli(), 10)
	out := make([]byte, 0, 64+len(b.Samples)*128)
	out = append(out, '[')
	for i, s := range b.Samples {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"name":`...)
		out = strconv.AppendQuote(out, s.Name)
		out = append(out, `,"value":`...)
		out = appendFloat(out, s.Value)
		out = append(out, `,"tags":`...)
		tags, err := json.Marshal(s.Tags)
		if err != nil {
			return nil, err
		}
		if s.Tags == nil {
			tags = []byte("{}")
		}
		out = append(out, tags...)
		out = append(out, `,"ts":`...)
		out = append(out, ts...)
		out = append(out, '}')
	}
	return append(out, ']'), nil
}

func appendFloat(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && !(v == 0 && math.Signbit(v)) { // -0 keeps its sign
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
