package notificationstest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func claimedIDs(cs []notification.Claimed) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// claim claims at now for holder with a 30s lease and checks the ids.
func (f fx) claim(t *testing.T, now int64, limit, perTenant int, holder string, want ...int64) []notification.Claimed {
	t.Helper()
	got, err := f.s.ClaimMessages(sqldbtest.Ctx(t), now, limit, perTenant, holder, 30*time.Second)
	if err != nil || !reflect.DeepEqual(claimedIDs(got), append([]int64{}, want...)) {
		t.Errorf("ClaimMessages(now%+dms, %d, %d, %s): %v, %v; want %v", now-base, limit, perTenant, holder, claimedIDs(got), err, want)
	}
	return got
}

// row is the tenant's listed message id.
func (f fx) row(t *testing.T, tenant, id int64) notification.MessageRow {
	t.Helper()
	rows, _, err := f.s.ListMessages(sqldbtest.Ctx(t), tenant, notification.MessageFilter{Cursor: id + 1, Limit: 1})
	if err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("message %d: %+v, %v", id, rows, err)
	}
	return rows[0]
}

// A claim holds a message until its lease ends; an outcome applies only
// for the holder of the live claim, once.
func testClaimLeaseFinish(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "claim")
	m1, it1 := f.message(t, tn, 31, 5, base-3000, "k1")
	m2, _ := f.message(t, tn, 31, 5, base-2000, "k2")
	m3, _ := f.message(t, tn, 32, 6, base-1000, "k3")
	m4, _ := f.message(t, tn, 31, 5, base+60_000, "k4")
	got := f.claim(t, base, 10, 10, "h1", m1, m2, m3)
	want := notification.Claimed{ID: m1, TenantID: tn, ChannelID: 31, RuleID: 5, Kind: notification.MessageAlerts, CreatedAt: base,
		Items: []notification.Item{it1}}
	if len(got) > 0 && !reflect.DeepEqual(got[0], want) {
		t.Errorf("claimed:\n got  %+v\n want %+v", got[0], want)
	}
	f.claim(t, base, 10, 10, "h2")
	f.claim(t, base+30_000, 10, 10, "h2")
	f.claim(t, base+30_001, 10, 10, "h2", m1, m2, m3) // h1's lease ended
	// h1's late outcome is ignored: h2 holds the claim now.
	stale := notification.Outcome{MessageID: m1, Holder: "h1", Status: notification.StatusSent, Attempts: 1, FirstAttempt: base, At: base + 1000}
	if err := f.s.Finish(c, []notification.Outcome{stale}); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, tn, m1); r.Status != notification.StatusQueued || r.Attempts != 0 || r.SentAt != 0 {
		t.Errorf("a stale holder's outcome applied: %+v", r)
	}
	answer := strings.Repeat("é", 1500) + "\xff tail" // 3,000 bytes of two-byte characters and an invalid one
	at := base + 31_000
	outcomes := []notification.Outcome{
		{MessageID: m1, Holder: "h2", Status: notification.StatusSent, Attempts: 1, FirstAttempt: at, NextAttemptAt: base - 3000, At: at, LastStatus: 200},
		{MessageID: m2, Holder: "h2", Status: notification.StatusQueued, Attempts: 1, FirstAttempt: at, NextAttemptAt: base + 90_000, At: at,
			LastStatus: 503, LastError: answer},
		{MessageID: m3, Holder: "h2", Status: notification.StatusDead, Attempts: 1, FirstAttempt: at, NextAttemptAt: base - 1000, At: at,
			LastStatus: 400, LastError: "bad request"},
	}
	if err := f.s.Finish(c, outcomes); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, tn, m1); r.Status != notification.StatusSent || r.Attempts != 1 || r.SentAt != at || r.LastStatus != 200 || r.LastError != "" {
		t.Errorf("sent: %+v", r)
	}
	r := f.row(t, tn, m2)
	if r.Status != notification.StatusQueued || r.Attempts != 1 || r.NextAttemptAt != base+90_000 || r.SentAt != 0 || r.LastStatus != 503 {
		t.Errorf("retried: %+v", r)
	}
	if len(r.LastError) > 2000 || len(r.LastError) < 1990 || !utf8.ValidString(r.LastError) || !strings.HasPrefix(answer, r.LastError) {
		t.Errorf("the stored answer is %d bytes (valid %v), want the first 2,000 bytes at most, cut between characters", len(r.LastError), utf8.ValidString(r.LastError))
	}
	if r := f.row(t, tn, m3); r.Status != notification.StatusDead || r.LastError != "bad request" || r.LastStatus != 400 {
		t.Errorf("dead: %+v", r)
	}
	// The same outcome again (the claim it held has ended) changes nothing.
	again := outcomes[1]
	again.Attempts, again.NextAttemptAt, again.LastError = 9, base+999_000, "again"
	if err := f.s.Finish(c, []notification.Outcome{again, {MessageID: m4, Status: notification.StatusSent}}); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, tn, m2); r.Attempts != 1 || r.NextAttemptAt != base+90_000 {
		t.Errorf("a repeated outcome applied: %+v", r)
	}
	if r := f.row(t, tn, m4); r.Status != notification.StatusQueued {
		t.Errorf("an outcome without a holder applied: %+v", r)
	}
	f.claim(t, base+60_000, 10, 10, "h3", m4)
	got = f.claim(t, base+90_000, 10, 10, "h4", m2) // m4's lease lasts to +90s, included
	if len(got) == 1 && (got[0].Attempts != 1 || got[0].FirstAttemptAt != at) {
		t.Errorf("retry claimed with attempts %d, first %d; want 1, %d", got[0].Attempts, got[0].FirstAttemptAt, at)
	}
	if err := f.s.Finish(c, []notification.Outcome{{MessageID: m2, Holder: "h4", Status: notification.StatusSent, Attempts: 2, FirstAttempt: at,
		At: base + 90_500, LastStatus: 204}}); err != nil {
		t.Fatal(err)
	}
	if r := f.row(t, tn, m2); r.Status != notification.StatusSent || r.Attempts != 2 || r.SentAt != base+90_500 {
		t.Errorf("sent after a retry: %+v", r)
	}
	f.claim(t, base+200_000, 0, 10, "h5")
	f.claim(t, base+200_000, 10, 10, "h5", m4)
}

// A tenant's queue does not hold another's message back.
func testClaimFair(t *testing.T, f fx) {
	a, b := sqldbtest.MkTenant(t, f.st, "claim-a"), sqldbtest.MkTenant(t, f.st, "claim-b")
	var as []int64
	for i := range 6 {
		id, _ := f.message(t, a, 1, 1, base-10_000+int64(i), fmt.Sprintf("a%d", i))
		as = append(as, id)
	}
	bm, _ := f.message(t, b, 2, 2, base-1, "b")
	f.claim(t, base, 10, 3, "h1", as[0], as[1], as[2], bm)
	f.claim(t, base, 2, 3, "h2", as[3], as[4])
	f.claim(t, base, 10, 3, "h3", as[5])
}

// bulk plans n messages of the tenant's channel, each carrying one new
// notification, first attempts at nb.
func (f fx) bulk(t *testing.T, tenant, channel int64, n int, nb int64) {
	t.Helper()
	os := f.outbox(t, tenant, 9, "firing", nb, keys(fmt.Sprint(channel), n)...)
	f.expand(t, base, notification.DeliveryWaiting, os, channel)
	var ms []notification.NewMessage
	for _, o := range os {
		ms = append(ms, notification.NewMessage{TenantID: tenant, ChannelID: channel, RuleID: 9, Kind: notification.MessageAlerts,
			Deliveries: []int64{f.delivery(t, o.ID, channel)}, NotBefore: nb})
	}
	if err := f.s.Commit(sqldbtest.Ctx(t), notification.Plan{Now: base, Messages: ms}); err != nil {
		t.Fatal(err)
	}
}

// Claimers at once never take the same message (MariaDB: row locks with
// SKIP LOCKED; SQLite: one writer), and between them take every one.
func testConcurrentClaims(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	const perTenant, claimers = 100, 6
	f.bulk(t, sqldbtest.MkTenant(t, f.st, "cc-a"), 1, perTenant, base-5000)
	f.bulk(t, sqldbtest.MkTenant(t, f.st, "cc-b"), 2, perTenant, base-4000)
	var (
		mu      sync.Mutex
		claimed = map[int64][]string{}
		wg      sync.WaitGroup
		errs    = make([]error, claimers)
	)
	for g := range claimers {
		holder := fmt.Sprintf("sender-%d", g)
		wg.Go(func() {
			for {
				got, err := f.s.ClaimMessages(c, base, 7, 3, holder, time.Minute)
				if err != nil {
					errs[g] = err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					claimed[m.ID] = append(claimed[m.ID], holder)
					if len(m.Items) != 1 {
						errs[g] = fmt.Errorf("message %d claimed with %d items", m.ID, len(m.Items))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("claimer %d: %v", g, err)
		}
	}
	for id, by := range claimed {
		if len(by) != 1 {
			t.Errorf("message %d claimed %d times: %v", id, len(by), by)
		}
	}
	if len(claimed) != 2*perTenant {
		t.Errorf("%d messages claimed, want %d", len(claimed), 2*perTenant)
	}
	if n := sqldbtest.Count(t, f.db, "notification_messages WHERE claimed_by = ''"); n != 0 {
		t.Errorf("%d messages left unclaimed", n)
	}
}
