package poller

import (
	"crypto/tls"
	"net"
)

// Transport is one connection's I/O as the engine sees it. There are three: a plain TCP
// connection on a gnet loop, a stream connection such as TLS on a goroutine of its own (Open
// chooses between these two), and an in-memory one for tests (NewMemory). Unless a method says otherwise, it may only
// be called on the connection's loop, that is from inside a Session method.
type Transport interface {
	// Writev hands bufs to the kernel, in order. What the kernel does not take at once stays in
	// the transport (Buffered counts it) and is written when the socket is writable. It reports
	// net.ErrClosed once the connection is closed. A write that fails closes the connection:
	// Session.OnClose then runs before Writev returns or soon after, on the loop.
	Writev(bufs [][]byte) error
	// Buffered returns how many bytes Writev took and the kernel has not taken yet.
	Buffered() int
	// PauseRead stops handing input to the session until ResumeRead, and stops reading the
	// socket, so the kernel's window stops the peer. Where reading cannot be stopped (gnet without
	// its epoll descriptor, see epoll.go; the in-memory transport), what arrives is kept and the
	// connection is closed with ErrInputOverflow once that is more than MaxHeldInput bytes.
	PauseRead()
	// ResumeRead hands input to the session again, what arrived while paused first.
	ResumeRead()
	// CloseSocket closes the connection. Session.OnClose runs before it returns or soon after, on
	// the loop. Bytes still Buffered are dropped, so callers close once Buffered is zero unless
	// they mean to drop them.
	CloseSocket()
	// CloseWrite ends our half of the stream (a TCP FIN, after a TLS close_notify): the peer reads
	// the end, and we still read what it sends.
	CloseWrite()
	// Closed reports whether the connection is closed.
	Closed() bool
	// Wake asks the loop to run Session.OnWake soon. It is safe from any goroutine; calls made
	// before the loop gets to it are coalesced into one OnWake.
	Wake()
	// SetDeadline makes the loop call Session.OnTimer once the clock passes at (unix
	// nanoseconds), within a Tick. Zero clears it; a later call replaces an earlier one.
	SetDeadline(at int64)
	// Now returns the loop's clock in unix nanoseconds.
	Now() int64
	// RemoteAddr returns the peer's address.
	RemoteAddr() net.Addr
	// LocalAddr returns the local address.
	LocalAddr() net.Addr
	// TLS returns the state of a TLS connection, false for a plain one. It is safe from any
	// goroutine.
	TLS() (tls.ConnectionState, bool)
}

// Session is the per-connection object of the layer above. Every method runs on the connection's
// loop, never two at once for one connection.
type Session interface {
	// OnOpen runs once the connection is on its loop, before any other method, with its
	// transport. started is when the connection began (unix nanoseconds): before a TLS handshake,
	// so that the opening handshake's deadline covers both.
	OnOpen(t Transport, started int64)
	// OnTraffic hands over every byte received and not yet consumed. The slice is valid only during
	// the call; the session returns how many bytes it consumed. The rest is offered again,
	// followed by new bytes, when more arrive.
	OnTraffic(in []byte) (consumed int)
	// OnWake runs after Transport.Wake, once per batch of calls.
	OnWake()
	// OnTimer runs when a deadline set with Transport.SetDeadline has passed.
	OnTimer(now int64)
	// OnClose runs once, when the connection is closed, with the error that closed it (nil when
	// the session closed it itself). No method runs after it. It also runs, without OnOpen, for
	// a connection that never reached its loop.
	OnClose(err error)
}

// MaxHeldInput bounds the input a paused connection may leave unconsumed on a transport that
// cannot stop reading: one loop read buffer.
const MaxHeldInput = 64 << 10

// ErrInputOverflow closes a connection that kept sending while its input was paused, past
// MaxHeldInput.
var ErrInputOverflow = errInputOverflow{}

type errInputOverflow struct{}

func (errInputOverflow) Error() string {
	return "websocket: peer kept sending while its input was paused (it does not read what we send)"
}
