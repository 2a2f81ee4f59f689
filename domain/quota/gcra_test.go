package quota

import (
	"testing"
	"time"
)

func TestBurstThenDenyThenNextMinute(t *testing.T) {
	var tat int64
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano()
	var d Decision
	for i := 0; i < 10; i++ {
		tat, d = Take(tat, now, 1, 10)
		if !d.Allowed {
			t.Fatalf("request %d of a 10/min quota denied", i+1)
		}
		if d.Remaining != int64(9-i) {
			t.Fatalf("remaining after %d = %d, want %d", i+1, d.Remaining, 9-i)
		}
	}
	tat2, d := Take(tat, now, 1, 10)
	if d.Allowed || tat2 != tat {
		t.Fatal("the 11th request within the minute was allowed or changed the state")
	}
	if d.RetryAfter != 6*time.Second || d.Reset != time.Minute {
		t.Fatalf("retry after %s reset %s; want 6s and 1m", d.RetryAfter, d.Reset)
	}
	tat, d = Take(tat, now+int64(time.Minute), 10, 10)
	if !d.Allowed {
		t.Fatal("a full minute later the whole quota must be back")
	}
	if _, d = Take(tat, now+int64(time.Minute), 1, 10); d.Allowed {
		t.Fatal("the burst was used again; one more must be denied")
	}
}

func TestCostCounts(t *testing.T) {
	now := int64(1e18)
	tat, d := Take(0, now, 600, 1000)
	if !d.Allowed || d.Remaining != 400 {
		t.Fatalf("600 of 1000: %+v", d)
	}
	if _, d = Take(tat, now, 401, 1000); d.Allowed {
		t.Fatal("401 more of 1000 after 600 allowed")
	}
	if _, d = Take(tat, now, 400, 1000); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("the last 400: %+v", d)
	}
}

func TestCostAboveLimitNeverAllowed(t *testing.T) {
	if _, d := Take(0, 1e18, 11, 10); d.Allowed || d.RetryAfter != Window {
		t.Fatalf("a cost above the whole quota: %+v", d)
	}
}

func TestNoLimit(t *testing.T) {
	if _, d := Take(0, 1e18, 1e9, 0); !d.Allowed {
		t.Fatal("limit 0 means unlimited")
	}
}

func TestAbsurdQuotaDoesNotPanic(t *testing.T) {
	if _, d := Take(0, 1e18, 5, 1e12); !d.Allowed {
		t.Fatal("a huge quota must allow")
	}
}
