package spool_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/agent/spool"
)

// What Append stored comes back whole, in order, from List, from Oldest
// after a reopen, and from Oldest in the same process: every payload byte
// for byte (empty, binary, large) and its batch time to the millisecond
// (any, before 1970 and the int64 extremes included).
func TestAppendRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	type batch struct {
		at      time.Time
		payload []byte
	}
	var want []batch
	ats := []time.Time{
		time.UnixMilli(1_800_000_000_123), time.UnixMilli(0), time.UnixMilli(-1), time.Time{},
		time.UnixMilli(math.MaxInt64), time.UnixMilli(math.MinInt64), time.UnixMilli(1e11 - 1),
		time.Date(2026, 11, 25, 10, 0, 0, 999_999_999, time.FixedZone("X", 5*3600)),
	}
	for i := range 120 {
		at := time.UnixMilli(int64(r.Uint64())).Add(time.Duration(r.IntN(1e6)))
		if i < len(ats) {
			at = ats[i]
		}
		var p []byte
		switch i % 6 {
		case 0:
			p = nil
		case 1:
			p = make([]byte, 1<<20+r.IntN(100)) // a big batch
		default:
			p = make([]byte, r.IntN(4096))
		}
		for j := range p {
			p[j] = byte(r.Uint32())
		}
		want = append(want, batch{at, p})
	}

	dir := t.TempDir()
	s := mustOpen(t, dir, spool.Options{})
	for _, b := range want {
		if dropped, err := s.Append(b.at, b.payload); err != nil || dropped != 0 {
			t.Fatalf("append: dropped %d, %v", dropped, err)
		}
	}
	check := func(how string, i int, e spool.Entry) {
		t.Helper()
		w := want[i]
		if e.At.UnixMilli() != w.at.UnixMilli() || !bytes.Equal(e.Payload, w.payload) {
			t.Fatalf("%s: batch %d: got %d bytes at %d ms, want %d bytes at %d ms", how, i, len(e.Payload), e.At.UnixMilli(), len(w.payload), w.at.UnixMilli())
		}
	}
	if st := s.Stats(); st.Batches != len(want) || st.Dropped != 0 {
		t.Fatalf("stats %+v, want %d batches and nothing dropped", st, len(want))
	}
	listed, err := spool.List(dir)
	if err != nil || len(listed) != len(want) {
		t.Fatalf("List: %d batches, %v; want %d", len(listed), err, len(want))
	}
	for i, e := range listed {
		check("List", i, e)
	}

	reopened := mustOpen(t, dir, spool.Options{})
	for i := range want {
		e, ok, err := reopened.Oldest()
		if err != nil || !ok {
			t.Fatalf("Oldest after reopen, batch %d: ok %v, %v", i, ok, err)
		}
		check("Oldest after reopen", i, e)
		if err := reopened.Remove(e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := reopened.Oldest(); ok || err != nil {
		t.Fatalf("spool not empty after draining: ok %v, %v", ok, err)
	}
	if st := reopened.Stats(); st.Batches != 0 || st.Bytes != 0 || st.Dropped != 0 {
		t.Fatalf("stats after draining %+v, want all zero", st)
	}
}
