package poller

import (
	"crypto/tls"
	"net"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// gnetConn is the transport of a plain TCP connection on a gnet loop.
type gnetConn struct {
	gc      gnet.Conn
	loop    *Loop
	session Session
	timing  // on its loop's wheel
	closed  bool
	paused  bool
	hosted  bool // it is the transport of a Slot
	woken   atomic.Bool
}

func (c *gnetConn) Writev(bufs [][]byte) error {
	if c.closed {
		return net.ErrClosed
	}
	var err error
	if len(bufs) == 1 {
		_, err = c.gc.Write(bufs[0])
	} else if done, werr := writeCoalesced(c.gc, bufs); done {
		err = werr
	} else {
		_, err = c.gc.Writev(bufs)
	}
	if err == nil && c.closed {
		err = net.ErrClosed
	}
	return err
}

func (c *gnetConn) Buffered() int {
	if c.closed {
		return 0
	}
	return c.gc.OutboundBuffered()
}

// PauseRead takes the socket's read interest out of the loop's epoll set (see epoll.go), so the
// kernel's window throttles the peer.
func (c *gnetConn) PauseRead() {
	if !c.paused && !c.closed {
		c.paused = true
		c.setReadInterest(false)
	}
}

// ResumeRead reads the socket again and has gnet run OnTraffic, which hands over what arrived
// while paused: gnet does not offer unconsumed bytes again until new ones arrive or the
// connection is woken.
func (c *gnetConn) ResumeRead() {
	if !c.paused || c.closed {
		return
	}
	c.paused = false
	c.setReadInterest(true)
	_ = c.gc.Wake(nil)
}

func (c *gnetConn) CloseSocket() {
	if !c.closed {
		_ = c.gc.Close()
	}
}

func (c *gnetConn) CloseWrite() {
	if !c.closed {
		_ = unix.Shutdown(c.gc.Fd(), unix.SHUT_WR)
	}
}

func (c *gnetConn) Closed() bool { return c.closed }

func (c *gnetConn) Wake() {
	if c.woken.CompareAndSwap(false, true) {
		c.loop.enqueueWake(c)
	}
}

func (c *gnetConn) SetDeadline(at int64) {
	c.deadline = at
	if at != 0 && !c.closed {
		c.loop.timers.add(c, at)
	}
}

func (c *gnetConn) timer() *timing { return &c.timing }

// fire implements timed: the loop's sweep calls it.
func (c *gnetConn) fire(now int64) {
	if !c.closed && c.deadline != 0 && c.deadline <= now {
		c.deadline = 0
		c.session.OnTimer(now)
	}
}

func (c *gnetConn) Now() int64                       { return nowNano() }
func (c *gnetConn) RemoteAddr() net.Addr             { return c.gc.RemoteAddr() }
func (c *gnetConn) LocalAddr() net.Addr              { return c.gc.LocalAddr() }
func (c *gnetConn) TLS() (tls.ConnectionState, bool) { return tls.ConnectionState{}, false }

// OnOpen implements gnet.EventHandler.
func (p *Poller) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c := gc.Context().(*gnetConn)
	c.gc = gc
	c.loop = p.loopOf(gc.EventLoop())
	c.loop.conns.Add(1)
	p.live.Add(1)
	c.session.OnOpen(c, nowNano())
	return nil, gnet.None
}

// OnTraffic implements gnet.EventHandler. While the session paused its input, what arrives stays
// with gnet, up to MaxHeldInput.
func (p *Poller) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*gnetConn)
	switch {
	case c.closed:
		return gnet.None
	case c.paused && gc.InboundBuffered() > MaxHeldInput:
		p.ended(c, ErrInputOverflow)
		return gnet.Close // closed at once, on the loop: gnet's Close would first read on
	case c.paused:
		c.setReadInterest(false) // gnet re-armed reading after flushing its output
		return gnet.None
	}
	in, _ := gc.Peek(-1)
	if len(in) == 0 {
		return gnet.None
	}
	n := c.session.OnTraffic(in)
	if n > 0 && !c.closed {
		_, _ = gc.Discard(n)
	}
	return gnet.None
}

// OnClose implements gnet.EventHandler.
func (p *Poller) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*gnetConn); ok && !c.closed {
		p.ended(c, err)
	}
	return gnet.None
}

// ended runs the session's OnClose once.
func (p *Poller) ended(c *gnetConn, err error) {
	c.closed = true
	c.deadline = 0 // its wheel entry is dropped at its sweep
	c.loop.conns.Add(-1)
	p.live.Add(-1)
	c.session.OnClose(err)
}
