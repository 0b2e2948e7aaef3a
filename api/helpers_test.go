package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// Helpers shared by spec_test.go, probe_test.go, rfc_test.go, handshake_test.go and
// events_test.go.

// settle is how long a test waits for events that must NOT happen (a second close event, a frame
// that must not come) once everything expected has happened, where no later event can prove
// their absence (evlog.quiet, waitSockets and nothingBefore do where one can). Such an event would
// come from work already handed to a loop or a client goroutine, which runs within a turn: a
// ping's round trip through a server loop measured here under -race, 3,000 times with the
// machine's two cores shared (load average 2), took 0.15 ms at the 99.9th percentile and 1.8 ms
// at most. 200 ms is a hundred times that worst case, room for a machine several times as loaded.
const settle = 200 * time.Millisecond

// evlog records events, in order, from handlers that run on the loops.
type evlog struct {
	mu  sync.Mutex
	ev  []string
	sig chan struct{}
	srv *Server // the server whose connections log here (recServer), or nil
}

func newEvlog() *evlog { return &evlog{sig: make(chan struct{}, 1)} }

func (l *evlog) add(format string, a ...any) {
	l.mu.Lock()
	l.ev = append(l.ev, fmt.Sprintf(format, a...))
	l.mu.Unlock()
	select {
	case l.sig <- struct{}{}:
	default:
	}
}

// reset forgets the events recorded so far.
func (l *evlog) reset() {
	l.mu.Lock()
	l.ev = nil
	l.mu.Unlock()
}

func (l *evlog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ev)
}

// waitN waits until at least n events are recorded and returns them; it fails the test after
// wstest.Timeout.
func (l *evlog) waitN(t testing.TB, n int) []string {
	t.Helper()
	await(t, l.sig, func() bool { return len(l.get()) >= n },
		func() string { return fmt.Sprintf("waited for %d events, got %q", n, l.get()) })
	return l.get()
}

// waitFor waits until an event equal to want is recorded.
func (l *evlog) waitFor(t testing.TB, want string) {
	t.Helper()
	await(t, l.sig, func() bool { return slices.Contains(l.get(), want) },
		func() string { return fmt.Sprintf("waited for event %q, got %q", want, l.get()) })
}

// await waits until done reports true, looking again each time sig fires, and fails the test
// with failure's message after wstest.Timeout.
func await[T any](t testing.TB, sig <-chan T, done func() bool, failure func() string) {
	t.Helper()
	deadline := time.After(wstest.Timeout)
	for !done() {
		select {
		case <-sig:
		case <-deadline:
			t.Fatal(failure())
		}
	}
}

// quiet returns once any event that was going to follow those recorded would be recorded. When
// the log's server lists no open connection, that is proven: it waits until the server has
// counted out every socket, which it does only after a connection's last event. Otherwise it
// waits settle.
func (l *evlog) quiet(t testing.TB) {
	t.Helper()
	if l.srv != nil {
		open := 0
		for range l.srv.Connections() {
			open++
		}
		if open == 0 {
			waitSockets(t, l.srv, 0)
			return
		}
	}
	time.Sleep(settle)
}

// waitSockets waits until s counts exactly n accepted sockets. A socket is counted out only after
// its connection's last event (the close event, or none for a refused handshake) has run, so
// reaching n proves that whatever the other sockets were going to report has been reported: it
// is the event after which a test can check that something did not happen.
func waitSockets(t testing.TB, s *Server, n int) {
	t.Helper()
	count := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sockets
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	await(t, tick.C, func() bool { return count() == n },
		func() string { return fmt.Sprintf("the server counts %d sockets, want %d", count(), n) })
}

// expect waits for len(want) events, until extra events would have shown up (quiet), and fails
// unless the events are exactly want, in order.
func (l *evlog) expect(t testing.TB, want ...string) {
	t.Helper()
	l.waitN(t, len(want))
	l.quiet(t)
	if got := l.get(); !slices.Equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}

// recordConn sets handlers on c that record every event of c in l: text, binary (as InStream
// chunks and end), pong, error, close (with the ready state and whether c is still listed by
// its server).
func recordConn(c *Conn, l *evlog) {
	c.OnText(func(c *Conn, s string) { l.add("text %q", s) })
	c.OnBinary(func(c *Conn, in *InStream) {
		l.add("binary")
		in.OnData(func(p []byte) { l.add("chunk %q", p) })
		in.OnEnd(func(err error) { l.add("end %v", err) })
	})
	c.OnPong(func(c *Conn, p []byte) { l.add("pong %q", p) })
	c.OnError(func(c *Conn, err error) { l.add("error %v", err) })
	c.OnClose(func(c *Conn, code int, reason string) {
		listed := false
		if s := c.Server(); s != nil {
			for x := range s.Connections() {
				listed = listed || x == c
			}
		}
		l.add("close %d %q state=%d listed=%v", code, reason, c.ReadyState(), listed)
	})
}

// closeEv is the close event recordConn records for a connection that ended properly.
func closeEv(code int, reason string) string {
	return fmt.Sprintf("close %d %q state=%d listed=false", code, reason, Closed)
}

// errEv is the error event recordConn records for err.
func errEv(err error) string { return fmt.Sprintf("error %v", err) }

// recServer starts a server with opts whose connections record their events in the returned log,
// after a "connection <path>" event. conns receives each connection.
func recServer(t *testing.T, opts *ServerOptions) (*Server, string, *evlog, chan *Conn) {
	t.Helper()
	l := newEvlog()
	conns := make(chan *Conn, 16)
	s, addr := startServer(t, opts, func(c *Conn) {
		l.add("connection %s", c.Path())
		recordConn(c, l)
		conns <- c
	})
	l.srv = s
	return s, addr, l, conns
}

// serverConn starts a server with opts, dials it with a raw peer on "/" and returns the server,
// the peer and the server's side of the connection, once its connection event ran.
func serverConn(t *testing.T, opts *ServerOptions) (*Server, *wstest.Peer, *Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	s, addr := startServer(t, opts, func(c *Conn) { conns <- c })
	p := wstest.Dial(t, addr, "/")
	return s, p, recv(t, conns)
}

// recv waits for a value on ch, bounded by wstest.Timeout.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wstest.Timeout):
		t.Fatal("timed out waiting for a value")
		panic("unreachable")
	}
}

// cbRecorder makes send callbacks that record each call, so a test can check that every callback
// ran exactly once and with what.
type cbRecorder struct {
	mu    sync.Mutex
	calls map[string][]error
	sig   chan struct{}
}

func newCBRecorder() *cbRecorder {
	return &cbRecorder{calls: map[string][]error{}, sig: make(chan struct{}, 1)}
}

func (r *cbRecorder) cb(name string) func(error) {
	return func(err error) {
		r.mu.Lock()
		r.calls[name] = append(r.calls[name], err)
		r.mu.Unlock()
		select {
		case r.sig <- struct{}{}:
		default:
		}
	}
}

// expect waits until the callback name ran, then checks it ran exactly once, with an error that
// is want (errors.Is; nil for success).
func (r *cbRecorder) expect(t testing.TB, name string, want error) {
	t.Helper()
	r.wait(t, name)
	time.Sleep(settle)
	r.mu.Lock()
	calls := slices.Clone(r.calls[name])
	r.mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("callback %s ran %d times: %v", name, len(calls), calls)
	}
	if want == nil && calls[0] != nil || want != nil && !errors.Is(calls[0], want) {
		t.Fatalf("callback %s got %v, want %v", name, calls[0], want)
	}
}

// expectAny waits until the callback name ran, then checks it ran exactly once (with anything).
func (r *cbRecorder) expectAny(t testing.TB, name string) {
	t.Helper()
	r.wait(t, name)
	time.Sleep(settle)
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.calls[name]); n != 1 {
		t.Fatalf("callback %s ran %d times: %v", name, n, r.calls[name])
	}
}

// expectQuick is expect without the wait for a second call; for many callbacks, after one
// settle period spent elsewhere.
func (r *cbRecorder) expectQuick(t testing.TB, name string, want error) {
	t.Helper()
	r.wait(t, name)
	r.mu.Lock()
	calls := slices.Clone(r.calls[name])
	r.mu.Unlock()
	if len(calls) != 1 || (want == nil) != (calls[0] == nil) || want != nil && !errors.Is(calls[0], want) {
		t.Fatalf("callback %s ran with %v, want once with %v", name, calls, want)
	}
}

// wait waits until the callback name ran at least once.
func (r *cbRecorder) wait(t testing.TB, name string) {
	t.Helper()
	await(t, r.sig, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.calls[name]) > 0
	}, func() string { return "callback " + name + " never ran" })
}

// maskedRaw returns a client frame with first byte b0 as given (FIN, RSV, opcode: anything), a
// minimal length and the payload masked with wstest.Key.
func maskedRaw(b0 byte, payload []byte) []byte {
	f := wstest.FrameBytes(true, codec.OpText, payload)
	f[0] = b0
	return f
}

// frameWithLength returns a masked client frame whose length field is given raw: lenField is the
// 7-bit code followed by any extended length bytes (the mask bit is added).
func frameWithLength(b0 byte, lenField []byte, payload []byte) []byte {
	f := []byte{b0, lenField[0] | 0x80}
	f = append(f, lenField[1:]...)
	f = append(f, wstest.Key[:]...)
	p := bytes.Clone(payload)
	codec.Mask(wstest.Key, 0, p)
	return append(f, p...)
}

// writePieces writes b to the peer n bytes at a time, one write each. It stops quietly at the
// first failed write: the server may rightly close before the last piece (a protocol error), and
// when it should not have, the reads that follow fail the test.
func writePieces(p *wstest.Peer, b []byte, n int) {
	for len(b) > 0 {
		k := min(n, len(b))
		p.Conn.SetWriteDeadline(time.Now().Add(wstest.Timeout))
		if _, err := p.Conn.Write(b[:k]); err != nil {
			return
		}
		b = b[k:]
	}
}

// nextFrame reads the next frame and fails unless it is exactly op, fin and payload.
func nextFrame(t testing.TB, p *wstest.Peer, fin bool, op codec.Opcode, payload []byte) {
	t.Helper()
	f := p.MustFrame()
	if f.Op != op || f.Fin != fin || f.Rsv != 0 || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("got frame op=%v fin=%v rsv=%d %s, want op=%v fin=%v %s",
			f.Op, f.Fin, f.Rsv, short(f.Payload), op, fin, short(payload))
	}
}

// nextClose reads the next frame and fails unless it is a close frame with code (0: no payload)
// and, when reason is not nil, that reason. It returns the reason received.
func nextClose(t testing.TB, p *wstest.Peer, code codec.CloseCode, reason *string) string {
	t.Helper()
	f := p.MustFrame()
	if f.Op != codec.OpClose || !f.Fin {
		t.Fatalf("got frame op=%v fin=%v %s, want a close %d", f.Op, f.Fin, short(f.Payload), code)
	}
	if code == 0 {
		if len(f.Payload) != 0 {
			t.Fatalf("close payload %q, want none", f.Payload)
		}
		return ""
	}
	if len(f.Payload) < 2 {
		t.Fatalf("close payload %q, want code %d", f.Payload, code)
	}
	got := codec.CloseCode(f.Payload[0])<<8 | codec.CloseCode(f.Payload[1])
	r := string(f.Payload[2:])
	if got != code {
		t.Fatalf("close code %d (reason %q), want %d", got, r, code)
	}
	if reason != nil && r != *reason {
		t.Fatalf("close reason %q, want %q", r, *reason)
	}
	if len(f.Payload) > 125 || !codec.ValidUTF8(f.Payload[2:]) {
		t.Fatalf("close payload of %d bytes, valid UTF-8 %v", len(f.Payload), codec.ValidUTF8(f.Payload[2:]))
	}
	return r
}

// expectFail reads the next frame, which must be the close frame of a protocol error: code and
// the message of err as reason; then the server must close TCP.
func expectFail(t testing.TB, p *wstest.Peer, err *codec.ProtocolError) {
	t.Helper()
	nextClose(t, p, err.Code, &err.Msg)
	p.ExpectEOF()
}

// expectEOFNow fails unless the connection ends (EOF or reset) with no byte received first.
func expectEOFNow(t testing.TB, p *wstest.Peer) {
	t.Helper()
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	b, err := io.ReadAll(p.Conn)
	if len(b) > 0 {
		t.Fatalf("unexpected bytes before the end: %s", short(b))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

// readResponse reads an HTTP response (head and, per Content-Length, body) straight from the
// socket, byte by byte, so nothing after it is consumed. The peer's own reader must not have been
// used.
func readResponse(t testing.TB, p *wstest.Peer) string {
	t.Helper()
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	var head []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := io.ReadFull(p.Conn, one); err != nil {
			t.Fatalf("reading the response head (so far %q): %v", head, err)
		}
		head = append(head, one[0])
	}
	n := 0
	for _, line := range strings.Split(string(head), "\r\n") {
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			fmt.Sscan(v, &n)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(p.Conn, body); err != nil {
		t.Fatalf("reading a %d-byte body after %q: %v", n, head, err)
	}
	return string(head) + string(body)
}

// handshakeError is the exact response AppendHandshakeError writes for e.
func handshakeError(status int, reason, msg string, extra ...string) string {
	s := fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, reason)
	for _, h := range extra {
		s += h + "\r\n"
	}
	return s + fmt.Sprintf("Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n",
		len(msg)+1, msg)
}

// resp101 is the exact 101 answer to wstest.Request, with extra header lines.
func resp101(extra ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	for _, h := range extra {
		s += h + "\r\n"
	}
	return s + "\r\n"
}

func short(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// pattern returns n bytes i%256, as the original suite's getBuffer.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// waitUntil polls cond until it holds, failing after wstest.Timeout.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sortedKeys returns the keys of m in order, so table tests run in a fixed order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
