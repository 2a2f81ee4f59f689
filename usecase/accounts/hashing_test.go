package accounts_test

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/usecase/accounts"
)

func decodeParams(t *testing.T, hash string) argon2id.Params {
	t.Helper()
	p, _, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		t.Fatalf("decode %q: %v", hash, err)
	}
	return *p
}

// The dummy hash an unknown email is checked against has exactly the
// parameters of the hashes the hasher makes (so it costs as much to
// verify), for the default parameters and for others.
func TestDummyHashHasTheParametersOfRealHashes(t *testing.T) {
	for _, c := range []struct {
		name   string
		hasher accounts.Argon2id
		want   argon2id.Params
	}{
		{"default", accounts.Argon2id{}, *argon2id.DefaultParams},
		{"custom", accounts.Argon2id{Params: &argon2id.Params{Memory: 256, Iterations: 3, Parallelism: 4, SaltLength: 24, KeyLength: 40}},
			argon2id.Params{Memory: 256, Iterations: 3, Parallelism: 4, SaltLength: 24, KeyLength: 40}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dummy := c.hasher.DummyHash()
			if got := decodeParams(t, dummy); got != c.want {
				t.Errorf("dummy hash %s has %+v, want %+v", dummy, got, c.want)
			}
			real, err := c.hasher.Hash("correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := decodeParams(t, dummy), decodeParams(t, real); got != want {
				t.Errorf("dummy hash has %+v, a real one %+v", got, want)
			}
			for _, pw := range []string{"", "correct horse battery"} {
				if ok, err := c.hasher.Verify(pw, dummy); ok || err != nil {
					t.Errorf("Verify(%q, dummy) = %v, %v; want false, nil", pw, ok, err)
				}
			}
		})
	}
}

// recordingHasher is argon2id recording the hashes it verifies.
type recordingHasher struct {
	accounts.Argon2id
	mu       sync.Mutex
	verified []string
}

func (h *recordingHasher) Verify(password, hash string) (bool, error) {
	h.mu.Lock()
	h.verified = append(h.verified, hash)
	h.mu.Unlock()
	return h.Argon2id.Verify(password, hash)
}

// An unknown email is checked against a hash of the service's own hasher
// parameters, not a fixed one: its cost follows the real hashes'.
func TestUnknownEmailVerifiesAHashOfTheRealParameters(t *testing.T) {
	ctx := context.Background()
	params := argon2id.Params{Memory: 128, Iterations: 2, Parallelism: 3, SaltLength: 16, KeyLength: 32}
	h := &recordingHasher{Argon2id: accounts.Argon2id{Params: &params}}
	f := newFakesWith(t, h)
	real, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	expectReserve(f, ctx, 1, now).Times(2)
	f.users.EXPECT().UserByEmail(ctx, "ann@example.com").Return(account.User{}, account.ErrNotFound)
	tid := int64(3)
	f.users.EXPECT().UserByEmail(ctx, "bob@example.com").Return(account.User{ID: 12, Email: "bob@example.com", PasswordHash: real, TenantID: &tid}, nil)
	f.audit.EXPECT().Record(ctx, auditAction(accounts.ActionLoginFailure)).Times(2)
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if _, err := f.svc.Login(ctx, accounts.LoginRequest{Email: email, Password: "wrong password!"}); !errors.Is(err, account.ErrBadCredentials) {
			t.Fatalf("%s: %v", email, err)
		}
	}
	if len(h.verified) != 2 {
		t.Fatalf("verified %d hashes, want 2 (one per login)", len(h.verified))
	}
	if got, want := decodeParams(t, h.verified[0]), decodeParams(t, h.verified[1]); got != want || got != params {
		t.Errorf("unknown email verified a hash of %+v; the known user's has %+v, the hasher makes %+v", got, want, params)
	}
}

// blockingHasher blocks every Hash and Verify until release is closed, and
// tracks how many run at once.
type blockingHasher struct {
	release chan struct{}
	running atomic.Int32
	peak    atomic.Int32
	entered chan struct{} // one send per hash started
}

func newBlockingHasher() *blockingHasher {
	return &blockingHasher{release: make(chan struct{}), entered: make(chan struct{}, 1024)}
}

func (h *blockingHasher) hash() {
	n := h.running.Add(1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	h.entered <- struct{}{}
	<-h.release
	h.running.Add(-1)
}

func (h *blockingHasher) Hash(string) (string, error)         { h.hash(); return "hashed", nil }
func (h *blockingHasher) Verify(string, string) (bool, error) { h.hash(); return false, nil }
func (h *blockingHasher) DummyHash() string                   { return "dummy" }
func (h *blockingHasher) waitEntered(t *testing.T, n int)     { t.Helper(); waitN(t, h.entered, n) }
func (h *blockingHasher) noMoreEntered(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-h.entered:
		t.Fatal("a hash started beyond the slots")
	case <-time.After(d):
	}
}

func waitN(t *testing.T, c <-chan struct{}, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-c:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d hashes started", i, n)
		}
	}
}

// lenientFakes accepts any number of every call a login makes; reserve
// hands out ids 1, 2, … and release records the ids it got.
type lenientFakes struct {
	*fakes
	mu       sync.Mutex
	released []int64
}

func newLenientFakes(t *testing.T, hasher accounts.PasswordHasher, user account.User, opts ...accounts.Option) *lenientFakes {
	f := &lenientFakes{fakes: newFakesWith(t, hasher, opts...)}
	var ids atomic.Int64
	f.throttle.EXPECT().ReserveLoginAttempt(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).
		DoAndReturn(func(context.Context, [32]byte, time.Time, time.Time, int) (int64, time.Time, error) {
			return ids.Add(1), now, nil
		}).AnyTimes()
	f.throttle.EXPECT().ReleaseLoginAttempt(gomock.Any(), gomock.Any(), gomock.Any()).
		DoAndReturn(func(_ context.Context, _ [32]byte, id int64) error {
			f.mu.Lock()
			f.released = append(f.released, id)
			f.mu.Unlock()
			return nil
		}).AnyTimes()
	f.users.EXPECT().UserByEmail(gomock.Any(), user.Email).Return(user, nil).AnyTimes()
	f.users.EXPECT().UserByEmail(gomock.Any(), gomock.Not(user.Email)).Return(account.User{}, account.ErrNotFound).AnyTimes()
	f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).AnyTimes()
	return f
}

func (f *lenientFakes) releasedIDs() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.released...)
}

// With every slot taken, a login waits the configured time and is then
// refused with *BusyError, unknown email or not; its attempt is released.
// A login that finds a slot within the wait proceeds. User creation is
// bounded by the same slots.
func TestHashSlotsBoundConcurrentHashing(t *testing.T) {
	ctx := context.Background()
	h := newBlockingHasher()
	known := account.User{ID: 11, Email: "ann@example.com", PasswordHash: "hashed"}
	const wait = 100 * time.Millisecond
	f := newLenientFakes(t, h, known, accounts.WithHashSlots(2), accounts.WithHashWait(wait))
	results := make(chan error, 8)
	login := func(email string) {
		_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: email, Password: "wrong password!", ClientAddr: "10.0.0.1"})
		results <- err
	}
	go login("ann@example.com")
	go login("nobody@example.com")
	h.waitEntered(t, 2)
	for _, email := range []string{"ann@example.com", "ghost@example.com"} {
		start := time.Now()
		_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: email, Password: "wrong password!", ClientAddr: "10.0.0.1"})
		var berr *accounts.BusyError
		if !errors.As(err, &berr) || !errors.Is(err, accounts.ErrBusy) || berr.RetryAfter != wait || berr.Seconds() != 1 {
			t.Fatalf("%s with every slot taken: %v, want a *BusyError of %v", email, err, wait)
		}
		if waited := time.Since(start); waited < wait {
			t.Errorf("%s refused after %v, before the wait of %v", email, waited, wait)
		}
	}
	if got := f.releasedIDs(); len(got) != 2 || got[0] < 3 || got[1] < 3 {
		t.Errorf("released attempts %v, want those of the 2 refused logins (ids 3 and 4)", got)
	}
	if _, err := f.svc.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: "new@example.com", Password: "long enough pw", SuperAdmin: true}); !errors.Is(err, accounts.ErrBusy) {
		t.Errorf("CreateUser with every slot taken: %v, want ErrBusy", err)
	}
	// A context that ends first ends the wait too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.svc.Login(cctx, accounts.LoginRequest{Email: "ann@example.com", Password: "x"}); !errors.Is(err, accounts.ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v, want ErrBusy wrapping context.Canceled", err)
	}
	// A waiting login gets the slot once one frees within its wait.
	go login("queued@example.com")
	h.noMoreEntered(t, wait/4)
	close(h.release)
	for range 3 {
		if err := <-results; !errors.Is(err, account.ErrBadCredentials) {
			t.Errorf("login with a slot: %v, want ErrBadCredentials", err)
		}
	}
	if p := h.peak.Load(); p != 2 {
		t.Errorf("%d hashes ran at once, want 2 (the slots)", p)
	}
}

// Without WithHashSlots, a hasher other than Argon2id gets one slot per
// CPU.
func TestDefaultHashSlotsAreTheCPUs(t *testing.T) {
	ctx := context.Background()
	h := newBlockingHasher()
	f := newLenientFakes(t, h, account.User{ID: 11, Email: "ann@example.com", PasswordHash: "hashed"}, accounts.WithHashWait(10*time.Second))
	cpus := runtime.NumCPU()
	var wg sync.WaitGroup
	for range cpus + 1 {
		wg.Go(func() {
			_, _ = f.svc.Login(ctx, accounts.LoginRequest{Email: "ann@example.com", Password: "x"})
		})
	}
	h.waitEntered(t, cpus)
	h.noMoreEntered(t, 50*time.Millisecond)
	close(h.release)
	wg.Wait()
	if p := h.peak.Load(); int(p) != cpus {
		t.Errorf("%d hashes ran at once, want %d (NumCPU)", p, cpus)
	}
}

// DefaultHashSlots counts an argon2id hash as many CPUs as it has lanes
// and caps the memory the slots hold: with the default parameters, one
// slot whatever the number of CPUs.
func TestDefaultHashSlots(t *testing.T) {
	cpus := runtime.NumCPU()
	for _, c := range []struct {
		name   string
		hasher accounts.PasswordHasher
		want   int
	}{
		{"argon2id defaults", accounts.Argon2id{}, 1},
		{"one lane, 64 MiB", accounts.Argon2id{Params: &argon2id.Params{Memory: 64 << 10, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}}, 1},
		{"one lane, 64 KiB", cheap, cpus},
		{"another hasher", newBlockingHasher(), cpus},
	} {
		if got := accounts.DefaultHashSlots(c.hasher); got != c.want {
			t.Errorf("%s: %d slots, want %d", c.name, got, c.want)
		}
	}
}

// failingHasher fails every Verify.
type failingHasher struct{ accounts.Argon2id }

func (failingHasher) Verify(string, string) (bool, error) { return false, errors.New("corrupt hash") }

// An error between the reservation and the end of the check releases the
// attempt (it does not count), even when the request's context has ended.
func TestLoginReleasesTheAttemptOnError(t *testing.T) {
	for _, c := range []struct {
		name   string
		hasher accounts.PasswordHasher
		lookup func(f *fakes, cancel context.CancelFunc)
	}{
		{"user lookup fails", cheap, func(f *fakes, _ context.CancelFunc) {
			f.users.EXPECT().UserByEmail(gomock.Any(), "ann@example.com").Return(account.User{}, errors.New("connection refused"))
		}},
		{"client gone during the lookup", cheap, func(f *fakes, cancel context.CancelFunc) {
			f.users.EXPECT().UserByEmail(gomock.Any(), "ann@example.com").DoAndReturn(func(ctx context.Context, _ string) (account.User, error) {
				cancel()
				return account.User{}, ctx.Err()
			})
		}},
		{"verify fails", failingHasher{cheap}, func(f *fakes, _ context.CancelFunc) {
			f.users.EXPECT().UserByEmail(gomock.Any(), "ann@example.com").Return(userWithPassword(t, "correct horse battery"), nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFakesWith(t, c.hasher)
			var key [32]byte
			f.throttle.EXPECT().ReserveLoginAttempt(gomock.Any(), gomock.Any(), now, now.Add(-accounts.FailureWindow), accounts.MaxFailures).
				DoAndReturn(func(_ context.Context, k [32]byte, _, _ time.Time, _ int) (int64, time.Time, error) {
					key = k
					return 41, now, nil
				})
			c.lookup(f, cancel)
			f.throttle.EXPECT().ReleaseLoginAttempt(gomock.Any(), gomock.Any(), int64(41)).
				DoAndReturn(func(rctx context.Context, k [32]byte, _ int64) error {
					if k != key {
						t.Error("released another key's attempt")
					}
					if rctx.Err() != nil {
						t.Errorf("released with an ended context: %v", rctx.Err())
					}
					return nil
				})
			_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: "ann@example.com", Password: "wrong password!", ClientAddr: "10.0.0.1"})
			if err == nil || errors.Is(err, account.ErrBadCredentials) {
				t.Errorf("got %v, want an internal error", err)
			}
		})
	}
}

// memoryInUse is the memory the Go runtime has mapped and not returned to
// the OS (heap, stacks, metadata): what the process costs.
func memoryInUse(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// peakMemoryGrowth runs fn while sampling memoryInUse every millisecond
// and returns the peak minus the level before.
func peakMemoryGrowth(fn func()) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	debug.FreeOSMemory()
	base := memoryInUse(s)
	peak := base
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, memoryInUse(s))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return max(peak, memoryInUse(s)) - base
}

// 100 parallel logins (unknown emails and wrong passwords mixed) with the
// real default argon2id parameters (64 MiB a hash) grow the process's
// memory by less than 256 MiB: the hashing slots bound how many hashes hold
// their memory at once, and the logins beyond them wait and are refused as
// busy. Unbounded, it would be about 100 × 64 MiB.
func TestParallelLoginsPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with the real argon2id parameters")
	}
	const logins, limit = 100, 256 << 20
	ctx := context.Background()
	real, err := accounts.Argon2id{}.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	f := newLenientFakes(t, accounts.Argon2id{}, account.User{ID: 11, Email: "ann@example.com", PasswordHash: real})
	var bad, busy atomic.Int32
	start := time.Now()
	growth := peakMemoryGrowth(func() {
		var wg sync.WaitGroup
		for i := range logins {
			email := "ann@example.com"
			if i%2 == 1 {
				email = "nobody@example.com"
			}
			wg.Go(func() {
				_, err := f.svc.Login(ctx, accounts.LoginRequest{Email: email, Password: "wrong password!", ClientAddr: "10.0.0.1"})
				switch {
				case errors.Is(err, account.ErrBadCredentials):
					bad.Add(1)
				case errors.Is(err, accounts.ErrBusy):
					busy.Add(1)
				default:
					t.Errorf("login %s: %v", email, err)
				}
			})
		}
		wg.Wait()
	})
	t.Logf("%d parallel logins in %v: %d checked, %d busy; peak memory growth %d MiB",
		logins, time.Since(start).Round(time.Millisecond), bad.Load(), busy.Load(), growth>>20)
	if growth >= limit {
		t.Errorf("peak memory growth %d MiB, want < %d MiB", growth>>20, limit>>20)
	}
	if bad.Load() < 1 {
		t.Error("no login was checked: the test measured no hashing")
	}
	if int(busy.Load()) != len(f.releasedIDs()) {
		t.Errorf("%d busy logins but %d attempts released", busy.Load(), len(f.releasedIDs()))
	}
}
