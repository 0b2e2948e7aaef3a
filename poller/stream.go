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

	"github.com/wsloop/wsloop/bufpool"
)

// stream is the transport of a connection that cannot be enrolled into gnet (a *tls.Conn: gnet
// has no TLS). A mutex stands for the loop: Session methods run under it, never two at once. A
// reader goroutine reads for as long as the connection lives; what other goroutines queue is
// written by a short-lived goroutine per batch of wakes; and the output goes through a writer
// goroutine of its own, so that no write ever blocks while the mutex is held. Writev copies the
// bytes into chunks that the writer then writes, each within writeTimeout, and the writer ends as
// soon as they are written, so that an idle connection keeps no writer. Its deadline goes on
// streamTimers, the one timer wheel of all streams, which the stream leaves when it closes.
type stream struct {
	nc       net.Conn
	raw      net.Conn // the socket under nc: closing it interrupts any read or write at once
	session  Session
	mu       sync.Mutex        // the connection's "loop"
	resume   sync.Cond         // signalled when a paused read may go on; with mu
	timing                     // on streamTimers, guarded by its mu
	out      []*bufpool.Buffer // output Writev took and the writer has not taken yet, in order
	buffered int               // bytes of output not written yet: in out and in the writer's hands
	closed   bool              // OnClose ran
	own      bool              // we closed nc ourselves: the read error that follows is no news
	abrupt   bool              // the socket was closed at once: no orderly end is owed
	paused   bool
	writing  bool // the writer goroutine runs
	shut     shutState
	woken    atomic.Bool
}

// shutState is how far CloseWrite has gone.
type shutState uint8

const (
	shutNone  shutState = iota
	shutAsked           // CloseWrite was called: the writer ends our half once the output is written
	shutGoing           // the writer is ending our half
	shutDone
)

// Limits of the writer.
const (
	// streamChunk is the least size of the chunks Writev copies the output into: one TLS record.
	streamChunk = 16 << 10
	// closeNotifyWait bounds the TLS close_notify of an orderly close: a peer whose kernel does not
	// take it that soon reads nothing, and the socket is closed without it.
	closeNotifyWait = time.Second
	// keptChunkSlots is how many chunk slots a drained stream keeps for its next output.
	keptChunkSlots = 8
)

// writeTimeout bounds each write of a chunk to the socket. A write that times out leaves a TLS
// connection unusable, so it closes the connection. It is longer than the default close timeout:
// a peer that takes nothing is normally ended by the engine's own deadlines first, and this one
// only guarantees that no write waits forever. A variable, so that tests can shorten it.
var writeTimeout = 10 * time.Second

// stream runs nc, any net.Conn, for s on goroutines of its own (Open calls it for every
// connection that is not a *net.TCPConn). A *tls.Conn first completes its TLS handshake within
// handshakeTimeout (0: no limit) or ctx; if that fails, s.OnClose runs with the error, without
// OnOpen, and l, the Listener that accepted nc (nil for none), hears of it. stream returns at
// once.
func (p *Poller) stream(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration, l *Listener) {
	st := &stream{nc: nc, raw: nc, session: s}
	if tc, ok := nc.(*tls.Conn); ok {
		st.raw = tc.NetConn()
	}
	st.resume.L = &st.mu
	p.live.Add(1)
	go st.run(p, ctx, nowNano(), handshakeTimeout, l)
}

// run is the reader. started is when the connection began, before its TLS handshake, so that the
// session's opening handshake deadline covers both.
func (st *stream) run(p *Poller, ctx context.Context, started int64, handshakeTimeout time.Duration, l *Listener) {
	defer p.live.Add(-1)
	if err := handshakeTLS(ctx, st.nc, handshakeTimeout); err != nil {
		answerPlainHTTP(err)
		st.nc.Close()
		if l != nil {
			l.handshakeFailed(st.raw, err)
		}
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

// Writev copies bufs into the stream's output and has the writer write them: it never blocks.
func (st *stream) Writev(bufs [][]byte) error {
	if st.closed {
		return net.ErrClosed
	}
	for _, b := range bufs {
		st.buffered += len(b)
		for len(b) > 0 {
			tail := st.tail()
			n := min(len(b), chunkRoom(tail))
			tail.B = append(tail.B, b[:n]...)
			b = b[n:]
		}
	}
	if st.buffered > 0 {
		st.startWriter()
	}
	return nil
}

// tail returns the last chunk of the output if it has room, a new one otherwise. st.mu is held.
func (st *stream) tail() *bufpool.Buffer {
	if n := len(st.out); n > 0 && chunkRoom(st.out[n-1]) > 0 {
		return st.out[n-1]
	}
	b := bufpool.Get()
	st.out = append(st.out, b)
	return b
}

// chunkRoom returns how many more bytes a chunk takes: up to streamChunk, growing, or up to its
// capacity if the pool lent a larger buffer, so that the memory the chunks hold stays close to
// the bytes Buffered counts.
func chunkRoom(b *bufpool.Buffer) int { return max(streamChunk, cap(b.B)) - len(b.B) }

// Buffered returns the bytes Writev took that the writer has not written yet.
func (st *stream) Buffered() int {
	if st.closed {
		return 0
	}
	return st.buffered
}

func (st *stream) PauseRead() { st.paused = true }

func (st *stream) ResumeRead() {
	st.paused = false
	st.resume.Signal()
}

// CloseSocket closes the connection: at once if output is still to be written or a half-close is
// under way (a blocked writer is interrupted), otherwise after a TLS close_notify, on the writer.
func (st *stream) CloseSocket() {
	if !st.closed {
		st.own = true
		st.finish(nil)
	}
}

// CloseWrite has the writer end our half once the output queued before it is written: a TLS
// close_notify, then a TCP FIN.
func (st *stream) CloseWrite() {
	if st.closed || st.shut != shutNone {
		return
	}
	st.shut = shutAsked
	st.startWriter()
}

// startWriter starts the writer unless it runs. st.mu is held.
func (st *stream) startWriter() {
	if !st.writing {
		st.writing = true
		go st.write()
	}
}

// write is the writer. It writes the output chunk by chunk without st.mu, each chunk within
// writeTimeout; a write that fails closes the connection with its error. Once the output is
// written it ends our half if CloseWrite asked, and runs the session's OnWake, so that what waits
// on the drain (callbacks, Drained, a close) goes on at once. Of a closed connection it ends the
// socket, unless that was done at once. It returns when nothing is left to do.
func (st *stream) write() {
	st.mu.Lock()
	defer st.mu.Unlock()
	wrote := false
	for {
		switch {
		case st.closed:
			st.writing = false
			if !st.abrupt {
				st.unlocked(st.closeOrderly)
			}
			return
		case len(st.out) > 0:
			b := st.out[0]
			n := copy(st.out, st.out[1:])
			st.out[n] = nil
			st.out = st.out[:n]
			var err error
			st.unlocked(func() {
				_ = st.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
				_, err = st.nc.Write(b.B)
			})
			st.buffered -= len(b.B)
			bufpool.Put(b)
			wrote = true
			if err != nil {
				st.finish(err)
			}
		case st.shut == shutAsked:
			st.shut = shutGoing
			st.unlocked(st.halfClose)
			st.shut = shutDone
		case wrote:
			wrote = false
			st.session.OnWake()
		default:
			if cap(st.out) > keptChunkSlots {
				st.out = nil
			}
			st.writing = false
			return
		}
	}
}

// unlocked runs fn without st.mu, which is held.
func (st *stream) unlocked(fn func()) {
	st.mu.Unlock()
	defer st.mu.Lock()
	fn()
}

// halfClose ends our half of the connection: a TLS close_notify (within crypto/tls's own
// deadline), then a TCP FIN. It runs on the writer.
func (st *stream) halfClose() {
	if tc, ok := st.nc.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if cw, ok := st.raw.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

// closeOrderly closes a connection whose output is all written. A TLS connection sends its
// close_notify first, if the kernel takes it within closeNotifyWait. It runs on the writer. Its
// runtime timer is one per close, not one per deadline: deadlines are on streamTimers.
func (st *stream) closeOrderly() {
	if st.raw == st.nc {
		st.nc.Close()
		return
	}
	stop := time.AfterFunc(closeNotifyWait, func() { st.raw.Close() })
	st.nc.Close()
	stop.Stop()
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
	if !st.closed {
		streamTimers.set(st, at)
	}
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

// finish closes the connection and runs OnClose once. A connection closed by the session with its
// output written ends in order, on the writer (see closeOrderly); any other is closed at once, which
// interrupts the writer, and what it had not written is dropped. st.mu is held.
func (st *stream) finish(err error) {
	if st.closed {
		return
	}
	st.closed = true
	for i, b := range st.out {
		bufpool.Put(b)
		st.out[i] = nil
	}
	st.out = nil
	if err == nil && st.buffered == 0 && st.shut != shutGoing {
		st.startWriter()
	} else {
		st.abrupt = true
		st.raw.Close()
	}
	streamTimers.set(st, 0) // leaves the wheel at its entry's sweep
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
