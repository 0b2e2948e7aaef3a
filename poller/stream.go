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

// stream runs a connection that cannot be enrolled into gnet (a *tls.Conn: gnet has no TLS) on a
// goroutine of its own, reading; what other goroutines queue is written by a short-lived goroutine
// per batch of wakes. A mutex stands for the loop: Session methods run under it, never two at once.
type stream struct {
	nc     net.Conn
	mu     sync.Mutex // the connection's "loop"
	timer  *time.Timer
	closed bool // we closed nc ourselves: the read error that follows is no news
}

// Stream runs nc, any net.Conn, for s on goroutines of its own. A *tls.Conn first completes its
// TLS handshake within handshakeTimeout (0: no limit) or ctx; if that fails, s.OnClose runs with
// the error, without OnOpen. Stream returns at once.
func (p *Poller) Stream(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration) {
	c := s.Transport()
	c.session = s
	c.st = &stream{nc: nc}
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

	var rb readBuffer
	for {
		space := rb.space()
		n, err := st.nc.Read(space)
		st.mu.Lock()
		if c.closed {
			st.mu.Unlock()
			rb.release()
			return
		}
		if n > 0 {
			rb.filled(n, space)
			rb.consumed(c.session.OnTraffic(rb.bytes()))
		}
		if err != nil && !c.closed {
			st.finish(c, err)
		}
		closed := c.closed
		st.mu.Unlock()
		if closed {
			rb.release()
			return
		}
	}
}

// Read buffer sizes of a stream connection: an idle connection waits with the small one; a read
// that fills it brings a large one from a pool, given back once a read leaves it nearly empty.
const (
	streamIdleRead = 1 << 10
	streamBusyRead = 16 << 10
)

var busyReadBuffers = sync.Pool{New: func() any { b := make([]byte, streamBusyRead); return &b }}

// readBuffer is a stream connection's read buffer: the bytes read and not consumed yet, at its
// start, and the space after them.
type readBuffer struct {
	idle [streamIdleRead]byte
	big  *[]byte // from busyReadBuffers, nil while idle
	buf  []byte  // idle[:], *big, or a larger slice while the session keeps a long head
	have int
	full bool // the last read filled all the space it was given
}

// space returns where the next read goes.
func (r *readBuffer) space() []byte {
	if r.buf == nil {
		r.buf = r.idle[:]
	}
	if r.have == 0 && r.full && r.big == nil { // more is coming: read it in large pieces
		r.big = busyReadBuffers.Get().(*[]byte)
		r.buf = *r.big
	}
	if r.have == len(r.buf) { // the session keeps bytes it cannot consume yet: grow
		r.buf = append(r.buf[:r.have:r.have], make([]byte, len(r.buf))...)
	}
	return r.buf[r.have:]
}

// filled records a read of n bytes into space s.
func (r *readBuffer) filled(n int, s []byte) { r.have += n; r.full = n == len(s) }

func (r *readBuffer) bytes() []byte { return r.buf[:r.have] }

// consumed drops the first n bytes, and goes back to the idle buffer once a read left no bytes
// and did not fill its space.
func (r *readBuffer) consumed(n int) {
	r.have = copy(r.buf, r.buf[n:r.have])
	if r.have == 0 && !r.full {
		r.release()
	}
}

// release gives the large buffer back to its pool and returns to the idle one. It is called
// when no bytes are kept, or when the connection ends.
func (r *readBuffer) release() {
	if r.big != nil {
		busyReadBuffers.Put(r.big)
		r.big = nil
	}
	r.buf = r.idle[:]
}

// write writes b through; a failure closes the connection and reports it. st.mu is held.
func (st *stream) write(c *Conn, b []byte) error {
	if _, err := st.nc.Write(b); err != nil {
		st.finish(c, err)
		return err
	}
	return nil
}

// wake runs OnWake on a goroutine of its own for as long as it takes, so that an idle connection
// keeps no goroutine waiting for wakes. Conn.Wake coalesces calls until OnWake runs.
func (st *stream) wake(c *Conn) {
	go func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		c.woken.Store(false)
		if !c.closed {
			c.session.OnWake()
		}
	}()
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
