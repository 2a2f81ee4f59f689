package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
)

// slowUpload opens a raw connection, sends the headers of a POST declaring
// declared bytes, then one byte every gap until the server answers or
// stop is closed; it returns the status line and when it came.
func slowUpload(t *testing.T, addr string, declared int, gap time.Duration, stop <-chan struct{}) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return "", 0
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/metrics HTTP/1.1\r\nHost: x\r\nX-API-Token: %s\r\nContent-Length: %d\r\n\r\n[", ingestToken, declared)
	answered := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for {
		select {
		case line := <-answered:
			return line, time.Since(start)
		case <-stop:
			return "", time.Since(start)
		case <-tick.C:
			_, _ = conn.Write([]byte(" "))
		}
	}
}

// A body sent at 1 byte per 100 ms is cut at the body deadline with a
// 408, not held open for as long as the client likes.
func TestSlowBodyTimesOut(t *testing.T) {
	e := newEnv(t, func(d *api.Deps) { d.Limits.RequestTimeout = 500 * time.Millisecond })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	stop := make(chan struct{})
	defer close(stop)
	line, took := slowUpload(t, srv.Listener.Addr().String(), 1000, 100*time.Millisecond, stop)
	if !strings.Contains(line, " 408 ") {
		t.Fatalf("answer %q after %s, want 408", line, took)
	}
	if took > 3*time.Second {
		t.Errorf("answered after %s, want about the 500 ms body deadline", took)
	}
}

// 50 uploads that declare 5 MiB and then trickle must not reserve 5 MiB
// each: the body buffer grows as bytes arrive.
func TestDeclaredLengthIsNotReservedUpFront(t *testing.T) {
	e := newEnv(t, func(d *api.Deps) { d.Limits.RequestTimeout = 5 * time.Second })
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { slowUpload(t, srv.Listener.Addr().String(), 5<<20, 50*time.Millisecond, stop) })
	}
	time.Sleep(time.Second) // every upload has sent its headers and is being read
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	close(stop)
	wg.Wait()
	if grew := int64(during.HeapInuse) - int64(before.HeapInuse); grew > 32<<20 {
		t.Errorf("heap grew by %d MiB for 50 trickling uploads, want far less than 50 × 5 MiB", grew>>20)
	}
}
