package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// t0 is the clock of every test connection when it opens.
const t0 = int64(1_000_000_000_000)

// upgrade is a valid browser-like upgrade request.
const upgrade = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// recorder is the layer above as a test sees it: every event, in order, as a line.
type recorder struct {
	events  []string
	message func(op codec.Opcode, p []byte) // runs inside Message, if set
	stream  bool                            // stream binary messages
	http    bool                            // serve plain HTTP requests
	refuse  int                             // the status every handshake is refused with; 0 accepts
}

func (r *recorder) add(format string, args ...any) {
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) Handshake(*codec.Request) Verdict { return Verdict{Refuse: r.refuse} }
func (r *recorder) ServeHTTP(req *codec.Request, body, dst []byte) ([]byte, bool) {
	r.add("http %d", len(body))
	return append(dst, "HTTP/1.1 204 No Content\r\n\r\n"...), r.http
}
func (r *recorder) Upgraded(*codec.Response) { r.add("upgraded") }
func (r *recorder) Opened()                  { r.add("open") }
func (r *recorder) Message(op codec.Opcode, p []byte) {
	r.add("%s %q", op, truncate(p))
	if r.message != nil {
		r.message(op, p)
	}
}
func (r *recorder) StreamBinary() bool   { return r.stream }
func (r *recorder) StreamStart()         { r.add("stream start") }
func (r *recorder) StreamChunk(p []byte) { r.add("chunk %d", len(p)) }
func (r *recorder) StreamEnd(err error)  { r.add("stream end %v", err) }
func (r *recorder) Drained()             { r.add("drained") }
func (r *recorder) Pong(p []byte)        { r.add("pong %q", p) }
func (r *recorder) Error(err error)      { r.add("error %v", err) }
func (r *recorder) Closed(opened bool, code codec.CloseCode, reason []byte, _ error) {
	r.add("closed %v %d %q", opened, code, reason)
}

func truncate(p []byte) string {
	if len(p) > 16 {
		return fmt.Sprintf("%s...(%d)", p[:16], len(p))
	}
	return string(p)
}

// expect fails unless the events since the last call are want, in order.
func (r *recorder) expect(t *testing.T, want ...string) {
	t.Helper()
	if strings.Join(r.events, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(r.events, "\n  "), strings.Join(want, "\n  "))
	}
	r.events = nil
}

// conn is one engine connection over an in-memory transport, with its recorder.
type conn struct {
	*Conn
	m  *poller.Memory
	ev *recorder
}

// newConn opens a connection of role with cfg on a memory transport.
func newConn(t *testing.T, cfg Config) *conn {
	t.Helper()
	c := &conn{Conn: &Conn{}, ev: &recorder{}}
	c.Init(&cfg, c.ev)
	if cfg.Role == codec.ClientRole {
		if err := c.SetRequest(codec.ClientRequest{Host: "example.com", Target: "/chat"}); err != nil {
			t.Fatal(err)
		}
	}
	c.m = newMemory(c.Conn)
	return c
}

// newMemory opens c on a memory transport at t0.
func newMemory(c *Conn) *poller.Memory { return poller.NewMemory(c, t0) }

// openClient returns a client connection whose handshake succeeded.
func openClient(t *testing.T, cfg Config) *conn {
	t.Helper()
	cfg.Role = codec.ClientRole
	c := newConn(t, cfg)
	req := string(c.m.Read())
	_, after, ok := strings.Cut(req, "Sec-WebSocket-Key: ")
	key, _, _ := strings.Cut(after, "\r\n")
	if !ok || !strings.HasPrefix(req, "GET /chat HTTP/1.1\r\n") {
		t.Fatalf("upgrade request %q", req)
	}
	c.m.Feed([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + string(codec.AppendAccept(nil, []byte(key))) + "\r\n\r\n"))
	c.ev.expect(t, "upgraded", "open")
	return c
}

// openServer returns a server connection whose handshake succeeded, with its 101 read.
func openServer(t *testing.T, cfg Config) *conn {
	t.Helper()
	cfg.Role = codec.ServerRole
	c := newConn(t, cfg)
	c.m.Feed([]byte(upgrade))
	if out := string(c.m.Read()); !strings.HasPrefix(out, "HTTP/1.1 101 ") {
		t.Fatalf("answer to the upgrade: %q", out)
	}
	c.ev.expect(t, "open")
	return c
}

// frame is a masked client frame.
func frame(fin bool, op codec.Opcode, payload string) []byte {
	return codec.AppendFrame(nil, fin, op, []byte(payload), codec.ClientRole, [4]byte{1, 2, 3, 4})
}

// wireFrame is a frame as a peer reads it.
type wireFrame struct {
	fin     bool
	op      codec.Opcode
	payload string
}

func (f wireFrame) String() string {
	return fmt.Sprintf("%v %s %q", f.fin, f.op, truncate([]byte(f.payload)))
}

// frames parses what the peer read; the side is the reader's.
func frames(t *testing.T, b []byte, reader codec.Role) []wireFrame {
	t.Helper()
	var out []wireFrame
	for len(b) > 0 {
		h, n, err := codec.ParseHeader(b, reader, 1<<30)
		if err != nil || n == 0 || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame in output (%v, header %d of %d bytes)", err, n, len(b))
		}
		p := append([]byte(nil), b[n:n+int(h.Length)]...)
		if h.Masked {
			codec.Mask(h.Mask, 0, p)
		}
		out = append(out, wireFrame{h.Fin, h.Opcode, string(p)})
		b = b[n+int(h.Length):]
	}
	return out
}

// expectFrames fails unless the peer reads exactly want.
func (c *conn) expectFrames(t *testing.T, want ...wireFrame) {
	t.Helper()
	reader := codec.ClientRole
	if c.cfg.Role == codec.ClientRole {
		reader = codec.ServerRole
	}
	got := frames(t, c.m.Read(), reader)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("peer read %v, want %v", got, want)
	}
}

// closeFrame is the frame of a close with code and reason.
func closeFrame(code codec.CloseCode, reason string) wireFrame {
	return wireFrame{true, codec.OpClose, string(codec.AppendClosePayload(nil, code, reason))}
}

// after moves the clock d past the connection's open, firing what is due.
func (c *conn) after(d time.Duration) { c.m.SetNow(t0 + int64(d)) }

// expectClosedAt fails unless the connection is still open just before d past its open and
// closed at d: the deadline named what.
func (c *conn) expectClosedAt(t *testing.T, d time.Duration, what string) {
	t.Helper()
	c.after(d - time.Millisecond)
	if c.m.Closed() {
		t.Fatalf("closed before %s", what)
	}
	c.after(d)
	if !c.m.Closed() {
		t.Fatalf("still open at %s", what)
	}
}

// tick runs the drain poll the loop runs at every tick.
func (c *conn) tick() {
	if dl := c.m.Deadline(); dl != 0 {
		c.m.SetNow(max(dl, c.m.Now()))
	}
}
