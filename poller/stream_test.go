package poller

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The stream transport's writer, over a plain TCP socket (stream takes any net.Conn; the TLS
// paths are tested through the server in package api).

// waitLimit bounds every wait of these tests.
const waitLimit = 5 * time.Second

// streamSession is a Session whose hooks a test sets; it records OnClose's error and, at each
// OnWake, what the transport still buffered.
type streamSession struct {
	open    func(Transport)
	wake    func(Transport)
	timer   func(Transport, int64)
	t       Transport
	opened  chan struct{}
	closed  chan error
	wakesMu sync.Mutex
	wakes   []int // Buffered at each OnWake
}

func newStreamSession() *streamSession {
	return &streamSession{opened: make(chan struct{}), closed: make(chan error, 1)}
}

func (s *streamSession) OnOpen(t Transport, _ int64) {
	s.t = t
	if s.open != nil {
		s.open(t)
	}
	close(s.opened)
}
func (s *streamSession) OnTraffic(in []byte) int { return len(in) }
func (s *streamSession) OnClose(err error)       { s.closed <- err }
func (s *streamSession) OnTimer(now int64) {
	if s.timer != nil {
		s.timer(s.t, now)
	}
}
func (s *streamSession) OnWake() {
	s.wakesMu.Lock()
	s.wakes = append(s.wakes, s.t.Buffered())
	s.wakesMu.Unlock()
	if s.wake != nil {
		s.wake(s.t)
	}
}

func (s *streamSession) wakesSeen() []int {
	s.wakesMu.Lock()
	defer s.wakesMu.Unlock()
	return append([]int(nil), s.wakes...)
}

// streamPair runs the server end of a loopback TCP connection as a stream with s and returns the
// client end, which reads nothing unless the test does. The goroutines it leaves must be gone
// when the test ends.
func streamPair(t *testing.T, s *streamSession) net.Conn {
	t.Helper()
	gor := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		peer.Close()
		deadline := time.Now().Add(waitLimit)
		for runtime.NumGoroutine() > gor {
			if time.Now().After(deadline) {
				t.Errorf("goroutines %d, was %d: a reader or writer outlived its connection", runtime.NumGoroutine(), gor)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	new(Poller).stream(context.Background(), nc, s, 0, nil)
	return peer
}

// bigOutput is more than the kernel's socket buffers hold, so that a peer that reads nothing
// leaves most of it with the writer.
var bigOutput = bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB

// await waits for ch, bounded.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", what, waitLimit)
		panic("unreachable")
	}
}

// Writev to a peer that reads nothing returns at once with the output buffered, and a write that
// cannot finish within writeTimeout closes the connection with its error.
func TestStuckStreamWriteTimesOut(t *testing.T) {
	defer func(d time.Duration) { writeTimeout = d }(writeTimeout)
	writeTimeout = 300 * time.Millisecond
	s := newStreamSession()
	var took time.Duration
	var buffered int
	s.open = func(tr Transport) {
		start := time.Now()
		if err := tr.Writev([][]byte{bigOutput[:1<<20], bigOutput[1<<20:]}); err != nil {
			t.Errorf("Writev: %v", err)
		}
		took, buffered = time.Since(start), tr.Buffered()
	}
	streamPair(t, s)
	await(t, s.opened, "OnOpen: Writev blocks")
	start := time.Now()
	if took > time.Second {
		t.Errorf("Writev of 32 MiB took %v with the connection's lock held", took)
	}
	if buffered <= len(bigOutput)/2 || buffered > len(bigOutput) {
		t.Errorf("Buffered = %d right after Writev of %d to a peer that reads nothing", buffered, len(bigOutput))
	}
	err := await(t, s.closed, "close after the write deadline")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("OnClose(%v), want the write's deadline error", err)
	}
	if d := time.Since(start); d > writeTimeout+time.Second {
		t.Fatalf("closed %v after the write began, want within %v", d, writeTimeout+time.Second)
	}
}

// CloseSocket interrupts a writer blocked on a peer that reads nothing: OnClose runs at once,
// once, and the writer goroutine ends with the connection.
func TestStuckStreamCloseSocketInterruptsWriter(t *testing.T) {
	s := newStreamSession()
	s.open = func(tr Transport) { _ = tr.Writev([][]byte{bigOutput}) }
	s.wake = func(tr Transport) { tr.CloseSocket() }
	streamPair(t, s)
	await(t, s.opened, "OnOpen: Writev blocks")
	time.Sleep(50 * time.Millisecond) // the writer is blocked in its write by now
	start := time.Now()
	s.t.Wake()
	if err := await(t, s.closed, "close"); err != nil {
		t.Fatalf("OnClose(%v) after CloseSocket, want nil", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("CloseSocket took %v to close a connection with a blocked writer", d)
	}
	select {
	case err := <-s.closed:
		t.Fatalf("OnClose ran twice (second: %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
}

// Once the writer has written everything it runs OnWake with nothing buffered, so that what waits
// on the drain goes on; a CloseWrite queued behind the output ends the stream after its last
// byte; and the writer does not outlive its output.
func TestSlowStreamDrainWakesAndHalfClosesAfterTheData(t *testing.T) {
	s := newStreamSession()
	want := bigOutput[:4<<20]
	s.open = func(tr Transport) {
		_ = tr.Writev([][]byte{want[:100], want[100:]})
		tr.CloseWrite()
	}
	peer := streamPair(t, s)
	await(t, s.opened, "OnOpen: Writev blocks")
	time.Sleep(100 * time.Millisecond) // a slow reader: the writer waits on the kernel meanwhile
	if w := s.wakesSeen(); len(w) != 0 {
		t.Fatalf("OnWake ran (buffered %v) before the peer read anything", w)
	}
	peer.SetReadDeadline(time.Now().Add(waitLimit))
	got, err := io.ReadAll(peer)
	if err != nil {
		t.Fatalf("reading to the half-close: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("peer read %d bytes before the end, want exactly the %d written", len(got), len(want))
	}
	deadline := time.Now().Add(waitLimit)
	for len(s.wakesSeen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if w := s.wakesSeen(); len(w) != 1 || w[0] != 0 {
		t.Fatalf("OnWake saw Buffered %v, want once, at 0", w)
	}
	st := s.t.(*stream)
	st.mu.Lock()
	writing := st.writing
	st.mu.Unlock()
	if writing {
		t.Fatal("the writer still runs with nothing to write")
	}
	peer.Close()
	if err := await(t, s.closed, "close after the peer's end"); err != io.EOF {
		t.Fatalf("OnClose(%v) after the peer's end, want EOF", err)
	}
}
