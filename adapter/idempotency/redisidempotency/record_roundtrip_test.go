package redisidempotency

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// An idempotency record stored in Redis (encode) reads back equal
// (decode): any fingerprint, any request id (empty, binary, long), the
// done flag, and an accepted count over uint32's range (a request accepts
// at most samples_per_request, far below).
func TestRecordRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 17))
	accepted := []int{0, 1, 10000, math.MaxUint16, math.MaxUint32}
	for trial := range 5000 {
		var rec ingest.IdempotencyRecord
		for i := range rec.Fingerprint {
			rec.Fingerprint[i] = byte(r.Uint32())
		}
		id := make([]byte, r.IntN(80))
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		rec.RequestID = string(id)
		rec.Accepted = int(r.Uint32())
		if trial < len(accepted) {
			rec.Accepted = accepted[trial]
		}
		rec.Done = r.IntN(2) == 0
		got, err := decode(encode(rec))
		if err != nil {
			t.Fatalf("trial %d: decode: %v", trial, err)
		}
		if got != rec {
			t.Fatalf("trial %d: got %+v, want %+v", trial, got, rec)
		}
	}
	for _, bad := range []string{"", "\x01", "\x02" + string(make([]byte, headerLen)), string(make([]byte, headerLen-1))} {
		if _, err := decode(bad); err == nil {
			t.Fatalf("decode(%q): no error", bad)
		}
	}
}
