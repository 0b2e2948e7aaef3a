package poller

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// streamReadSize is how much a stream connection reads at a time.
const streamReadSize = 16 << 10

// stream runs a connection that cannot be enrolled into gnet (a *tls.Conn: gnet has no TLS) on a
// goroutine of its own, reading, and a second one, writing what other goroutines queued. A mutex
// stands for the loop: Session methods run under it, never two at once.
type stream struct {
	nc     net.Conn
	mu     sync.Mutex // the connection's "loop"
	woken  chan struct{}
	done   chan struct{}
	timer  *time.Timer
	closed bool // we closed nc ourselves: the read error that follows is no news
}

// Stream runs nc, any net.Conn, for s on goroutines of its own. A *tls.Conn first completes its
// TLS handshake within handshakeTimeout (0: no limit) or ctx; if that fails, s.OnClose runs with
// the error, without OnOpen. Stream returns at once.
func (p *Poller) Stream(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration) {
	c := s.Transport()
	c.session = s
	c.st = &stream{nc: nc, woken: make(chan struct{}, 1), done: make(chan struct{})}
	p.live.Add(1)
	go c.st.run(p, ctx, c, handshakeTimeout)
}

func (st *stream) run(p *Poller, ctx context.Context, c *Conn, handshakeTimeout time.Duration) {
	defer p.live.Add(-1)
	if err := handshakeTLS(ctx, st.nc, handshakeTimeout); err != nil {
		answerPlainHTTP(err)
		st.nc.Close()
		c.closed = true
		c.session.OnClose(err)
		return
	}
	st.mu.Lock()
	c.session.OnOpen()
	st.mu.Unlock()
	go st.runWakes(c)

	buf := make([]byte, streamReadSize)
	have := 0
	for {
		if have == len(buf) { // the session keeps a head or frame it cannot consume yet: grow
			buf = append(buf, make([]byte, len(buf))...)
		}
		n, err := st.nc.Read(buf[have:])
		st.mu.Lock()
		if c.closed {
			st.mu.Unlock()
			return
		}
		if n > 0 {
			have += n
			used := c.session.OnTraffic(buf[:have])
			have = copy(buf, buf[used:have])
		}
		if err != nil && !c.closed {
			st.finish(c, err)
		}
		closed := c.closed
		st.mu.Unlock()
		if closed {
			return
		}
	}
}

// runWakes runs OnWake for every batch of Wake calls until the connection ends.
func (st *stream) runWakes(c *Conn) {
	for {
		select {
		case <-st.done:
			return
		case <-st.woken:
		}
		st.mu.Lock()
		c.woken.Store(false)
		if !c.closed {
			c.session.OnWake()
		}
		st.mu.Unlock()
	}
}

// write writes b through; a failure closes the connection and reports it. st.mu is held.
func (st *stream) write(c *Conn, b []byte) error {
	if _, err := st.nc.Write(b); err != nil {
		st.finish(c, err)
		return err
	}
	return nil
}

func (st *stream) wake() {
	select {
	case st.woken <- struct{}{}:
	default:
	}
}

// close closes the connection from a Session method: OnClose runs before it returns. st.mu is held.
func (st *stream) close(c *Conn) {
	st.closed = true
	st.finish(c, nil)
}

// finish closes nc and runs OnClose once. st.mu is held.
func (st *stream) finish(c *Conn, err error) {
	if c.closed {
		return
	}
	c.closed = true
	st.nc.Close()
	close(st.done)
	if st.timer != nil {
		st.timer.Stop()
	}
	if st.closed || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	c.session.OnClose(err)
}

// setTimer makes OnTimer run at at. st.mu is held.
func (st *stream) setTimer(c *Conn, at int64) {
	d := time.Duration(at - nowNano())
	if st.timer != nil {
		st.timer.Stop()
	}
	st.timer = time.AfterFunc(d, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if !c.closed && c.deadline == at {
			c.deadline = 0
			c.session.OnTimer(nowNano())
		}
	})
}

// answerPlainHTTP tells a client that spoke plain HTTP to a TLS server what went wrong, as
// net/http does, so that a ws:// client on a wss:// port fails with a reason instead of a bare end.
func answerPlainHTTP(err error) {
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) || rh.Conn == nil || !bytes.HasPrefix(rh.RecordHeader[:], []byte("GET ")) {
		return
	}
	_ = rh.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = rh.Conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
}

// handshakeTLS completes the TLS handshake of a *tls.Conn within timeout and ctx.
func handshakeTLS(ctx context.Context, nc net.Conn, timeout time.Duration) error {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return tc.HandshakeContext(ctx)
}
