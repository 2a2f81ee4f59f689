package metric

import (
	"crypto/sha256"
)

// SeriesHash identifies a series (name + tag set) within a tenant. It is a
// truncated SHA-256 of a canonical, unambiguous encoding: collisions are not a
// practical concern and the value is stable across processes and releases.
type SeriesHash [16]byte

// HashSeries returns the identity of the series a sample belongs to.
func HashSeries(name string, tags Tags) SeriesHash {
	buf := make([]byte, 0, 64+len(name))
	buf = appendField(buf, name)
	for _, t := range tags {
		buf = appendField(buf, t.Key)
		buf = appendField(buf, t.Value)
	}
	sum := sha256.Sum256(buf)
	var h SeriesHash
	copy(h[:], sum[:16])
	return h
}

// appendField writes a length prefix so ("ab","c") and ("a","bc") differ.
func appendField(buf []byte, s string) []byte {
	n := len(s)
	buf = append(buf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return append(buf, s...)
}

// Series is the identity of the sample's series (HashSeries of its name and tags).
func (s Sample) Series() SeriesHash { return s.series }
