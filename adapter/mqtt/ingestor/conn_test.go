package ingestor

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestBufferedConnCoalescesWritesInOrder(t *testing.T) {
	c, s := tcpPair(t)
	cc := &countingConn{Conn: c}
	b := newBufferedConn(cc)
	var want bytes.Buffer
	const writers, each = 4, 5000
	var mu sync.Mutex // paho writes from one goroutine; the order is only defined per writer
	var wg sync.WaitGroup
	got := make(chan []byte, 1)
	go func() {
		all, _ := io.ReadAll(s)
		got <- all
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := []byte{0x40, 0x02, byte(w), byte(i)} // a PUBACK's size
				mu.Lock()
				want.Write(p)
				_, err := b.Write(p)
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	all := <-got
	if !bytes.Equal(all, want.Bytes()) {
		t.Fatalf("the peer read %d bytes, %d were written (or in another order)", len(all), want.Len())
	}
	if n := cc.writes.Load(); n >= writers*each {
		t.Errorf("%d socket writes for %d packets: nothing was coalesced", n, writers*each)
	}
}

func TestBufferedConnCloseFlushesThenRefuses(t *testing.T) {
	c, s := tcpPair(t)
	b := newBufferedConn(c)
	payload := bytes.Repeat([]byte("x"), 3*connMaxPending) // more than the queue holds: writers wait
	got := make(chan int, 1)
	go func() {
		n, _ := io.Copy(io.Discard, s)
		got <- int(n)
	}()
	for i := 0; i < len(payload); i += 1000 {
		if _, err := b.Write(payload[i:min(i+1000, len(payload))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != len(payload) {
			t.Fatalf("the peer read %d bytes before EOF, want %d", n, len(payload))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the peer saw no EOF")
	}
	// paho recognises a closed connection by this error text.
	if _, err := b.Write([]byte{1}); err == nil || !strings.Contains(err.Error(), "use of closed network connection") {
		t.Fatalf("write after Close: %v", err)
	}
	_ = b.Close() // twice is harmless
}

func TestBufferedConnReportsWriteErrors(t *testing.T) {
	c, s := tcpPair(t)
	b := newBufferedConn(c)
	s.Close()
	c.Close() // the socket breaks under the buffered conn
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := b.Write([]byte("ping"))
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Logf("write error: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes on a broken connection never failed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBufferedConnReads(t *testing.T) {
	c, s := tcpPair(t)
	b := newBufferedConn(c)
	go func() {
		for i := range 100 {
			_, _ = s.Write([]byte{byte(i)})
		}
		s.Close()
	}()
	all, err := io.ReadAll(b)
	if err != nil || len(all) != 100 || all[99] != 99 {
		t.Fatalf("read %v, %v", all, err)
	}
}

func TestBufferedSchemes(t *testing.T) {
	t.Setenv("ALL_PROXY", "")
	t.Setenv("all_proxy", "")
	for url, want := range map[string]bool{
		"tcp://mosquitto:1883": true, "mqtt://m:1883": true, "ssl://m:8883": true, "mqtts://m:8883": true,
		"unix:///run/mosquitto.sock": true, "ws://m:9001/mqtt": false, "wss://m/mqtt": false, "::bad": false,
	} {
		if got := bufferedSchemes(url); got != want {
			t.Errorf("bufferedSchemes(%q) = %v", url, got)
		}
	}
	t.Setenv("ALL_PROXY", "socks5://proxy:1080")
	if bufferedSchemes("tcp://mosquitto:1883") {
		t.Error("with ALL_PROXY set, paho must dial (through the proxy) itself")
	}
}
