package metric

import (
	"encoding/binary"
	"sync"
)

// A series holds one value per millisecond: the store keeps the first
// sample written at a (series, ts) and ignores later ones. Two samples of
// one series at one ts in the same delivery are therefore a client error
// (which of the two did it mean?), found here before anything is accepted.

// Repeat is a sample (Again) that has the series and timestamp of an
// earlier sample (First) of the same slice.
type Repeat struct {
	First, Again int
}

// FindRepeats returns every sample that repeats the (series, ts) of an
// earlier one, in order of Again; each Again is paired with the first
// sample of its key. It runs in linear time with one pooled table, since
// every request passes through it.
func FindRepeats(samples []Sample) []Repeat {
	if len(samples) < 2 {
		return nil
	}
	t := getTable(len(samples))
	defer putTable(t)
	var out []Repeat
	mask := uint64(len(t.slots) - 1)
	for i := range samples {
		s := &samples[i]
		h := slotHash(s) & mask
		for {
			j := t.slots[h]
			if j == 0 {
				t.slots[h] = int32(i + 1)
				break
			}
			first := &samples[j-1]
			if first.ts == s.ts && first.series == s.series {
				out = append(out, Repeat{First: int(j - 1), Again: i})
				break
			}
			h = (h + 1) & mask
		}
	}
	return out
}

// At returns the sample with its timestamp moved to tsMillis (for the
// ingest use case, which gives a server-timed sample the next free
// millisecond of its series).
func (s Sample) At(tsMillis int64) Sample {
	s.ts = tsMillis
	return s
}

func slotHash(s *Sample) uint64 {
	h := binary.LittleEndian.Uint64(s.series[:8]) ^ uint64(s.ts)*0x9E3779B97F4A7C15
	return h ^ h>>29
}

// repeatTable is an open-addressing set of sample indexes (index+1; 0 is
// empty) at most half full.
type repeatTable struct{ slots []int32 }

var tables sync.Pool // *repeatTable

func getTable(n int) *repeatTable {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if t, ok := tables.Get().(*repeatTable); ok && cap(t.slots) >= size {
		t.slots = t.slots[:size]
		return t
	}
	return &repeatTable{slots: make([]int32, size)}
}

// maxPooledSlots keeps a huge batch's table out of the pool.
const maxPooledSlots = 1 << 16

func putTable(t *repeatTable) {
	if cap(t.slots) > maxPooledSlots {
		return
	}
	clear(t.slots)
	tables.Put(t)
}
