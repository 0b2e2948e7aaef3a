package poller

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// fdReserve is how many file descriptors the connection cap leaves free for files, DNS and
// dialing. (A connection being enrolled holds two for a moment, and the cap counts both.)
const fdReserve = 64

// Listener runs an accept loop that opens every accepted connection on a Poller (see Open).
type Listener struct {
	ln      net.Listener
	p       *Poller
	accept  func(net.Conn) Session
	tls     *tls.Config   // nil: plain TCP
	tlsTime time.Duration // bounds a TLS handshake
	maxConn int64
	done    chan struct{}
	once    sync.Once

	tlsError    func(error) // hears of each failed TLS handshake; nil for none
	tlsFailures atomic.Int64

	acceptError func(error, time.Duration) // hears of each failed or refused accept; nil for none

	raw         *rawAccept   // accepting with accept4 (rawaccept.go); nil: with ln.Accept
	deferAccept bool         // ServeOptions.DeferAccept
	newSlot     func() *Slot // ServeOptions.NewSlot
}

// ErrConnCap is what ServeOptions.OnAcceptError hears of a connection accepted past the
// connection cap (the process's descriptor limit less a reserve), which was closed at once.
var ErrConnCap = errors.New("poller: connection closed at once: the process is at its connection cap (descriptor limit less the reserve)")

// TLSHandshakeError is a failed TLS handshake of a connection a Listener accepted.
type TLSHandshakeError struct {
	Remote net.Addr // the client's address
	Err    error    // what crypto/tls reported: a bad record, an alert, a timeout, an early end
}

// Error says which client's handshake failed, and how.
func (e *TLSHandshakeError) Error() string {
	return "tls: handshake with " + e.Remote.String() + " failed: " + e.Err.Error()
}

// Unwrap returns the handshake's error.
func (e *TLSHandshakeError) Unwrap() error { return e.Err }

// ServeOptions are how a Listener serves: the zero value serves plain TCP.
type ServeOptions struct {
	// TLS, when not nil, serves TLS: each accepted connection is wrapped in crypto/tls with it.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake; 0 for no limit.
	HandshakeTimeout time.Duration
	// OnTLSError, when not nil, hears of each failed TLS handshake as a *TLSHandshakeError, on
	// the connection's goroutine. One ended by closing the socket on our side (Shutdown ends the
	// handshakes in progress) is not a failure; every other is also counted
	// (TLSHandshakeFailures).
	OnTLSError func(error)
	// OnAcceptError, when not nil, hears on the accept goroutine of each failed accept (EMFILE,
	// ENFILE, ECONNABORTED...) with the pause before the next attempt, and of each connection
	// closed at once past the connection cap, as ErrConnCap with no pause. It must not block: the
	// accept loop waits for it.
	OnAcceptError func(err error, backoff time.Duration)
	// DeferAccept, on a plain *net.TCPListener, has the kernel hand a connection to the accept
	// loop only once its first bytes have come (TCP_DEFER_ACCEPT), so that the accept loop finds
	// them there and gives them to an EarlySession. A peer silent from the start is handed over
	// after one retransmission of the SYN-ACK, about a second; until then the server does not know
	// of it (it is not counted, and closing the listener leaves it to the kernel, which drops it
	// without a word to the peer). Other listeners ignore it. The bytes go to an EarlySession
	// only where the listener accepts with accept4 (rawaccept.go); built with
	// wsloop_nolinkname, the kernel still defers and the loop reads them.
	DeferAccept bool
	// NewSlot, when not nil, makes the Slot of each socket accepted with accept4 (rawaccept.go),
	// inside the object its session will be: the session factory then finds it with SlotOf.
	NewSlot func() *Slot
}

// Serve starts an accept loop on ln. For each accepted connection it calls newSession (on the
// accept goroutine) and opens the connection with that session (see Open, which chooses its
// transport, for a failure), never waiting for a loop. Temporary accept errors such as EMFILE are
// retried with a growing pause; past the connection cap (the process's descriptor limit less a
// reserve) a new connection is closed at once. The loop ends when ln is closed.
func (p *Poller) Serve(ln net.Listener, newSession func(net.Conn) Session, o ServeOptions) *Listener {
	l := p.listener(ln, newSession, o)
	go l.run()
	return l
}

// listener returns the Listener Serve runs, not started yet.
func (p *Poller) listener(ln net.Listener, newSession func(net.Conn) Session, o ServeOptions) *Listener {
	l := &Listener{ln: ln, p: p, accept: newSession, tls: o.TLS, tlsTime: o.HandshakeTimeout,
		maxConn: connCap(), done: make(chan struct{}), tlsError: o.OnTLSError, acceptError: o.OnAcceptError,
		deferAccept: o.DeferAccept && o.TLS == nil && deferAccepting(ln), newSlot: o.NewSlot}
	l.raw = l.rawListener()
	return l
}

// Close stops accepting: the listening socket is closed, so new connections are refused. Accepted
// connections are left alone. It waits until the accept loop has ended.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		err = l.ln.Close()
		if l.raw != nil {
			l.raw.f.Close() // the duplicate the accept loop waits on: the socket closes with it
		}
	})
	<-l.done
	return err
}

// atCap reports whether a connection accepted now would pass the connection cap; one still on its
// way to a loop counts twice, for the descriptor its enrollment may dup.
func (l *Listener) atCap() bool { return l.p.Live()+2*l.p.enrolling() >= l.maxConn }

// TLSHandshakeFailures returns how many TLS handshakes of accepted connections have failed.
func (l *Listener) TLSHandshakeFailures() int64 { return l.tlsFailures.Load() }

// handshakeFailed counts and reports the failed TLS handshake of raw, unless the socket was closed
// on our side.
func (l *Listener) handshakeFailed(raw net.Conn, err error) {
	if errors.Is(err, net.ErrClosed) {
		return
	}
	l.tlsFailures.Add(1)
	if l.tlsError != nil {
		l.tlsError(&TLSHandshakeError{Remote: raw.RemoteAddr(), Err: err})
	}
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) run() {
	defer close(l.done)
	if l.raw != nil { // rawaccept.go
		l.runRaw(l.raw)
		return
	}
	var pause time.Duration
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			pause = backoff(pause)
			l.acceptFailed(err, pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		if l.atCap() {
			nc.Close()
			l.acceptFailed(ErrConnCap, 0)
			continue
		}
		s := l.accept(nc)
		if l.tls != nil {
			nc = tls.Server(nc, l.tls)
		}
		l.p.open(context.Background(), nc, s, l.tlsTime, l) // returns at once; a failure is s's to report
	}
}

// acceptFailed reports a failed or refused accept to OnAcceptError, if set.
func (l *Listener) acceptFailed(err error, pause time.Duration) {
	if l.acceptError != nil {
		l.acceptError(err, pause)
	}
}

// backoff doubles the pause after a failed accept, from 5 ms up to one second.
func backoff(pause time.Duration) time.Duration {
	switch {
	case pause == 0:
		return 5 * time.Millisecond
	case pause >= time.Second/2:
		return time.Second
	default:
		return pause * 2
	}
}

// connCap is the most connections the process may hold: its descriptor limit less fdReserve, each
// enrolled connection holding one descriptor.
func connCap() int64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 1 << 30
	}
	if rl.Cur <= 2*fdReserve {
		return int64(rl.Cur / 2)
	}
	return int64(rl.Cur) - fdReserve
}
