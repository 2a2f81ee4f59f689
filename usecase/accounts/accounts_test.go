package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/accounts"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// cheap keeps the tests fast; the parameters are part of each hash.
var cheap = accounts.Argon2id{Params: &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}}

type fakes struct {
	users    *MockUsers
	sessions *MockSessions
	throttle *MockLoginThrottle
	tenants  *MockTenants
	audit    *MockAudit
	svc      *accounts.Service
	clock    *time.Time
}

func newFakes(t *testing.T, opts ...accounts.Option) *fakes {
	return newFakesWith(t, cheap, opts...)
}

func newFakesWith(t *testing.T, hasher accounts.PasswordHasher, opts ...accounts.Option) *fakes {
	ctrl := gomock.NewController(t)
	f := &fakes{users: NewMockUsers(ctrl), sessions: NewMockSessions(ctrl), throttle: NewMockLoginThrottle(ctrl),
		tenants: NewMockTenants(ctrl), audit: NewMockAudit(ctrl)}
	clock := now
	f.clock = &clock
	f.svc = accounts.NewService(f.users, f.sessions, f.throttle, f.tenants, f.audit, hasher,
		bytes.NewReader(bytes.Repeat([]byte{7}, 1024)), func() time.Time { return *f.clock }, opts...)
	return f
}

// The arguments of ReserveLoginAttempt the use case passes: now, the
// window before it and the limit.
func expectReserve(f *fakes, ctx context.Context, id int64, oldest time.Time) *gomock.Call {
	return f.throttle.EXPECT().ReserveLoginAttempt(ctx, gomock.Any(), now, now.Add(-accounts.FailureWindow), accounts.MaxFailures).
		Return(id, oldest, nil)
}

func auditAction(a audit.Action) gomock.Matcher {
	return gomock.Cond(func(e audit.Entry) bool { return e.Action == a })
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t)
	f.tenants.EXPECT().TenantBySlug(ctx, "acme").Return(tenant.Tenant{ID: 3, Slug: "acme"}, nil)
	var stored account.User
	f.users.EXPECT().CreateUser(ctx, gomock.Any()).DoAndReturn(func(_ context.Context, u account.User) (account.User, error) {
		stored = u
		u.ID = 11
		return u, nil
	})
	f.audit.EXPECT().Record(ctx, auditAction(accounts.ActionUserCreate))
	u, err := f.svc.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: "Ann@Example.com", Password: "correct horse battery", TenantSlug: "acme", Role: "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != 11 || u.Email != "ann@example.com" || *u.TenantID != 3 || u.Role != account.RoleViewer {
		t.Errorf("created %+v", u)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") || strings.Contains(stored.PasswordHash, "correct horse") {
		t.Errorf("stored password hash %q", stored.PasswordHash)
	}
	if ok, err := cheap.Verify("correct horse battery", stored.PasswordHash); !ok || err != nil {
		t.Errorf("hash does not verify: %v %v", ok, err)
	}
}

func TestCreateUserRefusals(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		spec  accounts.NewUserSpec
		setup func(f *fakes)
		want  func(error) bool
	}{
		{"short password", accounts.NewUserSpec{Email: "a@example.com", Password: "short", TenantSlug: "x"}, nil, isInvalid("password")},
		{"bad role", accounts.NewUserSpec{Email: "a@example.com", Password: "long enough pw", Role: "root"}, nil, isInvalid("role")},
		{"bad email", accounts.NewUserSpec{Email: "nope", Password: "long enough pw", SuperAdmin: true}, nil, isInvalid("email")},
		{"no tenant", accounts.NewUserSpec{Email: "a@example.com", Password: "long enough pw"}, nil, isInvalid("tenant")},
		{"unknown tenant", accounts.NewUserSpec{Email: "a@example.com", Password: "long enough pw", TenantSlug: "ghost"}, func(f *fakes) {
			f.tenants.EXPECT().TenantBySlug(ctx, "ghost").Return(tenant.Tenant{}, tenant.ErrNotFound)
		}, func(err error) bool { return errors.Is(err, tenant.ErrNotFound) }},
		{"duplicate", accounts.NewUserSpec{Email: "a@example.com", Password: "long enough pw", SuperAdmin: true}, func(f *fakes) {
			f.users.EXPECT().CreateUser(ctx, gomock.Any()).Return(account.User{}, account.ErrDuplicate)
		}, func(err error) bool { return errors.Is(err, account.ErrDuplicate) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes(t)
			if c.setup != nil {
				c.setup(f)
			}
			if _, err := f.svc.CreateUser(ctx, audit.CLI(), c.spec); !c.want(err) {
				t.Errorf("got %v", err)
			}
		})
	}
}

func isInvalid(field string) func(error) bool {
	return func(err error) bool {
		var ie *account.InvalidError
		return errors.As(err, &ie) && ie.Field == field
	}
}

func userWithPassword(t *testing.T, pw string) account.User {
	h, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	tid := int64(3)
	return account.User{ID: 11, Email: "ann@example.com", PasswordHash: h, TenantID: &tid, Role: account.RoleAdmin}
}

func TestLoginSuccess(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t)
	u := userWithPassword(t, "correct horse battery")
	gomock.InOrder(
		expectReserve(f, ctx, 41, now.Add(-time.Minute)),
		f.users.EXPECT().UserByEmail(ctx, "ann@example.com").Return(u, nil),
		f.throttle.EXPECT().ClearLoginFailures(ctx, gomock.Any()),
	)
	var sess account.Session
	f.sessions.EXPECT().CreateSession(ctx, gomock.Any()).DoAndReturn(func(_ context.Context, s account.Session) error {
		sess = s
		return nil
	})
	f.audit.EXPECT().Record(ctx, auditAction(accounts.ActionLoginSuccess))
	got, err := f.svc.Login(ctx, accounts.LoginRequest{Email: " ANN@example.com", Password: "correct horse battery", ClientAddr: "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ID) < 40 || got.User.ID != 11 {
		t.Errorf("login %+v", got)
	}
	if sess.Hash != account.HashSessionID(got.ID) || sess.UserID != 11 || !sess.ExpiresAt.Equal(now.Add(account.AbsoluteTimeout)) {
		t.Errorf("stored session %+v: want the hash of the returned id", sess)
	}
}

func TestLoginFailures(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		lookup func(f *fakes, u account.User)
	}{
		{"wrong password", func(f *fakes, u account.User) { f.users.EXPECT().UserByEmail(ctx, "ann@example.com").Return(u, nil) }},
		{"unknown email", func(f *fakes, _ account.User) {
			f.users.EXPECT().UserByEmail(ctx, "ann@example.com").Return(account.User{}, account.ErrNotFound)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakes(t)
			// The attempt was reserved before the check and stays as the
			// failure: no release, no clear, no other throttle call.
			expectReserve(f, ctx, 41, now.Add(-time.Minute))
			c.lookup(f, userWithPassword(t, "correct horse battery"))
			f.audit.EXPECT().Record(ctx, auditAction(accounts.ActionLoginFailure))
			_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ann@example.com", Password: "wrong password!", ClientAddr: "10.0.0.1"})
			if !errors.Is(err, account.ErrBadCredentials) {
				t.Errorf("got %v, want ErrBadCredentials", err)
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	ctx := context.Background()
	f := newFakes(t)
	var keys [][32]byte
	f.throttle.EXPECT().ReserveLoginAttempt(ctx, gomock.Any(), now, now.Add(-accounts.FailureWindow), accounts.MaxFailures).
		DoAndReturn(func(_ context.Context, k [32]byte, _, _ time.Time, _ int) (int64, time.Time, error) {
			keys = append(keys, k)
			return 0, now.Add(-4 * time.Minute), nil
		}).Times(2)
	// Refused by the reservation: no user lookup, no password check.
	_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ann@example.com", Password: "correct horse battery", ClientAddr: "10.0.0.1"})
	var te *accounts.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != 11*time.Minute || te.Minutes() != 11 {
		t.Fatalf("got %v, want a ThrottledError of 11 minutes", err)
	}
	_, _ = f.svc.Login(ctx, accounts.LoginRequest{Email: "ann@example.com", Password: "x", ClientAddr: "10.0.0.2"})
	if keys[0] == keys[1] {
		t.Error("the throttle key does not depend on the client address")
	}
}

func TestSession(t *testing.T) {
	ctx := context.Background()
	tid := int64(3)
	user := account.User{ID: 11, Email: "ann@example.com", TenantID: &tid, Role: account.RoleAdmin}
	live := account.NewSession(account.HashSessionID("sid"), 11, "", now.Add(-time.Hour))
	t.Run("live, touched", func(t *testing.T) {
		f := newFakes(t)
		f.sessions.EXPECT().SessionByHash(ctx, account.HashSessionID("sid")).Return(live, nil)
		f.users.EXPECT().UserByID(ctx, int64(11)).Return(user, nil)
		f.tenants.EXPECT().TenantByID(ctx, tid).Return(tenant.Tenant{ID: tid, Slug: "acme"}, nil)
		f.sessions.EXPECT().TouchSession(ctx, account.HashSessionID("sid"), now)
		cur, err := f.svc.Session(ctx, "sid")
		if err != nil || cur.User.ID != 11 || cur.Tenant == nil || cur.Tenant.Slug != "acme" {
			t.Errorf("Session: %+v, %v", cur, err)
		}
	})
	t.Run("recently touched: no write", func(t *testing.T) {
		f := newFakes(t)
		recent := live
		recent.LastSeenAt = now.Add(-10 * time.Second)
		f.sessions.EXPECT().SessionByHash(ctx, gomock.Any()).Return(recent, nil)
		f.users.EXPECT().UserByID(ctx, int64(11)).Return(user, nil)
		f.tenants.EXPECT().TenantByID(ctx, tid).Return(tenant.Tenant{ID: tid}, nil)
		if _, err := f.svc.Session(ctx, "sid"); err != nil {
			t.Error(err)
		}
	})
	t.Run("idle 12 h: ended and deleted", func(t *testing.T) {
		f := newFakes(t)
		*f.clock = now.Add(12 * time.Hour)
		f.sessions.EXPECT().SessionByHash(ctx, gomock.Any()).Return(account.NewSession(account.HashSessionID("sid"), 11, "", now), nil)
		f.sessions.EXPECT().DeleteSession(ctx, account.HashSessionID("sid"))
		if _, err := f.svc.Session(ctx, "sid"); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		f := newFakes(t)
		f.sessions.EXPECT().SessionByHash(ctx, gomock.Any()).Return(account.Session{}, account.ErrNoSession)
		if _, err := f.svc.Session(ctx, "sid"); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("got %v", err)
		}
		if _, err := f.svc.Session(ctx, ""); !errors.Is(err, account.ErrNoSession) {
			t.Errorf("empty id: %v", err)
		}
	})
	t.Run("disabled tenant", func(t *testing.T) {
		f := newFakes(t)
		f.sessions.EXPECT().SessionByHash(ctx, gomock.Any()).Return(live, nil)
		f.users.EXPECT().UserByID(ctx, int64(11)).Return(user, nil)
		f.tenants.EXPECT().TenantByID(ctx, tid).Return(tenant.Tenant{ID: tid, Disabled: true}, nil)
		if _, err := f.svc.Session(ctx, "sid"); !errors.Is(err, tenant.ErrDisabled) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("logout", func(t *testing.T) {
		f := newFakes(t)
		f.sessions.EXPECT().DeleteSession(ctx, account.HashSessionID("sid"))
		if err := f.svc.Logout(ctx, "sid"); err != nil {
			t.Error(err)
		}
		if err := f.svc.Logout(ctx, ""); err != nil {
			t.Error(err)
		}
	})
}
