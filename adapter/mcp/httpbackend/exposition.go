package httpbackend

import (
	"bufio"
	"bytes"
	"math"
	"strconv"
	"strings"
)

// parseExposition sums each sample name's values over its label sets in a
// Prometheus text exposition (a histogram's _sum and _count are names of
// their own). Comments and unreadable lines are skipped: the tool reports
// what it can read.
func parseExposition(data []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := splitName(line)
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		out[name] += v
	}
	return out
}

// splitName cuts a sample line after its name and label set, which may
// hold spaces and braces inside quoted values.
func splitName(line string) (name, rest string, ok bool) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return "", "", false
	}
	name = line[:i]
	if line[i] != '{' {
		return name, line[i:], true
	}
	inQuote, escaped := false, false
	for j := i + 1; j < len(line); j++ {
		switch c := line[j]; {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case c == '}' && !inQuote:
			return name, line[j+1:], true
		}
	}
	return "", "", false
}
