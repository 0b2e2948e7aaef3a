package poller

import (
	"crypto/tls"
	"net"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Conn is the transport of one connection: a plain TCP connection on a gnet loop, or a stream
// connection (TLS) on a goroutine of its own. The layer above embeds it in its session and returns
// it from Session.Transport. Unless a method says otherwise, it may only be called on the
// connection's loop, that is from inside a Session method.
type Conn struct {
	gc       gnet.Conn // a connection on a gnet loop
	loop     *Loop
	st       *stream // a stream connection; nil on a gnet loop
	session  Session
	deadline int64 // unix nanoseconds; 0 when no deadline is set
	closed   bool
	woken    atomic.Bool
}

// Write hands b to the kernel like Writev.
func (c *Conn) Write(b []byte) error {
	if c.closed {
		return net.ErrClosed
	}
	if c.st != nil {
		return c.st.write(c, b)
	}
	_, err := c.gc.Write(b)
	if err == nil && c.closed {
		err = net.ErrClosed
	}
	return err
}

// Writev hands bufs to the kernel, in order; what the kernel does not take at once is copied into
// the loop's output buffer and written when the socket is writable. It reports net.ErrClosed when
// the connection is closed. If the write fails, the connection is closed and Session.OnClose runs
// before Writev returns.
func (c *Conn) Writev(bufs [][]byte) error {
	if c.closed {
		return net.ErrClosed
	}
	if c.st != nil {
		for _, b := range bufs {
			if err := c.st.write(c, b); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if len(bufs) == 1 {
		_, err = c.gc.Write(bufs[0])
	} else {
		_, err = c.gc.Writev(bufs)
	}
	if err == nil && c.closed {
		err = net.ErrClosed
	}
	return err
}

// Buffered returns how many bytes were handed to Writev and are not yet in the kernel.
func (c *Conn) Buffered() int {
	if c.closed || c.st != nil { // a stream writes through before Write returns
		return 0
	}
	return c.gc.OutboundBuffered()
}

// CloseSocket closes the connection. Session.OnClose runs later on the loop (for a stream
// connection, before CloseSocket returns). Bytes still Buffered are
// written with one best-effort attempt and then dropped, so callers close once Buffered is zero
// unless they mean to drop them.
func (c *Conn) CloseSocket() {
	switch {
	case c.closed:
	case c.st != nil:
		c.st.close(c)
	default:
		_ = c.gc.Close()
	}
}

// CloseWrite ends our half of the stream (a TCP FIN, or a TLS close_notify first): the peer reads
// the end, and we still read what it sends.
func (c *Conn) CloseWrite() {
	switch {
	case c.closed:
	case c.st != nil:
		if cw, ok := c.st.nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	default:
		_ = unix.Shutdown(c.gc.Fd(), unix.SHUT_WR)
	}
}

// SocketClosed reports whether the connection is closed.
func (c *Conn) SocketClosed() bool { return c.closed }

// Wake asks the loop to run Session.OnWake soon. It is safe to call from any goroutine once
// Session.OnOpen has run; calls made before the loop gets to it are coalesced into one OnWake.
func (c *Conn) Wake() {
	if c.woken.CompareAndSwap(false, true) {
		if c.st != nil {
			c.st.wake(c)
			return
		}
		c.loop.enqueueWake(c)
	}
}

// SetDeadline makes the loop call Session.OnTimer once the clock passes at (unix nanoseconds),
// within the loop's tick. Zero clears the deadline. A later call replaces an earlier one.
func (c *Conn) SetDeadline(at int64) {
	c.deadline = at
	switch {
	case at == 0 || c.closed:
	case c.st != nil:
		c.st.setTimer(c, at)
	default:
		c.loop.timers.add(c, at)
	}
}

// Deadline returns the deadline set with SetDeadline and not fired yet, 0 for none.
func (c *Conn) Deadline() int64 { return c.deadline }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr {
	if c.st != nil {
		return c.st.nc.RemoteAddr()
	}
	return c.gc.RemoteAddr()
}

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr {
	if c.st != nil {
		return c.st.nc.LocalAddr()
	}
	return c.gc.LocalAddr()
}

// TLS returns the state of a TLS connection, and false for a plain one. It is safe from any
// goroutine once Session.OnOpen has run.
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	if c.st == nil {
		return tls.ConnectionState{}, false
	}
	tc, ok := c.st.nc.(*tls.Conn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	return tc.ConnectionState(), true
}
