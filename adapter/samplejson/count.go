package samplejson

// Count tells how many samples a payload carries without decoding it: the
// elements of a top-level array, or 1 for anything else (one sample object,
// or garbage that Decode will refuse). Quotas are charged with it before
// the payload is decoded once, by the ingest path.
func Count(body []byte) int {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '[' {
		return 1
	}
	n, depth, inString, escaped, empty := 0, 0, false, false, true
	for _, c := range body[i:] {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		case c == ',' && depth == 1:
			n++
		}
		if depth >= 1 && c != '[' && c != ' ' && c != '\t' && c != '\n' && c != '\r' || depth > 1 {
			empty = false
		}
	}
	if empty {
		return 0
	}
	return n + 1
}
