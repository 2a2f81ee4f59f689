// Package batchcodec is the compact binary encoding of a metric.Batch used as
// the payload of queue entries (the embedded SQLite queue and Redis Streams).
//
// Format, version 1 (all varints are encoding/binary varints; "str" is a
// uvarint length followed by that many bytes):
//
//	byte    version (1)
//	str     batch id
//	varint  tenant id
//	varint  accepted-at Unix seconds, uvarint nanoseconds (0..999999999)
//	uvarint sample count
//	per sample:
//	  byte    flags: 1 = same name as the previous sample,
//	                 2 = same tags as the previous sample,
//	                 4 = has a dedupe id
//	  str     name                   (absent with flag 1)
//	  8 bytes value, IEEE 754 little endian
//	  varint  ts in Unix ms, as the difference from the previous sample's ts
//	          (from 0 for the first sample)
//	  uvarint tag count, then str key, str value per tag (absent with flag 2)
//	  str     dedupe id               (present only with flag 4)
//
// Batches from one request usually repeat the name and tag set of the previous
// sample, so flags 1 and 2 keep a 1,000-sample batch small without a string
// table: a sample of the same series less than 64 ms after the previous one
// takes 10 bytes (flags, value, ts delta). AcceptedAt is decoded in UTC: its
// location and monotonic reading are not kept.
//
// Decode never panics on bad input: truncated, oversized or trailing data is
// reported as an error wrapping ErrCorrupt.
package batchcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Version is the format version written by Encode.
const Version byte = 1

const (
	flagSameName byte = 1 << iota
	flagSameTags
	flagDedupe
	flagsKnown = flagSameName | flagSameTags | flagDedupe
)

// The parts of a sample's encoding at their smallest. A varint takes at
// least one byte; a one-byte ts delta is any |delta| < 64 ms.
const (
	flagsBytes     = 1 // the flags byte
	valueBytes     = 8 // the IEEE 754 bits
	minVarintBytes = 1 // the shortest varint or uvarint
)

// minSampleBytes is the smallest encoding of a sample: one that repeats the
// previous sample's name and tags (flags 1 and 2, so neither is written),
// has no dedupe id and a ts delta of less than 64 ms takes only its flags,
// value and a one-byte ts delta. A 100 Hz series is made of such samples.
//
// Decode bounds the sample count by the payload size with it, so it must
// never exceed the smallest real encoding: were it larger, Decode would
// refuse valid payloads (as it did while it also counted a tag count that
// flag 2 leaves out). TestMinSampleBytesIsTheSmallestEncoding checks it.
const minSampleBytes = flagsBytes + valueBytes + minVarintBytes

// minTagBytes is the smallest encoding of a tag: two empty strings, each a
// one-byte length.
const minTagBytes = 2 * minVarintBytes

// ErrCorrupt is wrapped by every error Decode returns for malformed input.
var ErrCorrupt = errors.New("batchcodec: corrupt payload")

// ErrVersion is wrapped by the error Decode returns for an unknown format version.
var ErrVersion = errors.New("batchcodec: unsupported version")

// Encode returns the encoding of b.
func Encode(b metric.Batch) []byte {
	return AppendEncode(make([]byte, 0, sizeHint(b)), b)
}

// AppendEncode appends the encoding of b to dst and returns the extended slice.
func AppendEncode(dst []byte, b metric.Batch) []byte {
	dst = append(dst, Version)
	dst = appendString(dst, b.ID)
	dst = binary.AppendVarint(dst, b.TenantID)
	dst = binary.AppendVarint(dst, b.AcceptedAt.Unix())
	dst = binary.AppendUvarint(dst, uint64(b.AcceptedAt.Nanosecond()))
	dst = binary.AppendUvarint(dst, uint64(len(b.Samples)))
	var (
		prevName string
		prevTags metric.Tags
		prevTS   int64
	)
	for i, s := range b.Samples {
		name, tags, dedupe := s.Name(), s.Tags(), s.DedupeID()
		var flags byte
		if i > 0 && name == prevName {
			flags |= flagSameName
		}
		if i > 0 && sameTags(tags, prevTags) {
			flags |= flagSameTags
		}
		if dedupe != "" {
			flags |= flagDedupe
		}
		dst = append(dst, flags)
		if flags&flagSameName == 0 {
			dst = appendString(dst, name)
		}
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(s.Value()))
		ts := s.TimestampMillis()
		dst = binary.AppendVarint(dst, ts-prevTS)
		if flags&flagSameTags == 0 {
			dst = binary.AppendUvarint(dst, uint64(len(tags)))
			for _, t := range tags {
				dst = appendString(dst, t.Key)
				dst = appendString(dst, t.Value)
			}
		}
		if flags&flagDedupe != 0 {
			dst = appendString(dst, dedupe)
		}
		prevName, prevTags, prevTS = name, tags, ts
	}
	return dst
}

// maxHint caps sizeHint: a first sample with many long tags that the rest
// only refer to must not make Encode reserve n times their size.
const maxHint = 1 << 20

// sizeHint guesses the encoded size from the first sample (as if every
// sample repeated its size), so Encode usually allocates once.
func sizeHint(b metric.Batch) int {
	n := 32 + len(b.ID)
	if len(b.Samples) > 0 {
		s := b.Samples[0]
		per := minSampleBytes + 5 + len(s.Name()) + len(s.DedupeID()) // ts delta, tag count, lengths
		for _, t := range s.Tags() {
			per += 2 + len(t.Key) + len(t.Value)
		}
		n += len(b.Samples) * per
	}
	return min(n, maxHint)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func sameTags(a, b metric.Tags) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Decode parses data written by Encode. Samples share their strings with one
// copy of data, and consecutive samples with equal tags share one Tags slice;
// callers must treat Tags as read-only (as everywhere in the domain).
func Decode(data []byte) (metric.Batch, error) {
	return DecodeString(string(data))
}

// DecodeString is Decode for a payload already held as a string (as Redis
// replies are); it avoids one copy.
func DecodeString(data string) (metric.Batch, error) {
	d := decoder{s: data}
	b, err := d.batch()
	if err != nil {
		return metric.Batch{}, err
	}
	if d.off != len(d.s) {
		return metric.Batch{}, d.fail("%d trailing bytes", len(d.s)-d.off)
	}
	return b, nil
}

type decoder struct {
	s   string
	off int
}

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) batch() (metric.Batch, error) {
	var b metric.Batch
	if len(d.s) == 0 {
		return b, d.fail("empty payload")
	}
	if v := d.s[0]; v != Version {
		return b, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, Version)
	}
	d.off = 1
	var err error
	if b.ID, err = d.str("batch id"); err != nil {
		return b, err
	}
	if b.TenantID, err = d.varint("tenant id"); err != nil {
		return b, err
	}
	sec, err := d.varint("accepted_at seconds")
	if err != nil {
		return b, err
	}
	nsec, err := d.uvarint("accepted_at nanoseconds")
	if err != nil {
		return b, err
	}
	if nsec >= 1e9 {
		return b, d.fail("accepted_at nanoseconds %d out of range", nsec)
	}
	b.AcceptedAt = time.Unix(sec, int64(nsec)).UTC()
	n, err := d.count("sample count", minSampleBytes)
	if err != nil {
		return b, err
	}
	if n == 0 {
		return b, nil
	}
	b.Samples = make([]metric.Sample, n)
	var (
		name   string
		tags   metric.Tags
		ts     int64
		tagBuf []metric.Tag
	)
	for i := range b.Samples {
		if d.off >= len(d.s) {
			return b, d.fail("sample %d: truncated", i)
		}
		flags := d.s[d.off]
		d.off++
		if flags&^flagsKnown != 0 {
			return b, d.fail("sample %d: unknown flags %#x", i, flags)
		}
		if i == 0 && flags&(flagSameName|flagSameTags) != 0 {
			return b, d.fail("sample 0 refers to a previous sample")
		}
		if flags&flagSameName == 0 {
			if name, err = d.str("name"); err != nil {
				return b, err
			}
		}
		if len(d.s)-d.off < 8 {
			return b, d.fail("sample %d: truncated value", i)
		}
		value := math.Float64frombits(le64(d.s[d.off:]))
		d.off += 8
		delta, err := d.varint("ts")
		if err != nil {
			return b, err
		}
		ts += delta
		if flags&flagSameTags == 0 {
			nt, err := d.count("tag count", minTagBytes)
			if err != nil {
				return b, err
			}
			if nt == 0 {
				tags = nil
			} else {
				if cap(tagBuf)-len(tagBuf) < nt {
					tagBuf = make([]metric.Tag, 0, max(nt, min(256, (len(d.s)-d.off)/2)))
				}
				start := len(tagBuf)
				for range nt {
					var t metric.Tag
					if t.Key, err = d.str("tag key"); err != nil {
						return b, err
					}
					if t.Value, err = d.str("tag value"); err != nil {
						return b, err
					}
					tagBuf = append(tagBuf, t)
				}
				tags = metric.Tags(tagBuf[start:len(tagBuf):len(tagBuf)])
			}
		}
		var dedupe string
		if flags&flagDedupe != 0 {
			if dedupe, err = d.str("dedupe id"); err != nil {
				return b, err
			}
		}
		b.Samples[i] = metric.Rehydrate(name, value, tags, ts, dedupe)
	}
	return b, nil
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (d *decoder) uvarint(what string) (uint64, error) {
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			return 0, d.fail("%s: truncated varint", what)
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, d.fail("%s: varint overflows 64 bits", what)
			}
			return x | uint64(c)<<shift, nil
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, d.fail("%s: varint overflows 64 bits", what)
}

func (d *decoder) varint(what string) (int64, error) {
	ux, err := d.uvarint(what)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, err
}

// count reads a uvarint count of items each taking at least minBytes, and
// rejects counts the rest of the payload cannot hold (so garbage cannot make
// Decode allocate gigabytes).
func (d *decoder) count(what string, minBytes int) (int, error) {
	n, err := d.uvarint(what)
	if err != nil {
		return 0, err
	}
	if n > uint64((len(d.s)-d.off)/minBytes) {
		return 0, d.fail("%s %d larger than the payload can hold", what, n)
	}
	return int(n), nil
}

func (d *decoder) str(what string) (string, error) {
	n, err := d.uvarint(what)
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.s)-d.off) {
		return "", d.fail("%s: length %d past the end", what, n)
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s, nil
}
