package poller

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// openSession reports on opened the loop it opened on and when; its OnOpen blocks until hold is
// closed (at most holdMax) when hold is set.
type openSession struct {
	opened chan opening
	hold   chan struct{}
	closes atomic.Int32
	err    chan error
}

type opening struct {
	loop *Loop
	at   time.Time
}

const holdMax = 2 * time.Second

func (s *openSession) OnOpen(t Transport, _ int64) {
	s.opened <- opening{t.(*gnetConn).loop, time.Now()}
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-time.After(holdMax):
		}
	}
}
func (s *openSession) OnTraffic(in []byte) int { return len(in) }
func (s *openSession) OnWake()                 {}
func (s *openSession) OnTimer(int64)           {}
func (s *openSession) OnClose(err error) {
	s.closes.Add(1)
	if s.err != nil {
		s.err <- err
	}
}

// testPoller starts a poller of n loops, stopped at the end of the test.
func testPoller(t *testing.T, n int) *Poller {
	t.Helper()
	p, err := start(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if got := len(p.all()); got != n {
		t.Fatalf("%d loops, want %d", got, n)
	}
	if p.Live() != 0 {
		t.Fatalf("Live() = %d after start: the probes were not all closed", p.Live())
	}
	return p
}

// tcpPair returns the accepted end of a new loopback TCP connection; the dialed end is closed
// at the end of the test.
func tcpPair(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	a, _ := tcpPeers(t, ln)
	return a
}

// tcpPeers returns both ends of a new loopback TCP connection: the accepted one and the dialed
// one, which is closed at the end of the test.
func tcpPeers(t *testing.T, ln net.Listener) (accepted, dialed net.Conn) {
	t.Helper()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return a, d
}

func TestEnrollAvoidsStalledLoop(t *testing.T) {
	p := testPoller(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// Stall one loop: the first connection's OnOpen blocks it.
	hold := make(chan struct{})
	defer close(hold)
	staller := &openSession{opened: make(chan opening, 1), hold: hold}
	p.enroll(tcpPair(t, ln), staller)
	var stalled *Loop
	select {
	case o := <-staller.opened:
		stalled = o.loop
	case <-time.After(time.Second):
		t.Fatal("the first connection did not open")
	}
	// Its heartbeat goes stale within stallAfter plus a tick.
	deadline := time.Now().Add(stallAfter + 3*Tick)
	for !stalled.stalled(nowNano()) {
		if time.Now().After(deadline) {
			t.Fatalf("the blocked loop is not seen as stalled after %v", stallAfter+3*Tick)
		}
		time.Sleep(Tick / 10)
	}

	const n = 20
	const within = 200 * time.Millisecond
	s := &openSession{opened: make(chan opening, n)}
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = tcpPair(t, ln)
	}
	start := time.Now()
	for _, nc := range conns {
		p.enroll(nc, s)
	}
	if d := time.Since(start); d > within {
		t.Fatalf("enrolling %d connections took %v: enroll waited", n, d)
	}
	for i := range n {
		select {
		case o := <-s.opened:
			if o.loop == stalled {
				t.Fatalf("connection %d opened on the stalled loop", i)
			}
			if d := o.at.Sub(start); d > within {
				t.Fatalf("connection %d opened %v after enroll, want within %v", i, d, within)
			}
		case <-time.After(within):
			t.Fatalf("%d of %d connections opened within %v", i, n, within)
		}
	}
	if got := stalled.conns.Load(); got != 1 {
		t.Fatalf("the stalled loop holds %d connections, want only the staller", got)
	}
}

func TestPickLeastLoadedLiveLoop(t *testing.T) {
	now := nowNano()
	loop := func(beatAgo time.Duration, conns int64) *Loop {
		l := &Loop{}
		l.beat.Store(now - int64(beatAgo))
		l.conns.Store(conns)
		return l
	}
	busy, idleStalled, light := loop(0, 5), loop(stallAfter+1, 0), loop(Tick, 2)
	p := &Poller{list: []*Loop{busy, idleStalled, light}}
	if got := p.pick(now); got != light {
		t.Fatal("pick did not choose the least loaded live loop")
	}
	light.enrolling.Store(4) // pending enrollments count as load
	if got := p.pick(now); got != busy {
		t.Fatal("pick ignored the enrollments in flight")
	}
	// Every loop stalled: the one that turned last, whatever its load.
	older, newer := loop(2*stallAfter, 0), loop(stallAfter+Tick, 9)
	p = &Poller{list: []*Loop{older, newer}}
	if got := p.pick(now); got != newer {
		t.Fatal("with every loop stalled, pick did not choose the freshest heartbeat")
	}
}

func TestEnrollFailureClosesSessionOnce(t *testing.T) {
	p := testPoller(t, 2)
	a, b := net.Pipe() // not a socket: gnet refuses it
	defer b.Close()
	s := &openSession{opened: make(chan opening, 1), err: make(chan error, 2)}
	p.enroll(a, s)
	select {
	case err := <-s.err:
		if err == nil {
			t.Fatal("OnClose(nil) for a failed enrollment")
		}
	case <-time.After(time.Second):
		t.Fatal("a failed enrollment did not reach OnClose")
	}
	deadline := time.Now().Add(time.Second)
	for p.enrolling() != 0 { // the enrollment goroutine has ended
		if time.Now().After(deadline) {
			t.Fatal("the enrollment is still in flight")
		}
		time.Sleep(time.Millisecond)
	}
	if n := s.closes.Load(); n != 1 {
		t.Fatalf("OnClose ran %d times", n)
	}
	if len(s.opened) != 0 {
		t.Fatal("OnOpen ran for a failed enrollment")
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal("the refused connection was left open")
	}
}
