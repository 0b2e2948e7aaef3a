//go:build !wsloop_nolinkname

// The descriptor path exists only with gnet's internals linked; make test also runs this package
// with -tags wsloop_nolinkname, where every socket takes the Enroll path.

package poller

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawSession records what a test needs of an accepted connection: the net.Conn its session was
// made from, its transport and descriptor once open (read on the loop: gnet's fields are the
// loop's), the bytes it read, and its close.
type rawSession struct {
	nc     net.Conn
	opened chan opened
	read   chan []byte
	closed chan error
}

// opened is a transport as OnOpen saw it.
type opened struct {
	t  Transport
	fd int
}

func newRawSession() *rawSession {
	return &rawSession{opened: make(chan opened, 1), read: make(chan []byte, 16), closed: make(chan error, 1)}
}

func (s *rawSession) OnOpen(t Transport, _ int64) {
	o := opened{t: t, fd: -1}
	if c, ok := t.(*gnetConn); ok {
		o.fd = c.gc.Fd()
	}
	s.opened <- o
}
func (s *rawSession) OnTraffic(in []byte) int {
	s.read <- append([]byte(nil), in...)
	return len(in)
}
func (s *rawSession) OnWake()           {}
func (s *rawSession) OnTimer(int64)     {}
func (s *rawSession) OnClose(err error) { s.closed <- err }

// rawServe serves ln on p with a rawSession per connection, sent to the returned channel with
// the net.Conn its session was made from. The listener is closed at the end of the test.
func rawServe(t *testing.T, p *Poller, ln net.Listener, o ServeOptions) (*Listener, chan *rawSession) {
	t.Helper()
	sessions := make(chan *rawSession, 64)
	l := p.listener(ln, func(nc net.Conn) Session {
		s := newRawSession()
		s.nc = nc
		sessions <- s
		return s
	}, o)
	if l.raw == nil {
		t.Fatal("a plain TCP listener takes the Accept path: the descriptor path is off")
	}
	go l.run()
	t.Cleanup(func() { l.Close() })
	return l, sessions
}

func awaitValue[T any](t *testing.T, ch chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: nothing within 5 s", what)
		var zero T
		return zero
	}
}

func sockopt(t *testing.T, fd, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A socket accepted on the descriptor path opens on one of the poller's loops with the addresses
// a Go Accept would give (the peer's, the listener's), the options Go sets on an accepted
// socket (TCP_NODELAY, keep-alive 15 s / 15 s / 9), and reads what the peer sends.
func TestAcceptedDescriptorOpensOnLoop(t *testing.T) {
	p := testPoller(t, 2)
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("no %s here: %v", addr, err)
			}
			acceptedOpensOnLoop(t, p, ln)
		})
	}
}

func acceptedOpensOnLoop(t *testing.T, p *Poller, ln net.Listener) {
	_, sessions := rawServe(t, p, ln, ServeOptions{})
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := awaitValue(t, sessions, "a session")
	o := awaitValue(t, s.opened, "OnOpen")
	c, ok := o.t.(*gnetConn)
	if !ok || (c.loop != p.all()[0] && c.loop != p.all()[1]) {
		t.Fatalf("opened on %T, not on one of the poller's loops", o.t)
	}
	// The addresses the layer above keeps are the session's net.Conn's.
	if got, want := s.nc.RemoteAddr().String(), d.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr %s, want the dialer's %s", got, want)
	}
	if _, ok := s.nc.RemoteAddr().(*net.TCPAddr); !ok {
		t.Errorf("RemoteAddr is a %T, want a *net.TCPAddr", s.nc.RemoteAddr())
	}
	if got, want := s.nc.LocalAddr().String(), ln.Addr().String(); got != want {
		t.Errorf("LocalAddr %s, want the listener's %s", got, want)
	}
	fd := o.fd
	for _, o := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
		{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15},
		{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15},
		{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9},
	} {
		if got := sockopt(t, fd, o.level, o.opt); got != o.want {
			t.Errorf("%s = %d on the accepted socket, want %d", o.name, got, o.want)
		}
	}
	if _, err := d.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got := awaitValue(t, s.read, "OnTraffic"); string(got) != "ping" {
		t.Fatalf("read %q, want %q", got, "ping")
	}
}

// The accepted socket's keep-alive is the ListenConfig's, as a Go Accept would set it: off for a
// negative KeepAlive, and a KeepAliveConfig as given.
func TestAcceptedDescriptorKeepsListenConfigKeepAlive(t *testing.T) {
	p := testPoller(t, 1)
	for _, tc := range []struct {
		name                  string
		lc                    net.ListenConfig
		on, idle, intvl, cnts int
	}{
		{name: "off", lc: net.ListenConfig{KeepAlive: -1}},
		{name: "config", lc: net.ListenConfig{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}},
			on: 1, idle: 30, intvl: 5, cnts: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := tc.lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			_, sessions := rawServe(t, p, ln, ServeOptions{})
			d, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			fd := awaitValue(t, awaitValue(t, sessions, "a session").opened, "OnOpen").fd
			if got := sockopt(t, fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE); got != tc.on {
				t.Fatalf("SO_KEEPALIVE = %d, want %d", got, tc.on)
			}
			if tc.on == 0 {
				return
			}
			got := [3]int{sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE), sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL), sockopt(t, fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT)}
			if want := [3]int{tc.idle, tc.intvl, tc.cnts}; got != want {
				t.Fatalf("idle, interval, count = %v, want %v", got, want)
			}
		})
	}
}

// Close stops accepting on the descriptor path too: a new dial is refused once it returns, and
// the connections accepted before stay open and keep reading.
func TestCloseStopsAcceptingDescriptors(t *testing.T) {
	p := testPoller(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, sessions := rawServe(t, p, ln, ServeOptions{})
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := awaitValue(t, sessions, "a session")
	awaitValue(t, s.opened, "OnOpen")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if nc, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if nc != nil {
			nc.Close()
		}
		t.Fatalf("dial after Close: %v, want connection refused", err)
	}
	if _, err := d.Write([]byte("still")); err != nil {
		t.Fatal(err)
	}
	if got := awaitValue(t, s.read, "OnTraffic after Close"); string(got) != "still" {
		t.Fatalf("read %q after Close, want %q", got, "still")
	}
	select {
	case err := <-s.closed:
		t.Fatalf("the open connection closed with the listener: %v", err)
	default:
	}
}

// Past the connection cap, a socket accepted on the descriptor path is closed at once and
// reported as ErrConnCap with no pause; no session is made.
func TestConnCapOnDescriptorPath(t *testing.T) {
	p := testPoller(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	onErr, reports := recordAccepts()
	l := p.listener(ln, func(net.Conn) Session {
		t.Error("a session was made past the cap")
		return newRawSession()
	}, ServeOptions{OnAcceptError: onErr})
	if l.raw == nil {
		t.Fatal("the descriptor path is off")
	}
	l.maxConn = 0
	go l.run()
	defer l.Close()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if r := nextReport(t, reports); r.err != ErrConnCap || r.backoff != 0 {
		t.Fatalf("report (%v, %v), want (ErrConnCap, 0)", r.err, r.backoff)
	}
	d.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from the refused connection: %v, want its end", err)
	}
}

// accept4 failing with EMFILE (the descriptor limit reached) is reported with the backoff and
// retried: once descriptors are free again, the waiting connection is accepted and opens.
func TestEMFILEOnDescriptorPathBacksOff(t *testing.T) {
	p := testPoller(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	onErr, reports := recordAccepts()
	_, sessions := rawServe(t, p, ln, ServeOptions{OnAcceptError: onErr})
	// The client's socket is made first, then the limit is set to what is open, so the
	// connect needs no descriptor and the server's accept4 finds none.
	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	// A new descriptor takes the lowest free number, which must be below the limit: a limit at
	// that number makes the next one fail, whatever holes earlier tests left below the highest.
	lowest, err := unix.Dup(cfd)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(lowest)
	var once sync.Once
	restore := func() {
		once.Do(func() {
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
				t.Errorf("restoring RLIMIT_NOFILE: %v", err)
			}
		})
	}
	defer restore() // also when the test fails before it is restored below
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(lowest), Max: orig.Max}); err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	sa := &unix.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	cerr := unix.Connect(cfd, sa)
	r := nextReport(t, reports)
	restore()
	if cerr != nil {
		t.Fatal(cerr)
	}
	if !errors.Is(r.err, syscall.EMFILE) || r.backoff != 5*time.Millisecond {
		t.Fatalf("report (%v, %v), want (EMFILE, 5ms)", r.err, r.backoff)
	}
	awaitValue(t, awaitValue(t, sessions, "a session after the limit was raised").opened, "OnOpen")
}

// stallingSession blocks its loop in OnOpen until hold is sent to or closed, 10 s at most.
type stallingSession struct {
	*rawSession
	hold chan struct{}
}

func (s *stallingSession) OnOpen(t Transport, now int64) {
	s.rawSession.OnOpen(t, now)
	select {
	case <-s.hold:
	case <-time.After(10 * time.Second):
	}
}

// A burst of sockets queued on a loop that is busy (its OnOpen blocks) opens in order once the
// loop turns, and the queue keeps no room for the burst afterwards: at most arrivalsKept.
func TestArrivalBurstLeavesNoQueue(t *testing.T) {
	const n = 2 * arrivalsKept
	p := testPoller(t, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	staller := &stallingSession{rawSession: newRawSession(), hold: hold}
	bursts := &openSession{opened: make(chan opening, n)}
	made := 0
	l := p.listener(ln, func(net.Conn) Session {
		made++ // the accept goroutine's only
		if made == 1 {
			return staller
		}
		return bursts
	}, ServeOptions{})
	go l.run()
	defer l.Close()
	dial := func() {
		d, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
	}
	dial()
	awaitValue(t, staller.opened, "the staller's OnOpen")
	defer close(hold)
	for range n {
		dial()
	}
	lp := p.all()[0]
	deadline := time.Now().Add(5 * time.Second)
	for lp.enrolling.Load() != n+1 { // the staller's, opening, and the burst's, queued
		if time.Now().After(deadline) {
			t.Fatalf("%d sockets in flight on the busy loop, want %d", lp.enrolling.Load(), n+1)
		}
		time.Sleep(time.Millisecond)
	}
	hold <- struct{}{}
	for range n {
		awaitValue(t, bursts.opened, "an OnOpen of the burst")
	}
	deadline = time.Now().Add(5 * time.Second)
	for lp.enrolling.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the burst's count of sockets in flight did not return to 0")
		}
		time.Sleep(time.Millisecond)
	}
	lp.in.mu.Lock()
	kept := cap(lp.in.queued) + cap(lp.in.spare)
	lp.in.mu.Unlock()
	if kept > arrivalsKept {
		t.Fatalf("the loop's queue keeps room for %d sockets after the burst, want at most %d", kept, arrivalsKept)
	}
}

// gnet is never given an address with a zone (its release would put the zone's bytes in its
// pool); one without is passed as it is.
func TestZonelessForGnet(t *testing.T) {
	zoned := &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "eth0"}
	got, ok := zoneless(zoned).(*net.TCPAddr)
	if !ok || got == zoned || got.Zone != "" || !got.IP.Equal(zoned.IP) || got.Port != 80 || zoned.Zone != "eth0" {
		t.Fatalf("zoneless(%v) = %v: want a copy without the zone, the original untouched", zoned, got)
	}
	plain := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	if zoneless(plain) != net.Addr(plain) {
		t.Fatal("an address without a zone was copied")
	}
}

// On a listener bound to every address, each socket's local address is the one it was dialed
// at (getsockname), and sockets dialed at the same one share it.
func TestWildcardListenerLocalAddr(t *testing.T) {
	p := testPoller(t, 1)
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	_, sessions := rawServe(t, p, ln, ServeOptions{})
	at := net.JoinHostPort("127.0.0.1", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	var locals []net.Addr
	for range 2 {
		d, err := net.Dial("tcp", at)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		s := awaitValue(t, sessions, "a session")
		awaitValue(t, s.opened, "OnOpen")
		if got := s.nc.LocalAddr().String(); got != at {
			t.Fatalf("LocalAddr %s, want %s (where it was dialed)", got, at)
		}
		locals = append(locals, s.nc.LocalAddr())
	}
	if locals[0] != locals[1] {
		t.Fatal("two sockets with one local address got an address each")
	}
}

// A queued descriptor the loop cannot watch (here /dev/null, which epoll refuses) ends its
// session once, with the error and without OnOpen, and leaves nothing in flight.
func TestArrivalNotWatchedEndsSession(t *testing.T) {
	p := testPoller(t, 1)
	fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newRawSession()
	fc := &fdConn{}
	fc.session = s
	lp := p.all()[0]
	lp.enrolling.Add(1)
	if !lp.arrive(arrival{fd: fd, c: fc}) {
		t.Fatal("the first arrival on an idle loop did not ask for the loop's task")
	}
	lp.flushArrivals()
	if err := awaitValue(t, s.closed, "OnClose"); err == nil {
		t.Fatal("OnClose(nil) for a descriptor the loop could not watch")
	}
	select {
	case <-s.opened:
		t.Fatal("OnOpen ran for a descriptor the loop could not watch")
	case err := <-s.closed:
		t.Fatalf("OnClose ran twice (second: %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if n := lp.enrolling.Load(); n != 0 {
		t.Fatalf("%d sockets still in flight", n)
	}
}
