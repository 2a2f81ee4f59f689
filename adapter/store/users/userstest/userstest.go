package userstest

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

// The store serves the accounts and dashboards ports.
var (
	_ accounts.Users         = (*sqldbtest.Stores)(nil)
	_ accounts.Sessions      = (*sqldbtest.Stores)(nil)
	_ accounts.LoginThrottle = (*sqldbtest.Stores)(nil)
	_ accounts.Tenants       = (*sqldbtest.Stores)(nil)
	_ dashboards.Dashboards  = (*sqldbtest.Stores)(nil)
	_ dashboards.Widgets     = (*sqldbtest.Stores)(nil)
)

// RunAccounts runs the contract cases of the dashboard accounts' storage
// (users, sessions, login failures); open is as for Run.
func RunAccounts(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"LoginAttempts", testLoginAttempts},
		{"LoginAttemptsConcurrent", testLoginAttemptsConcurrent},
		{"Purge", testPurgeAccounts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func testUsers(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tenantID := sqldbtest.MkTenant(t, s, "acct")
	u, err := account.NewUser("ann@example.com", &tenantID, account.RoleViewer, false, sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"
	got, err := s.CreateUser(c, u)
	if err != nil || got.ID == 0 {
		t.Fatalf("CreateUser: %+v, %v", got, err)
	}
	if _, err := s.CreateUser(c, u); !errors.Is(err, account.ErrDuplicate) {
		t.Errorf("second CreateUser with the same email: %v, want account.ErrDuplicate", err)
	}
	super, err := account.NewUser("root@example.com", nil, account.RoleAdmin, true, sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	super.PasswordHash = "x"
	super, err = s.CreateUser(c, super)
	if err != nil {
		t.Fatal(err)
	}
	for _, lookup := range []func() (account.User, error){
		func() (account.User, error) { return s.UserByEmail(c, "ann@example.com") },
		func() (account.User, error) { return s.UserByID(c, got.ID) },
	} {
		r, err := lookup()
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != got.ID || r.Email != u.Email || r.PasswordHash != u.PasswordHash || r.TenantID == nil || *r.TenantID != tenantID ||
			r.Role != account.RoleViewer || r.SuperAdmin || !r.CreatedAt.Equal(sqldbtest.Base) {
			t.Errorf("read back %+v, want %+v", r, got)
		}
	}
	r, err := s.UserByID(c, super.ID)
	if err != nil || r.TenantID != nil || !r.SuperAdmin {
		t.Errorf("super-admin read back %+v, %v", r, err)
	}
	if _, err := s.UserByEmail(c, "nobody@example.com"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := s.UserByID(c, 999999); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func testSessions(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	h := account.HashSessionID("session-one")
	sess := account.NewSession(h, 7, "10.0.0.1", sqldbtest.Base)
	if err := s.CreateSession(c, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByHash(c, h)
	if err != nil {
		t.Fatal(err)
	}
	if got != sess {
		t.Errorf("read back %+v, want %+v", got, sess)
	}
	later := sqldbtest.Base.Add(time.Hour)
	if err := s.TouchSession(c, h, later); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(c, h, later); err != nil { // unchanged row (MariaDB reads 0 rows affected)
		t.Errorf("touch twice at the same time: %v", err)
	}
	if got, _ := s.SessionByHash(c, h); !got.LastSeenAt.Equal(later) {
		t.Errorf("last seen %v, want %v", got.LastSeenAt, later)
	}
	if err := s.TouchSession(c, account.HashSessionID("nope"), later); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("touch unknown: %v", err)
	}
	// A new session purges the ones that have ended.
	ended := account.HashSessionID("ended")
	if err := s.CreateSession(c, account.NewSession(ended, 7, "", sqldbtest.Base.Add(-8*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(c, account.NewSession(account.HashSessionID("two"), 7, "", later)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(c, ended); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("ended session still stored: %v", err)
	}
	if _, err := s.SessionByHash(c, h); err != nil {
		t.Errorf("live session purged: %v", err)
	}
	if err := s.DeleteSession(c, h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(c, h); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeleteSession(c, h); err != nil {
		t.Errorf("delete twice: %v", err)
	}
	// Only the hash is stored: the raw id appears nowhere.
	var n int
	if err := tg.DB.QueryRowContext(c, "SELECT COUNT(*) FROM user_sessions WHERE id_hash = ?", []byte("two")).Scan(&n); err != nil || n != 0 {
		t.Errorf("raw session id stored: %d, %v", n, err)
	}
}

// The throttle's window as the accounts use case uses it: 5 attempts per
// key within 15 minutes.
const (
	attemptLimit  = 5
	attemptWindow = 15 * time.Minute
)

func reserve(t *testing.T, s *sqldbtest.Stores, key [32]byte, at time.Time) (int64, time.Time) {
	t.Helper()
	id, oldest, err := s.ReserveLoginAttempt(sqldbtest.Ctx(t), key, at, at.Add(-attemptWindow), attemptLimit)
	if err != nil {
		t.Fatalf("ReserveLoginAttempt at %v: %v", at, err)
	}
	return id, oldest
}

func attemptRows(t *testing.T, db *sql.DB, key [32]byte) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(sqldbtest.Ctx(t), "SELECT COUNT(*) FROM login_failures WHERE key_hash = ?", key[:]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testLoginAttempts: the sequential cases of ReserveLoginAttempt, Release
// and Clear.
func testLoginAttempts(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	k1, k2 := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	ids := map[int64]bool{}
	for i := range attemptLimit {
		at := sqldbtest.Base.Add(time.Duration(i) * time.Minute)
		id, oldest := reserve(t, s, k1, at)
		if id <= 0 || ids[id] || !oldest.Equal(sqldbtest.Base) {
			t.Fatalf("attempt %d: id %d (seen: %v), oldest %v; want a new id, oldest %v", i+1, id, ids[id], oldest, sqldbtest.Base)
		}
		ids[id] = true
	}
	// The 6th within the window is refused and records nothing; the oldest
	// says when the window frees a place.
	id, oldest := reserve(t, s, k1, sqldbtest.Base.Add(10*time.Minute))
	if id != 0 || !oldest.Equal(sqldbtest.Base) {
		t.Errorf("6th attempt: id %d, oldest %v; want refused, oldest %v", id, oldest, sqldbtest.Base)
	}
	if n := attemptRows(t, tg.DB, k1); n != attemptLimit {
		t.Errorf("%d attempts stored after a refusal, want %d", n, attemptLimit)
	}
	// Another key is not affected.
	if id, oldest := reserve(t, s, k2, sqldbtest.Base.Add(10*time.Minute)); id == 0 || !oldest.Equal(sqldbtest.Base.Add(10*time.Minute)) {
		t.Errorf("other key: id %d, oldest %v", id, oldest)
	}
	// Refused until the oldest leaves the window (attempts at or after
	// since count: at sqldbtest.Base+15m the one at sqldbtest.Base still does).
	if id, _ := reserve(t, s, k1, sqldbtest.Base.Add(attemptWindow)); id != 0 {
		t.Errorf("as the oldest reaches the end of the window: id %d, want refused", id)
	}
	id, oldest = reserve(t, s, k1, sqldbtest.Base.Add(attemptWindow+time.Millisecond))
	if id == 0 || !oldest.Equal(sqldbtest.Base.Add(time.Minute)) {
		t.Errorf("once the oldest left the window: id %d, oldest %v; want allowed, oldest %v", id, oldest, sqldbtest.Base.Add(time.Minute))
	}
	if n := attemptRows(t, tg.DB, k1); n != attemptLimit {
		t.Errorf("%d rows of k1: the attempt that left the window is not forgotten (want %d)", n, attemptLimit)
	}
	// Releasing a reservation frees its place; releasing twice, or another
	// key's id, changes nothing.
	if err := s.ReleaseLoginAttempt(c, k1, id); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLoginAttempt(c, k1, id); err != nil {
		t.Errorf("release twice: %v", err)
	}
	k2id, _ := reserve(t, s, k2, sqldbtest.Base.Add(attemptWindow))
	if err := s.ReleaseLoginAttempt(c, k1, k2id); err != nil {
		t.Fatal(err)
	}
	if n := attemptRows(t, tg.DB, k2); n != 2 {
		t.Errorf("releasing k2's id as k1's deleted it: %d rows of k2, want 2", n)
	}
	at := sqldbtest.Base.Add(attemptWindow + time.Second)
	if id, _ := reserve(t, s, k1, at); id == 0 {
		t.Error("the released place was not freed")
	}
	if id, _ := reserve(t, s, k1, at); id != 0 {
		t.Error("a 6th attempt after the release was allowed")
	}
	// Clearing forgets every attempt of the key, and only of that key.
	if err := s.ClearLoginFailures(c, k1); err != nil {
		t.Fatal(err)
	}
	if n := attemptRows(t, tg.DB, k1); n != 0 {
		t.Errorf("after clear: %d rows of k1", n)
	}
	if n := attemptRows(t, tg.DB, k2); n != 2 {
		t.Errorf("clearing k1 touched k2: %d rows", n)
	}
	if id, oldest := reserve(t, s, k1, at); id == 0 || !oldest.Equal(at) {
		t.Errorf("after clear: id %d, oldest %v", id, oldest)
	}
	if err := s.ClearLoginFailures(c, sha256.Sum256([]byte("never seen"))); err != nil {
		t.Errorf("clear an unknown key: %v", err)
	}
}

// testLoginAttemptsConcurrent: a burst of parallel reservations for one
// key allows exactly the limit, whatever the interleaving, while another
// key's burst runs at the same time and gets its own limit.
func testLoginAttemptsConcurrent(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	const burst = 50
	k1, k2 := sha256.Sum256([]byte("burst one")), sha256.Sum256([]byte("burst two"))
	// One earlier attempt in the window leaves 4 places for k1.
	if id, _ := reserve(t, s, k1, sqldbtest.Base.Add(-time.Minute)); id == 0 {
		t.Fatal("first attempt refused")
	}
	type result struct {
		key [32]byte
		id  int64
		err error
	}
	results := make(chan result, 2*burst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 * burst {
		key := k1
		if i%2 == 1 {
			key = k2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, _, err := s.ReserveLoginAttempt(c, key, sqldbtest.Base, sqldbtest.Base.Add(-attemptWindow), attemptLimit)
			results <- result{key, id, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	allowed := map[[32]byte]int{}
	ids := map[int64]bool{}
	for r := range results {
		if r.err != nil {
			t.Errorf("ReserveLoginAttempt: %v", r.err)
			continue
		}
		if r.id != 0 {
			if ids[r.id] {
				t.Errorf("id %d handed out twice", r.id)
			}
			ids[r.id] = true
			allowed[r.key]++
		}
	}
	if allowed[k1] != attemptLimit-1 || allowed[k2] != attemptLimit {
		t.Errorf("of %d parallel reservations per key, %d and %d were allowed; want %d and %d",
			burst, allowed[k1], allowed[k2], attemptLimit-1, attemptLimit)
	}
	for _, k := range [][32]byte{k1, k2} {
		if n := attemptRows(t, tg.DB, k); n != attemptLimit {
			t.Errorf("%d attempts stored for a key, want %d", n, attemptLimit)
		}
	}
}

// PurgeAccounts deletes ended sessions (idle or past their lifetime) and
// old login failures, and nothing live.
func testPurgeAccounts(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	live := account.HashSessionID("live")
	idle := account.HashSessionID("idle")
	old := account.HashSessionID("old")
	for _, sess := range []account.Session{
		account.NewSession(live, 1, "", sqldbtest.Base.Add(-time.Hour)),
		account.NewSession(idle, 1, "", sqldbtest.Base.Add(-13*time.Hour)),
		account.NewSession(old, 1, "", sqldbtest.Base.Add(-8*24*time.Hour)),
	} {
		if _, err := tg.DB.ExecContext(c, "INSERT INTO user_sessions (id_hash, user_id, created_at, last_seen_at, expires_at, client_addr) VALUES (?, ?, ?, ?, ?, '')",
			sess.Hash[:], sess.UserID, sess.CreatedAt.UnixMilli(), sess.LastSeenAt.UnixMilli(), sess.ExpiresAt.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	k := sha256.Sum256([]byte("k"))
	for _, at := range []time.Time{sqldbtest.Base.Add(-time.Hour), sqldbtest.Base.Add(-time.Minute)} {
		if _, err := tg.DB.ExecContext(c, "INSERT INTO login_failures (key_hash, at) VALUES (?, ?)", k[:], at.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	// The throttle's lock rows: one of a key idle since before the window,
	// one of a key reserved within it.
	idleKey, liveKey := sha256.Sum256([]byte("idle")), sha256.Sum256([]byte("live"))
	for _, row := range []struct {
		key [32]byte
		at  time.Time
	}{{idleKey, sqldbtest.Base.Add(-time.Hour)}, {liveKey, sqldbtest.Base.Add(-time.Minute)}} {
		if _, err := tg.DB.ExecContext(c, "INSERT INTO login_throttle_locks (key_hash, at) VALUES (?, ?)", row.key[:], row.at.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PurgeAccounts(c, sqldbtest.Base, sqldbtest.Base.Add(-15*time.Minute))
	if err != nil || n != 4 {
		t.Fatalf("PurgeAccounts = %d, %v; want 4 rows (2 sessions, 1 failure, 1 lock row)", n, err)
	}
	var locks []string
	rows, err := tg.DB.QueryContext(c, "SELECT key_hash FROM login_throttle_locks")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		locks = append(locks, string(k))
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(locks) != 1 || locks[0] != string(liveKey[:]) {
		t.Errorf("lock rows left: %q, want only the live key's", locks)
	}
	if _, err := s.SessionByHash(c, live); err != nil {
		t.Errorf("the live session was purged: %v", err)
	}
	for _, h := range []account.SessionHash{idle, old} {
		if _, err := s.SessionByHash(c, h); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("an ended session is still stored: %v", err)
		}
	}
	if n := attemptRows(t, tg.DB, k); n != 1 {
		t.Errorf("%d login failures left, want the recent one", n)
	}
	if n, err := s.PurgeAccounts(c, sqldbtest.Base, sqldbtest.Base.Add(-15*time.Minute)); err != nil || n != 0 {
		t.Errorf("second purge = %d, %v", n, err)
	}
}
