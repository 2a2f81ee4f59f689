package api_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/export/exportlink"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// fakeExports keeps exports in memory and signs links with a real
// exportlink.Signer, as the use case does.
type fakeExports struct {
	mu      sync.Mutex
	signer  *exportlink.Signer
	now     func() time.Time
	byID    map[int64]export.Export
	files   map[int64]string
	created []export.Request
	// copyDelay holds each Copy back: longer than the request timeout.
	copyDelay time.Duration
}

func newFakeExports(t testing.TB, now func() time.Time) *fakeExports {
	s, err := exportlink.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return &fakeExports{signer: s, now: now, byID: map[int64]export.Export{}, files: map[int64]string{}}
}

func (f *fakeExports) add(e export.Export, file string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e.Bytes = int64(len(file))
	f.byID[e.ID], f.files[e.ID] = e, file
}

func (f *fakeExports) Create(_ context.Context, tenantID int64, req export.Request) (export.Export, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Name == "" {
		return export.Export{}, fmt.Errorf("%w: name is required", query.ErrInvalid)
	}
	f.created = append(f.created, req)
	e := export.Export{ID: int64(100 + len(f.created)), TenantID: tenantID, Request: req, Status: export.StatusQueued}
	f.byID[e.ID] = e
	return e, nil
}

func (f *fakeExports) Get(_ context.Context, tenantID, id int64) (export.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byID[id]
	if !ok || e.TenantID != tenantID {
		return export.View{}, export.ErrNotFound
	}
	v := export.View{Export: e}
	if e.Status == export.StatusDone {
		exp := f.now().Add(time.Hour)
		v.DownloadQuery, v.ExpiresAt = f.signer.Query(e.ID, e.TenantID, exp), exp.UnixMilli()
	}
	return v, nil
}

func (f *fakeExports) Open(_ context.Context, id int64, exp, sig string) (export.Export, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byID[id]
	if !ok {
		return export.Export{}, export.ErrNotFound
	}
	if err := f.signer.Check(e.ID, e.TenantID, exp, sig, f.now()); err != nil {
		return export.Export{}, fmt.Errorf("%w: %w", export.ErrLinkRefused, err)
	}
	if e.Status != export.StatusDone {
		return export.Export{}, export.ErrNotReady
	}
	return e, nil
}

func (f *fakeExports) Copy(ctx context.Context, e export.Export, w io.Writer) (int64, error) {
	select {
	case <-time.After(f.copyDelay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	f.mu.Lock()
	file := f.files[e.ID]
	f.mu.Unlock()
	n, err := io.WriteString(w, file)
	return int64(n), err
}

// link is a download path of export id as tenant signed until expires.
func (f *fakeExports) link(id, tenant int64, expires time.Time) string {
	return fmt.Sprintf("/exports/%d.csv?%s", id, f.signer.Query(id, tenant, expires))
}
