package samplejson

import (
	"fmt"
	"unicode/utf8"
)

// Strict JSON. goccy/go-json (like encoding/json) decodes more than RFC 8259
// allows: it takes 01 and 1., bad escapes in fields it skips, replaces
// invalid UTF-8 and lone surrogates with U+FFFD, reads a duplicate key as
// the last one (merging two tags objects), and null as a sample or a tag
// value as "". So the general path hands a payload to goccy only after
// strictPayload has seen it is exactly the JSON the contract takes; anything
// else goes to the slow path, which names what is wrong.

// problem is why a JSON text is not strict JSON.
type problem uint8

const (
	probNone      problem = iota
	probSyntax            // not RFC 8259 JSON
	probUTF8              // a string is not valid UTF-8
	probSurrogate         // a \u escape is half of a UTF-16 pair
	probDepth             // nested deeper than maxNesting
)

// String says what is wrong, to follow a subject ("tag value is not valid UTF-8").
func (p problem) String() string {
	switch p {
	case probUTF8:
		return "is not valid UTF-8"
	case probSurrogate:
		return "holds a lone UTF-16 surrogate escape (such as \\ud800), which is not a Unicode character"
	case probDepth:
		return fmt.Sprintf("nests deeper than %d levels", maxNesting)
	}
	return "is not valid JSON"
}

// strClass sorts the bytes of a JSON string's contents, so the common
// case (printable ASCII) is one table load and one compare per byte.
const (
	strPlain     = iota // printable ASCII other than " and \
	strQuote            // "
	strBackslash        // \
	strControl          // < 0x20: JSON wants it escaped
	strMultibyte        // ≥ 0x80: part of a UTF-8 sequence, or invalid
)

var strClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = strControl
	}
	t['"'], t['\\'] = strQuote, strBackslash
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = strMultibyte
	}
	return t
}()

// strictString checks the JSON string at b[i] (b[i] == '"'). It returns the
// index after the closing quote, whether the string has no escapes (its bytes
// are its value) and whether it is all ASCII. Only bytes ≥ 0x80 cost a rune
// decode.
func strictString(b []byte, i int) (end int, plain, ascii bool, p problem) {
	plain, ascii = true, true
	for j := i + 1; j < len(b); {
		switch strClass[b[j]] {
		case strPlain:
			j++
		case strQuote:
			return j + 1, plain, ascii, probNone
		case strBackslash:
			plain = false
			if j+1 >= len(b) {
				return 0, false, false, probSyntax
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				r, ok := hex4(b, j+2)
				switch {
				case !ok:
					return 0, false, false, probSyntax
				case r >= 0xdc00 && r <= 0xdfff: // a low half with no high half before it
					return 0, false, false, probSurrogate
				case r >= 0xd800 && r <= 0xdbff:
					if j+7 >= len(b) || b[j+6] != '\\' || b[j+7] != 'u' {
						return 0, false, false, probSurrogate
					}
					r2, ok := hex4(b, j+8)
					if !ok {
						return 0, false, false, probSyntax
					}
					if r2 < 0xdc00 || r2 > 0xdfff {
						return 0, false, false, probSurrogate
					}
					j += 12
				default:
					j += 6
				}
			default:
				return 0, false, false, probSyntax
			}
		case strControl:
			return 0, false, false, probSyntax
		default:
			ascii = false
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 { // also overlong forms and encoded surrogates
				return 0, false, false, probUTF8
			}
			j += size
		}
	}
	return 0, false, false, probSyntax
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// strictValue checks the JSON value at b[i], which sits inside depth open
// arrays and objects; it returns the index after it. Duplicate keys are
// allowed here: only sample and tags objects refuse them.
func strictValue(b []byte, i, depth int) (int, problem) {
	if i >= len(b) {
		return 0, probSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, _, p := strictString(b, i)
		return end, p
	case c == '{' || c == '[':
		if depth >= maxNesting {
			return 0, probDepth
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, probNone
		}
		for {
			var p problem
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, probSyntax
				}
				if i, _, _, p = strictString(b, i); p != probNone {
					return 0, p
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return 0, probSyntax
				}
				i = skipSpace(b, i+1)
			}
			if i, p = strictValue(b, i, depth+1); p != probNone {
				return 0, p
			}
			if i = skipSpace(b, i); i >= len(b) {
				return 0, probSyntax
			}
			switch b[i] {
			case ',':
				i = skipSpace(b, i+1)
			case closer:
				return i + 1, probNone
			default:
				return 0, probSyntax
			}
		}
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	default:
		if end, ok := number(b, i); ok {
			return end, probNone
		}
		return 0, probSyntax
	}
}

func literal(b []byte, i int, lit string) (int, problem) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, probSyntax
	}
	return i + len(lit), probNone
}

// knownField returns the seen bit of the sample field a key names: the
// field names match in any ASCII case ("Name" is name), as goccy/go-json
// matches them; other keys (0) are ignored.
func knownField[T string | []byte](k T) int {
	switch len(k) {
	case 2:
		if foldEq(k, "ts") {
			return seenTS
		}
	case 4:
		if foldEq(k, "name") {
			return seenName
		}
		if foldEq(k, "tags") {
			return seenTags
		}
	case 5:
		if foldEq(k, "value") {
			return seenValue
		}
	case 9:
		if foldEq(k, "dedupe_id") {
			return seenDedupe
		}
	}
	return 0
}

// foldEq reports whether k is lower (lower case, same length) in any ASCII case.
func foldEq[T string | []byte](k T, lower string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// keySet finds a key given twice: a linear scan over the first few (no
// allocation), a map past them (so 10,000 keys cost no 10⁸ comparisons).
type keySet[T string | []byte] struct {
	few [8]T
	n   int
	m   map[string]struct{}
}

// add records k and reports whether it was there already.
func (s *keySet[T]) add(k T) bool {
	for _, o := range s.few[:s.n] {
		if string(o) == string(k) {
			return true
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
		s.n++
		return false
	}
	if _, dup := s.m[string(k)]; dup {
		return true
	}
	if s.m == nil {
		s.m = make(map[string]struct{})
	}
	s.m[string(k)] = struct{}{}
	return false
}

// strictPayload reports whether body (trimmed, starting with '[' or '{') is
// one sample object or an array of them, in strict JSON, that goccy/go-json
// decodes exactly as the contract reads it: no key twice in a sample or in
// its tags; name and dedupe_id strings or null, value a number or null, tags
// null or an object of strings; sample keys plain ASCII (escaped or
// non-ASCII ones, rare, go to the slow path, so no Unicode case folding of
// any decoder can make one a field name), tag keys without escapes (so that
// equal bytes are equal keys). A false is no verdict: the slow path gives it.
func strictPayload(body []byte) bool {
	if body[0] == '{' {
		end, ok := strictSample(body, 0, 1)
		return ok && end == len(body)
	}
	i := skipSpace(body, 1)
	if i < len(body) && body[i] == ']' {
		return i+1 == len(body)
	}
	for {
		if i >= len(body) || body[i] != '{' {
			return false
		}
		end, ok := strictSample(body, i, 2)
		if !ok {
			return false
		}
		if i = skipSpace(body, end); i >= len(body) {
			return false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case ']':
			return i+1 == len(body)
		default:
			return false
		}
	}
}

// strictSample checks the sample object at b[i], the depth-th open array or
// object; it returns the index after it.
func strictSample(b []byte, i, depth int) (int, bool) {
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	seen := 0
	var others keySet[[]byte]
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ke, plain, ascii, p := strictString(b, i)
		if p != probNone || !plain || !ascii {
			return 0, false
		}
		key := b[i+1 : ke-1]
		if i = skipSpace(b, ke); i >= len(b) || b[i] != ':' {
			return 0, false
		}
		if i = skipSpace(b, i+1); i >= len(b) {
			return 0, false
		}
		bit := knownField(key)
		if bit != 0 {
			if seen&bit != 0 {
				return 0, false
			}
			seen |= bit
		} else if others.add(key) {
			return 0, false
		}
		isNull := b[i] == 'n' // strictValue then checks it is null
		switch {
		case bit == seenTags && !isNull:
			i, p = strictTags(b, i)
		case (bit == seenName || bit == seenDedupe) && b[i] != '"' && !isNull,
			bit == seenValue && b[i] != '-' && (b[i] < '0' || b[i] > '9') && !isNull:
			return 0, false
		default:
			i, p = strictValue(b, i, depth)
		}
		if p != probNone {
			return 0, false
		}
		if i = skipSpace(b, i); i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// strictTags checks a tags object at b[i]: string values, no key twice,
// keys without escapes.
func strictTags(b []byte, i int) (int, problem) {
	if b[i] != '{' {
		return 0, probSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, probNone
	}
	var keys keySet[[]byte]
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, probSyntax
		}
		ke, plain, _, p := strictString(b, i)
		if p != probNone || !plain {
			return 0, probSyntax
		}
		if keys.add(b[i+1 : ke-1]) {
			return 0, probSyntax
		}
		if i = skipSpace(b, ke); i >= len(b) || b[i] != ':' {
			return 0, probSyntax
		}
		if i = skipSpace(b, i+1); i >= len(b) || b[i] != '"' {
			return 0, probSyntax
		}
		if i, _, _, p = strictString(b, i); p != probNone {
			return 0, p
		}
		if i = skipSpace(b, i); i >= len(b) {
			return 0, probSyntax
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, probNone
		default:
			return 0, probSyntax
		}
	}
}
