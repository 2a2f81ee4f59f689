package rollupjob_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
)

func newJob(t *testing.T, limit int) (*rollupjob.Service, *MockStore, *MockLeases) {
	ctrl := gomock.NewController(t)
	st, ls := NewMockStore(ctrl), NewMockLeases(ctrl)
	job, err := rollupjob.New(st, ls, rollupjob.Options{Holder: "sched-1", PassLimit: limit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return job, st, ls
}

func TestHolderIsRequired(t *testing.T) {
	if _, err := rollupjob.New(nil, nil, rollupjob.Options{}, nil); err == nil {
		t.Fatal("a job without a holder name was built")
	}
}

func TestSkipsWhileAnotherReplicaHoldsTheLease(t *testing.T) {
	job, _, ls := newJob(t, 10)
	ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(false, nil)
	// No RollupPending and no ReleaseLease: the mocks fail on any other call.
	rep, err := job.Run(context.Background())
	if err != nil || !rep.Skipped || rep.Passes != 0 {
		t.Fatalf("Run = %+v, %v; want skipped", rep, err)
	}
}

func TestDrainsPassesRenewingTheLeaseThenReleases(t *testing.T) {
	job, st, ls := newJob(t, 10)
	var seen []rollup.Pass
	job.OnPass = func(p rollup.Pass, _ time.Duration) { seen = append(seen, p) }
	gomock.InOrder(
		ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(true, nil),
		st.EXPECT().RollupPending(gomock.Any(), "sched-1", rollup.DefaultSteps, 10).Return(rollup.Pass{Pending: 10, Series: 2, RawRows: 100, Buckets: 4}, nil),
		ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(true, nil),
		st.EXPECT().RollupPending(gomock.Any(), "sched-1", rollup.DefaultSteps, 10).Return(rollup.Pass{Pending: 10, Series: 1, RawRows: 50, Buckets: 2}, nil),
		ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(true, nil),
		st.EXPECT().RollupPending(gomock.Any(), "sched-1", rollup.DefaultSteps, 10).Return(rollup.Pass{Pending: 3, Series: 1, RawRows: 7, Buckets: 2}, nil),
		ls.EXPECT().ReleaseLease(gomock.Any(), "rollup", "sched-1").Return(nil),
	)
	rep, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passes != 3 || rep.Pending != 23 || rep.RawRows != 157 || rep.Buckets != 8 || rep.Skipped {
		t.Fatalf("report = %+v", rep)
	}
	if len(seen) != 3 {
		t.Fatalf("OnPass saw %d passes", len(seen))
	}
}

func TestEmptyListIsOnePassAndNoWork(t *testing.T) {
	job, st, ls := newJob(t, 10)
	ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(true, nil)
	st.EXPECT().RollupPending(gomock.Any(), "sched-1", gomock.Any(), 10).Return(rollup.Pass{}, nil)
	ls.EXPECT().ReleaseLease(gomock.Any(), "rollup", "sched-1").Return(nil)
	rep, err := job.Run(context.Background())
	if err != nil || rep.Passes != 0 || rep.Skipped {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
}

func TestStopsWhenTheLeaseIsLost(t *testing.T) {
	job, st, ls := newJob(t, 10)
	gomock.InOrder(
		ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(true, nil),
		st.EXPECT().RollupPending(gomock.Any(), "sched-1", gomock.Any(), 10).Return(rollup.Pass{Pending: 10}, nil),
		ls.EXPECT().AcquireLease(gomock.Any(), "rollup", "sched-1", time.Minute).Return(false, nil),
		ls.EXPECT().ReleaseLease(gomock.Any(), "rollup", "sched-1").Return(nil),
	)
	rep, err := job.Run(context.Background())
	if !errors.Is(err, rollupjob.ErrLeaseLost) || rep.Passes != 1 {
		t.Fatalf("Run = %+v, %v; want ErrLeaseLost after one pass", rep, err)
	}
}

func TestStoreFailureIsReportedAndTheLeaseReleased(t *testing.T) {
	job, st, ls := newJob(t, 10)
	boom := errors.New("deadlock")
	ls.EXPECT().AcquireLease(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(true, nil)
	st.EXPECT().RollupPending(gomock.Any(), "sched-1", gomock.Any(), 10).Return(rollup.Pass{}, boom)
	ls.EXPECT().ReleaseLease(gomock.Any(), "rollup", "sched-1").Return(nil)
	if _, err := job.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run error = %v, want it to wrap the store's", err)
	}
}

func TestLeaseErrorIsReported(t *testing.T) {
	job, _, ls := newJob(t, 10)
	boom := errors.New("db down")
	ls.EXPECT().AcquireLease(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(false, boom)
	if _, err := job.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Run error = %v", err)
	}
}

func TestStoreRefusingThePassIsALostLease(t *testing.T) {
	job, st, ls := newJob(t, 10)
	ls.EXPECT().AcquireLease(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(true, nil)
	st.EXPECT().RollupPending(gomock.Any(), "sched-1", gomock.Any(), 10).Return(rollup.Pass{}, rollup.ErrNotLeaseHolder)
	ls.EXPECT().ReleaseLease(gomock.Any(), "rollup", "sched-1").Return(nil)
	if _, err := job.Run(context.Background()); !errors.Is(err, rollupjob.ErrLeaseLost) {
		t.Fatalf("Run error = %v, want ErrLeaseLost", err)
	}
}
