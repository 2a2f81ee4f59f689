package storetest

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/sqlstore"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

// The store serves the accounts and dashboards ports.
var (
	_ accounts.Users         = (*sqlstore.Store)(nil)
	_ accounts.Sessions      = (*sqlstore.Store)(nil)
	_ accounts.LoginThrottle = (*sqlstore.Store)(nil)
	_ accounts.Tenants       = (*sqlstore.Store)(nil)
	_ dashboards.Dashboards  = (*sqlstore.Store)(nil)
	_ dashboards.Widgets     = (*sqlstore.Store)(nil)
)

// RunAccounts runs the contract cases of the dashboard accounts' storage
// (users, sessions, login failures); open is as for Run.
func RunAccounts(t *testing.T, open func(t *testing.T) Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg Target)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"LoginFailures", testLoginFailures},
		{"Purge", testPurgeAccounts},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func testUsers(t *testing.T, tg Target) {
	s, c := tg.Store, ctx(t)
	tn := adminTenant(t, s, "acct")
	u, err := account.NewUser("ann@example.com", &tn.ID, account.RoleViewer, false, base)
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
	super, err := account.NewUser("root@example.com", nil, account.RoleAdmin, true, base)
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
		if r.ID != got.ID || r.Email != u.Email || r.PasswordHash != u.PasswordHash || r.TenantID == nil || *r.TenantID != tn.ID ||
			r.Role != account.RoleViewer || r.SuperAdmin || !r.CreatedAt.Equal(base) {
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

func testSessions(t *testing.T, tg Target) {
	s, c := tg.Store, ctx(t)
	h := account.HashSessionID("session-one")
	sess := account.NewSession(h, 7, "10.0.0.1", base)
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
	later := base.Add(time.Hour)
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
	if err := s.CreateSession(c, account.NewSession(ended, 7, "", base.Add(-8*24*time.Hour))); err != nil {
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

func testLoginFailures(t *testing.T, tg Target) {
	s, c := tg.Store, ctx(t)
	k1, k2 := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	for i := range 3 {
		if err := s.RecordLoginFailure(c, k1, base.Add(time.Duration(i)*time.Minute), base.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLoginFailure(c, k2, base, base.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, oldest, err := s.LoginFailures(c, k1, base.Add(-15*time.Minute))
	if err != nil || n != 3 || !oldest.Equal(base) {
		t.Errorf("k1 failures: %d, oldest %v, %v; want 3, %v", n, oldest, err, base)
	}
	if n, oldest, _ := s.LoginFailures(c, k1, base.Add(time.Minute)); n != 2 || !oldest.Equal(base.Add(time.Minute)) {
		t.Errorf("k1 failures since +1m: %d, %v", n, oldest)
	}
	if n, oldest, _ := s.LoginFailures(c, sha256.Sum256([]byte("none")), base.Add(-time.Hour)); n != 0 || !oldest.IsZero() {
		t.Errorf("unknown key: %d, %v", n, oldest)
	}
	if err := s.ClearLoginFailures(c, k1); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.LoginFailures(c, k1, base.Add(-time.Hour)); n != 0 {
		t.Errorf("after clear: %d", n)
	}
	if n, _, _ := s.LoginFailures(c, k2, base.Add(-time.Hour)); n != 1 {
		t.Errorf("clearing k1 touched k2: %d", n)
	}
	// Recording forgets every key's failures older than forgetBefore.
	if err := s.RecordLoginFailure(c, k1, base.Add(time.Hour), base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.LoginFailures(c, k2, time.Time{}); n != 0 {
		t.Errorf("old failures of k2 kept: %d", n)
	}
}

// PurgeAccounts deletes ended sessions (idle or past their lifetime) and
// old login failures, and nothing live.
func testPurgeAccounts(t *testing.T, tg Target) {
	s, c := tg.Store, ctx(t)
	live := account.HashSessionID("live")
	idle := account.HashSessionID("idle")
	old := account.HashSessionID("old")
	for _, sess := range []account.Session{
		account.NewSession(live, 1, "", base.Add(-time.Hour)),
		account.NewSession(idle, 1, "", base.Add(-13*time.Hour)),
		account.NewSession(old, 1, "", base.Add(-8*24*time.Hour)),
	} {
		if _, err := tg.DB.ExecContext(c, "INSERT INTO user_sessions (id_hash, user_id, created_at, last_seen_at, expires_at, client_addr) VALUES (?, ?, ?, ?, ?, '')",
			sess.Hash[:], sess.UserID, sess.CreatedAt.UnixMilli(), sess.LastSeenAt.UnixMilli(), sess.ExpiresAt.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	k := sha256.Sum256([]byte("k"))
	for _, at := range []time.Time{base.Add(-time.Hour), base.Add(-time.Minute)} {
		if _, err := tg.DB.ExecContext(c, "INSERT INTO login_failures (key_hash, at) VALUES (?, ?)", k[:], at.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PurgeAccounts(c, base, base.Add(-15*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("PurgeAccounts = %d, %v; want 3 rows (2 sessions, 1 failure)", n, err)
	}
	if _, err := s.SessionByHash(c, live); err != nil {
		t.Errorf("the live session was purged: %v", err)
	}
	for _, h := range []account.SessionHash{idle, old} {
		if _, err := s.SessionByHash(c, h); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("an ended session is still stored: %v", err)
		}
	}
	if n, _, _ := s.LoginFailures(c, k, base.Add(-time.Hour)); n != 1 {
		t.Errorf("%d login failures left, want the recent one", n)
	}
	if n, err := s.PurgeAccounts(c, base, base.Add(-15*time.Minute)); err != nil || n != 0 {
		t.Errorf("second purge = %d, %v", n, err)
	}
}
