package tenancy_test

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// clockFixture is a Service on a clock the test moves.
type clockFixture struct {
	svc     *tenancy.Service
	tenants *MockTenants
	tokens  *MockTokens
	audit   *MockAudit
	clock   time.Time
}

func newClockFixture(t *testing.T) *clockFixture {
	ctrl := gomock.NewController(t)
	f := &clockFixture{tenants: NewMockTenants(ctrl), tokens: NewMockTokens(ctrl), audit: NewMockAudit(ctrl), clock: now}
	f.svc = tenancy.NewService(f.tenants, f.tokens, f.audit, rand.New(rand.NewSource(1)), func() time.Time { return f.clock }, metric.DefaultLimits())
	return f
}

// used marks a token as used just now, so Authenticate does not touch it.
func used(tk token.Token) token.Token {
	at := now
	tk.LastUsedAt = &at
	return tk
}

// While the database is away, ingest keeps authenticating from the entries
// it holds, past their TTL; a token never seen before is a 503, not a 401.
func TestAuthenticateStaleIfError(t *testing.T) {
	f := newClockFixture(t)
	iss := issued(t, 7, token.ScopeIngest)
	down := errors.New("dial tcp 127.0.0.1:3306: connect: connection refused")
	acme := tenant.Tenant{ID: 9, Slug: "acme", RetentionDays: 30}
	gomock.InOrder(
		f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(used(iss.Token), nil),
		f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(token.Token{}, down).Times(2),
	)
	gomock.InOrder(
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(acme, nil),
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(tenant.Tenant{}, down).Times(2),
	)
	touched := make(chan struct{}, 1)
	f.tokens.EXPECT().TouchToken(gomock.Any(), iss.Token.ID, gomock.Any()).DoAndReturn(func(context.Context, string, time.Time) error {
		touched <- struct{}{}
		return down // best effort: the database is down
	}).Times(1)
	if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{tenancy.CacheTTL, time.Hour} {
		f.clock = now.Add(after)
		if p, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil || p.TenantSlug != "acme" {
			t.Fatalf("%s later, database down: %+v, %v; want the cached token", after, p, err)
		}
	}
	<-touched // the hour-old last-used time was written (or tried) once
	other := issued(t, 8, token.ScopeIngest)
	f.tokens.EXPECT().TokenByID(gomock.Any(), other.Token.ID).Return(token.Token{}, down)
	_, err := f.svc.Authenticate(ctx, other.Plain, token.ScopeIngest)
	if !errors.Is(err, outage.ErrUnavailable) || errors.Is(err, token.ErrUnauthenticated) {
		t.Fatalf("unknown token, database down: %v; want outage.ErrUnavailable", err)
	}
}

// Unknown token ids are cached like known ones: a scanner sending random
// ids costs one lookup per id and TTL, not one per request.
func TestAuthenticateCachesUnknownTokens(t *testing.T) {
	f := newClockFixture(t)
	iss := issued(t, 7, token.ScopeIngest)
	f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(token.Token{}, token.ErrNotFound).Times(2)
	for _, after := range []time.Duration{0, time.Second, tenancy.CacheTTL} {
		f.clock = now.Add(after)
		if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); !errors.Is(err, token.ErrUnauthenticated) {
			t.Fatalf("err = %v, want 401", err)
		}
	}
}

// fakeInvalidations is the cross-process channel in one process.
type fakeInvalidations struct {
	mu        sync.Mutex
	published []tenancy.Invalidation
	subs      chan func(tenancy.Invalidation)
	resets    chan func()
}

func newFakeInvalidations() *fakeInvalidations {
	return &fakeInvalidations{subs: make(chan func(tenancy.Invalidation), 1), resets: make(chan func(), 1)}
}

func (f *fakeInvalidations) Publish(_ context.Context, inv tenancy.Invalidation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, inv)
	return nil
}

func (f *fakeInvalidations) Subscribe(ctx context.Context, fn func(tenancy.Invalidation), reset func()) error {
	f.subs <- fn
	f.resets <- reset
	<-ctx.Done()
	return ctx.Err()
}

// A revocation made here drops the entry at once and is published for the
// other processes; one published by another process drops it here.
func TestCacheInvalidations(t *testing.T) {
	f := newClockFixture(t)
	bus := newFakeInvalidations()
	f.svc.WithInvalidations(bus)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.svc.ListenForChanges(lctx) }()
	deliver, reset := <-bus.subs, <-bus.resets

	a, b := issued(t, 7, token.ScopeIngest), issued(t, 8, token.ScopeIngest)
	revoked := used(a.Token)
	revokedAt := now
	revoked.RevokedAt = &revokedAt
	f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(tenant.Tenant{ID: 9, Slug: "acme"}, nil).AnyTimes()
	gomock.InOrder(
		f.tokens.EXPECT().TokenByID(gomock.Any(), a.Token.ID).Return(used(a.Token), nil), // Authenticate
		f.tokens.EXPECT().TokenByID(gomock.Any(), a.Token.ID).Return(used(a.Token), nil), // RevokeToken's own lookup
		f.tokens.EXPECT().RevokeToken(gomock.Any(), a.Token.ID, now).Return(nil),
		f.tokens.EXPECT().TokenByID(gomock.Any(), a.Token.ID).Return(revoked, nil), // read again at once
	)
	f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
	if _, err := f.svc.Authenticate(ctx, a.Plain, token.ScopeIngest); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeToken(ctx, cli, a.Token.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, a.Plain, token.ScopeIngest); !errors.Is(err, token.ErrUnauthenticated) {
		t.Fatalf("revoked here, within the TTL: %v; want 401 at once", err)
	}
	bus.mu.Lock()
	if len(bus.published) != 1 || bus.published[0].TokenID != a.Token.ID {
		t.Errorf("published %+v, want the revoked token", bus.published)
	}
	bus.mu.Unlock()

	// Revoked by another process: its message drops b's entry here.
	gomock.InOrder(
		f.tokens.EXPECT().TokenByID(gomock.Any(), b.Token.ID).Return(used(b.Token), nil),
		f.tokens.EXPECT().TokenByID(gomock.Any(), b.Token.ID).Return(token.Token{}, token.ErrNotFound),
		f.tokens.EXPECT().TokenByID(gomock.Any(), b.Token.ID).Return(used(b.Token), nil),
	)
	if _, err := f.svc.Authenticate(ctx, b.Plain, token.ScopeIngest); err != nil {
		t.Fatal(err)
	}
	deliver(tenancy.Invalidation{TokenID: b.Token.ID})
	if _, err := f.svc.Authenticate(ctx, b.Plain, token.ScopeIngest); !errors.Is(err, token.ErrUnauthenticated) {
		t.Fatalf("after another process's invalidation: %v; want a fresh read", err)
	}
	// A reset (messages may have been lost) forgets everything, the cached
	// "unknown" answer included.
	reset()
	if _, err := f.svc.Authenticate(ctx, b.Plain, token.ScopeIngest); err != nil {
		t.Fatalf("after a reset: %v; want a fresh read", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A database that hangs (SIGSTOP) costs a request a short wait once per
// key and second: concurrent callers share one lookup, the stale entry
// serves while it is out, and after it failed without asking again.
func TestAuthenticateWithAStalledDatabase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newClockFixture(t)
		iss := issued(t, 7, token.ScopeIngest)
		stalled := func(ctx context.Context, _ string) (token.Token, error) {
			<-ctx.Done()
			return token.Token{}, ctx.Err()
		}
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(tenant.Tenant{ID: 9, Slug: "acme"}, nil).Times(1)
		gomock.InOrder(
			f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(used(iss.Token), nil),
			f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).DoAndReturn(stalled).Times(1), // one for 8 callers
		)
		if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil {
			t.Fatal(err)
		}
		f.clock = now.Add(30 * time.Second) // token and tenant entries both expired
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).DoAndReturn(func(ctx context.Context, _ int64) (tenant.Tenant, error) {
			<-ctx.Done()
			return tenant.Tenant{}, ctx.Err()
		}).Times(1)
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil {
					t.Errorf("stalled database, cached token: %v", err)
				}
			})
		}
		wg.Wait()
		if took := time.Since(start); took > 300*time.Millisecond {
			t.Errorf("8 requests took %s, want about a short wait per entry (the stale entry serves)", took)
		}
		for _, when := range []string{"while the refresh is still out", "after it failed"} {
			start = time.Now()
			if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil || time.Since(start) != 0 {
				t.Errorf("%s: %v after %s; want the stale entry at once", when, err, time.Since(start))
			}
			time.Sleep(time.Second) // the stalled refresh gives up
		}
	})
}
