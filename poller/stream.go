package poller

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// stream is the transport of a connection that cannot be enrolled into gnet (a *tls.Conn: gnet
// has no TLS): it runs on a goroutine of its own, reading; what other goroutines queue is written
// by a short-lived goroutine per batch of wakes. A mutex stands for the loop: Session methods run
// under it, never two at once.
type stream struct {
	nc       net.Conn
	session  Session
	mu       sync.Mutex // the connection's "loop"
	resume   sync.Cond  // signalled when a paused read may go on; with mu
	timer    *time.Timer
	deadline int64
	closed   bool // OnClose ran
	own      bool // we closed nc ourselves: the read error that follows is no news
	paused   bool
	woken    atomic.Bool
}

// Stream runs nc, any net.Conn, for s on goroutines of its own. A *tls.Conn first completes its
// TLS handshake within handshakeTimeout (0: no limit) or ctx; if that fails, s.OnClose runs with
// the error, without OnOpen. Stream returns at once.
func (p *Poller) Stream(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration) {
	st := &stream{nc: nc, session: s}
	st.resume.L = &st.mu
	p.live.Add(1)
	go st.run(p, ctx, handshakeTimeout)
}

func (st *stream) run(p *Poller, ctx context.Context, handshakeTimeout time.Duration) {
	defer p.live.Add(-1)
	started := nowNano()
	if err := handshakeTLS(ctx, st.nc, handshakeTimeout); err != nil {
		answerPlainHTTP(err)
		st.nc.Close()
		st.closed = true
		st.session.OnClose(err)
		return
	}
	st.mu.Lock()
	st.session.OnOpen(st, started)
	st.mu.Unlock()

	var rb readBuffer
	defer rb.release()
	for {
		if !st.waitResumed() {
			return
		}
		space := rb.space()
		n, err := st.nc.Read(space)
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return
		}
		if n > 0 {
			rb.filled(n, space)
			rb.consumed(st.session.OnTraffic(rb.bytes()))
		}
		if err != nil {
			st.finish(err)
		}
		closed := st.closed
		st.mu.Unlock()
		if closed {
			return
		}
	}
}

// waitResumed waits while the session paused its input, so that the kernel's window throttles the
// peer, and reports whether the connection is still open.
func (st *stream) waitResumed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.paused && !st.closed {
		st.resume.Wait()
	}
	return !st.closed
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

func (st *stream) Writev(bufs [][]byte) error {
	if st.closed {
		return net.ErrClosed
	}
	for _, b := range bufs {
		if _, err := st.nc.Write(b); err != nil {
			st.finish(err)
			return err
		}
	}
	return nil
}

// Buffered is zero: a stream writes through before Writev returns.
func (st *stream) Buffered() int { return 0 }

func (st *stream) PauseRead() { st.paused = true }

func (st *stream) ResumeRead() {
	st.paused = false
	st.resume.Signal()
}

func (st *stream) CloseSocket() {
	if !st.closed {
		st.own = true
		st.finish(nil)
	}
}

func (st *stream) CloseWrite() {
	if cw, ok := st.nc.(interface{ CloseWrite() error }); ok && !st.closed {
		_ = cw.CloseWrite()
	}
}

func (st *stream) Closed() bool { return st.closed }

// Wake runs OnWake on a goroutine of its own for as long as it takes, so that an idle connection
// keeps no goroutine waiting for wakes. Calls are coalesced until OnWake runs.
func (st *stream) Wake() {
	if !st.woken.CompareAndSwap(false, true) {
		return
	}
	go func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.woken.Store(false)
		if !st.closed {
			st.session.OnWake()
		}
	}()
}

func (st *stream) SetDeadline(at int64) {
	st.deadline = at
	if st.timer != nil {
		st.timer.Stop()
	}
	if at == 0 || st.closed {
		return
	}
	st.timer = time.AfterFunc(time.Duration(at-nowNano()), func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if !st.closed && st.deadline == at {
			st.deadline = 0
			st.session.OnTimer(nowNano())
		}
	})
}

func (st *stream) Now() int64           { return nowNano() }
func (st *stream) RemoteAddr() net.Addr { return st.nc.RemoteAddr() }
func (st *stream) LocalAddr() net.Addr  { return st.nc.LocalAddr() }

func (st *stream) TLS() (tls.ConnectionState, bool) {
	if tc, ok := st.nc.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// finish closes nc and runs OnClose once. st.mu is held.
func (st *stream) finish(err error) {
	if st.closed {
		return
	}
	st.closed = true
	st.nc.Close()
	if st.timer != nil {
		st.timer.Stop()
	}
	st.resume.Signal()
	if st.own || errors.Is(err, net.ErrClosed) {
		err = nil
	}
	st.session.OnClose(err)
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
