package poller

import (
	"errors"
	"net"
	"os"
	"reflect"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Listener serving plain TCP on a *net.TCPListener accepts with accept4 on the listening
// descriptor itself, in batches, whenever Go's poller reports it readable, and opens each socket
// on a loop without a net.Conn (see gnetfd.go): no netFD, no dup, no address formatted and parsed
// back, and one task per loop for a batch. What Go's Accept does per connection and that we
// keep is done once, on the listening socket, which accepted sockets inherit on Linux:
// TCP_NODELAY, and TCP keep-alive as the listener's ListenConfig asks (Go's default otherwise).
// Every other listener (TLS, a net.Listener of another kind, a gnet other than the one linked)
// takes the Accept and Open path (Listener.run).

// acceptBatch is the most sockets accepted in a row before they are handed to the loops.
const acceptBatch = 64

// rawAccept is the accept loop's state on a *net.TCPListener (the accept goroutine's only, but
// for f, which Listener.Close closes).
type rawAccept struct {
	f      *os.File // a duplicate of the listening descriptor: Go's poller waits on it for the loop
	rc     syscall.RawConn
	rsa    unix.RawSockaddrAny
	local  *net.TCPAddr    // the listener's address when it is not a wildcard: every socket's local address
	locals []*net.TCPAddr  // the local addresses seen, when the listener is bound to a wildcard
	flush  []*Loop         // loops that were queued sockets in this batch and need their task
	early  [earlyRead]byte // what a socket had received when it was accepted (early.go)
}

// rawListener returns the accept loop's state when l can accept with accept4, nil when it takes
// the Accept path. It sets the options accepted sockets inherit on the listening socket. A
// listener's RawConn cannot wait for it to be readable (its Read fails), so the loop waits on a
// duplicate of the descriptor, an *os.File, which Go's poller watches like any non-blocking file.
func (l *Listener) rawListener() *rawAccept {
	tl, ok := l.ln.(*net.TCPListener)
	if !ok || l.tls != nil || len(l.p.all()) == 0 {
		return nil
	}
	for _, lp := range l.p.all() {
		if lp.elp == nil {
			return nil
		}
	}
	lrc, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	fd, serr := -1, error(nil)
	if err := lrc.Control(func(lfd uintptr) {
		if serr = inheritable(int(lfd), keepAliveOf(tl)); serr == nil {
			fd, serr = unix.FcntlInt(lfd, unix.F_DUPFD_CLOEXEC, 0)
		}
	}); err != nil || serr != nil {
		return nil
	}
	// The duplicate shares the listener's open file, non-blocking (Go made it so): os.NewFile
	// then has Go's poller watch it.
	f := os.NewFile(uintptr(fd), "listener")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	ra := &rawAccept{f: f, rc: rc}
	if a, ok := tl.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
		ra.local = &net.TCPAddr{IP: a.IP, Port: a.Port, Zone: a.Zone}
	}
	return ra
}

// errWouldBlock ends a batch that drained the listen queue.
var errWouldBlock = errors.New("poller: accept would block")

// runRaw is Listener.run on a *net.TCPListener: the same backoff, cap and reports.
func (l *Listener) runRaw(ra *rawAccept) {
	var pause time.Duration
	for {
		var aerr error
		err := ra.rc.Read(func(fd uintptr) bool {
			aerr = l.acceptSome(ra, int(fd))
			return aerr != errWouldBlock
		})
		switch {
		case err != nil: // closed
			return
		case aerr == nil: // a full batch: there may be more
			pause = 0
		default:
			pause = backoff(pause)
			l.acceptFailed(&net.OpError{Op: "accept", Net: "tcp", Addr: l.ln.Addr(), Err: aerr}, pause)
			time.Sleep(pause)
		}
	}
}

// acceptSome accepts up to acceptBatch sockets from the listening socket fd and hands them to
// the loops. It returns nil after a full batch, errWouldBlock once the queue is drained, or the
// error of a failed accept (EMFILE...).
func (l *Listener) acceptSome(ra *rawAccept, fd int) (err error) {
	defer ra.sendTasks()
	for range acceptBatch {
		nfd, err := ra.accept4(fd)
		switch err {
		case nil:
		case unix.EAGAIN:
			return errWouldBlock
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			return err
		}
		if l.atCap() {
			closeFD(nfd)
			l.acceptFailed(ErrConnCap, 0)
			continue
		}
		l.hand(ra, nfd)
	}
	return nil
}

// accept4 accepts one socket, non-blocking and close-on-exec, its peer's address in ra.rsa.
func (ra *rawAccept) accept4(fd int) (int, error) {
	n := uint32(unix.SizeofSockaddrAny)
	nfd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&ra.rsa)),
		uintptr(unsafe.Pointer(&n)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(nfd), nil
}

// fdConn is the transport of an accepted socket with its addresses, in one allocation. The
// transport comes last, so that in a Slot it sits just before the session's own fields.
type fdConn struct {
	local  net.Addr
	remote net.TCPAddr
	ip     [16]byte
	socket socketWriter // the socket, for an EarlySession's answer on the accept goroutine
	gnetConn
}

// hand makes the session of nfd, just accepted, and queues it on the loop enroll would choose.
func (l *Listener) hand(ra *rawAccept, nfd int) {
	fc := l.newFD()
	fc.remote.IP, fc.remote.Port, fc.remote.Zone = sockaddrIP(&ra.rsa, &fc.ip)
	fc.local = ra.localOf(nfd)
	fc.session = l.accept(accepted{fc})
	if es, ok := fc.session.(EarlySession); ok && l.deferAccept && es.AnswersOnAccept() {
		ra.offerEarly(fc, es, nfd)
	}
	lp := l.p.pick(nowNano())
	lp.enrolling.Add(1)
	if lp.arrive(arrival{fd: nfd, c: fc}) {
		ra.flush = append(ra.flush, lp)
	}
}

// sendTasks sends each loop queued sockets in the batch its task.
func (ra *rawAccept) sendTasks() {
	for i, lp := range ra.flush {
		lp.flushArrivals()
		ra.flush[i] = nil
	}
	ra.flush = ra.flush[:0]
}

// localsKept is the most distinct local addresses a wildcard listener keeps to share among its
// sockets; past it each socket gets its own.
const localsKept = 16

// localOf returns the local address of nfd: the listener's, or the one getsockname gives, shared
// with the sockets before it that had the same.
func (ra *rawAccept) localOf(nfd int) net.Addr {
	if ra.local != nil {
		return ra.local
	}
	var rsa unix.RawSockaddrAny
	n := uint32(unix.SizeofSockaddrAny)
	if _, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(nfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n))); e != 0 {
		return &net.TCPAddr{}
	}
	var ip [16]byte
	a, port, zone := sockaddrIP(&rsa, &ip)
	for _, l := range ra.locals {
		if l.Port == port && l.IP.Equal(a) && l.Zone == zone {
			return l
		}
	}
	addr := &net.TCPAddr{IP: append(net.IP(nil), a...), Port: port, Zone: zone}
	if len(ra.locals) < localsKept {
		ra.locals = append(ra.locals, addr)
	}
	return addr
}

// sockaddrIP returns the IP (in buf), port and zone of an IPv4 or IPv6 socket address; nil for
// another family.
func sockaddrIP(rsa *unix.RawSockaddrAny, buf *[16]byte) (net.IP, int, string) {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		copy(buf[:4], sa.Addr[:])
		return buf[:4], netPort(sa.Port), ""
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		copy(buf[:], sa.Addr[:])
		zone := ""
		if sa.Scope_id != 0 {
			zone = strconv.Itoa(int(sa.Scope_id))
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				zone = ifi.Name
			}
		}
		return buf[:], netPort(sa.Port), zone
	}
	return nil, 0, ""
}

// netPort reads a port in network byte order.
func netPort(p uint16) int {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return int(b[0])<<8 | int(b[1])
}

func closeFD(fd int) { _ = unix.Close(fd) }

// accepted is the net.Conn that the session of a socket accepted with accept4 is made from
// (ServeOptions' newSession): it has the socket's addresses and nothing else, since the socket
// goes to a loop, which owns it. Read and Write fail; Close does nothing (the session's own close
// closes the socket). It is one pointer, so making it a net.Conn allocates nothing.
type accepted struct{ c *fdConn }

var errAccepted = errors.New("poller: an accepted socket is read and written on its loop")

func (a accepted) Read([]byte) (int, error)         { return 0, errAccepted }
func (a accepted) Write([]byte) (int, error)        { return 0, errAccepted }
func (a accepted) Close() error                     { return nil }
func (a accepted) LocalAddr() net.Addr              { return a.c.local }
func (a accepted) RemoteAddr() net.Addr             { return &a.c.remote }
func (a accepted) SetDeadline(time.Time) error      { return nil }
func (a accepted) SetReadDeadline(time.Time) error  { return nil }
func (a accepted) SetWriteDeadline(time.Time) error { return nil }

// keepAliveOf returns the TCP keep-alive a Go Accept on tl would set on each socket (newTCPConn):
// its ListenConfig's, read from the listener (net keeps it unexported), or Go's default (enabled,
// 15 s idle and interval, 9 probes) when it cannot be read.
func keepAliveOf(tl *net.TCPListener) net.KeepAliveConfig {
	cfg := net.KeepAliveConfig{Enable: true}
	lc := reflect.ValueOf(tl).Elem().FieldByName("lc")
	if lc.Kind() != reflect.Struct {
		return cfg
	}
	ka, kc := lc.FieldByName("KeepAlive"), lc.FieldByName("KeepAliveConfig")
	if ka.Kind() != reflect.Int64 || kc.Kind() != reflect.Struct {
		return cfg
	}
	enable, idle, intvl, count := kc.FieldByName("Enable"), kc.FieldByName("Idle"), kc.FieldByName("Interval"), kc.FieldByName("Count")
	if enable.Kind() != reflect.Bool || idle.Kind() != reflect.Int64 || intvl.Kind() != reflect.Int64 || count.Kind() != reflect.Int {
		return cfg
	}
	cfg = net.KeepAliveConfig{Enable: enable.Bool(), Idle: time.Duration(idle.Int()),
		Interval: time.Duration(intvl.Int()), Count: int(count.Int())}
	if d := time.Duration(ka.Int()); !cfg.Enable && d >= 0 {
		cfg = net.KeepAliveConfig{Enable: true, Idle: d}
	}
	return cfg
}

// inheritable sets on the listening socket fd what its accepted sockets inherit: TCP_NODELAY
// (Go's default for a TCP connection) and keep-alive as ka says, with Go's defaults for zero
// values and negative values left alone (net.TCPConn.SetKeepAliveConfig).
func inheritable(fd int, ka net.KeepAliveConfig) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return err
	}
	if !ka.Enable {
		return nil
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		return err
	}
	secs := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	for _, o := range []struct {
		opt int
		v   int
	}{
		{unix.TCP_KEEPIDLE, defaulted(secs(ka.Idle), 15)},
		{unix.TCP_KEEPINTVL, defaulted(secs(ka.Interval), 15)},
		{unix.TCP_KEEPCNT, defaulted(ka.Count, 9)},
	} {
		if o.v < 0 {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, o.opt, o.v); err != nil {
			return err
		}
	}
	return nil
}

// defaulted is v, or def when v is 0.
func defaulted(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
