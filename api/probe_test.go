package api

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The server probes S01-S18 of spec section 19, run against our server. Where the original breaks
// RFC 6455, the expectation is our decision (spec section 15, "DNC"), noted at each case.

// S01: a valid request gets exactly the 101 of spec section 5.3; Path is the raw target.
func TestProbeS01ValidRequest(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, nil)
	p := wstest.Dial(t, addr, "/chat?room=1")
	if string(p.Response) != resp101() {
		t.Fatalf("101 = %q, want %q", p.Response, resp101())
	}
	c := recv(t, conns)
	if c.Path() != "/chat?room=1" {
		t.Fatalf("path %q", c.Path())
	}
	if c.Server() == nil || c.ReadyState() != Open {
		t.Fatalf("server %v, state %d", c.Server(), c.ReadyState())
	}
	if c.RemoteAddr().String() != p.Conn.LocalAddr().String() || c.LocalAddr().String() != p.Conn.RemoteAddr().String() {
		t.Fatalf("addresses %v %v, peer %v %v", c.RemoteAddr(), c.LocalAddr(), p.Conn.LocalAddr(), p.Conn.RemoteAddr())
	}
	want := http.Header{
		"Host":                  {"example.com"},
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		"Sec-Websocket-Version": {"13"},
	}
	if !headersEqual(c.Headers(), want) {
		t.Fatalf("headers %v, want %v", c.Headers(), want)
	}
	if len(c.Protocols()) != 0 || c.Protocol() != "" {
		t.Fatalf("protocols %q, protocol %q", c.Protocols(), c.Protocol())
	}
	p.Write(closeFrame(1000, ""))
	nextClose(t, p, 1000, new(string))
	p.ExpectEOF()
	l.expect(t, "connection /chat?room=1", closeEv(1000, ""))
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// S02/S03: a request without Upgrade gets 400 (not an upgrade, no HTTP handler); version 8 gets
// 426 with Sec-WebSocket-Version: 13 (RFC 6455 section 4.4; the original sent 400, DNC-14). No
// connection event either way, and the server closes TCP after the answer.
func TestProbeS02S03Refused(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	noUpgrade := "GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	p := wstest.DialRaw(t, addr)
	p.Write([]byte(noUpgrade))
	if got, want := readResponse(t, p), handshakeError(400, "Bad Request", codec.ErrNotUpgrade.Msg); got != want {
		t.Fatalf("no Upgrade answered\n%q, want\n%q", got, want)
	}
	expectEOFNow(t, p)

	p = wstest.DialRaw(t, addr)
	p.Write([]byte(strings.Replace(wstest.Request("/chat"), "Version: 13", "Version: 8", 1)))
	if got, want := readResponse(t, p), handshakeError(426, "Upgrade Required", codec.ErrBadVersion.Msg, "Sec-WebSocket-Version: 13"); got != want {
		t.Fatalf("version 8 answered\n%q, want\n%q", got, want)
	}
	expectEOFNow(t, p)
	l.expect(t)
}

// S04: header variants. Our parser follows RFC 7230 (spec DNC-14): optional whitespace around
// values, any token as a name, LF-only lines, token lists; the original's regular expressions
// refused several of these.
func TestProbeS04HeaderVariants(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, nil)
	base := []string{"Host: example.com", "Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"}
	with := func(replace map[int]string, extra ...string) []string {
		lines := slices.Clone(base)
		for i, v := range replace {
			lines[i] = v
		}
		return append(lines, extra...)
	}
	cases := []struct {
		name        string
		requestLine string
		lines       []string
		eol         string
		status      int    // 101 or the refusal status
		check       string // header name whose value must be checkValue (101 only)
		checkValue  string
	}{
		{"no-space-after-colon", "GET / HTTP/1.1", with(map[int]string{1: "Upgrade:websocket"}), "\r\n", 101, "Upgrade", "websocket"},
		{"two-spaces", "GET / HTTP/1.1", with(map[int]string{1: "Upgrade:  websocket"}), "\r\n", 101, "Upgrade", "websocket"},
		{"tab-and-trailing-space", "GET / HTTP/1.1", with(map[int]string{4: "Sec-WebSocket-Version:\t13 "}), "\r\n", 101, "Sec-Websocket-Version", "13"},
		{"upgrade-mixed-case", "GET / HTTP/1.1", with(map[int]string{1: "upgrade: WebSocket"}), "\r\n", 101, "Upgrade", "WebSocket"},
		{"upgrade-token-list", "GET / HTTP/1.1", with(map[int]string{1: "Upgrade: websocket, foo"}), "\r\n", 101, "Upgrade", "websocket, foo"},
		{"connection-keep-alive-upgrade", "GET / HTTP/1.1", with(map[int]string{2: "Connection: keep-alive, Upgrade"}), "\r\n", 101, "Connection", "keep-alive, Upgrade"},
		{"connection-no-space", "GET / HTTP/1.1", with(map[int]string{2: "Connection: Upgrade,Keep-Alive"}), "\r\n", 101, "Connection", "Upgrade,Keep-Alive"},
		{"digit-in-name", "GET / HTTP/1.1", with(nil, "X-Foo1: a"), "\r\n", 101, "X-Foo1", "a"},
		{"underscore-in-name", "GET / HTTP/1.1", with(nil, "X_Under: b"), "\r\n", 101, "X_under", "b"},
		{"empty-value", "GET / HTTP/1.1", with(nil, "Empty: "), "\r\n", 101, "Empty", ""},
		{"lf-only", "GET / HTTP/1.1", base, "\n", 101, "Host", "example.com"},
		{"http-1.2", "GET / HTTP/1.2", base, "\r\n", 101, "Host", "example.com"},
		{"origin-kept", "GET / HTTP/1.1", with(nil, "Origin: http://example.com"), "\r\n", 101, "Origin", "http://example.com"},
		{"duplicate-host", "GET / HTTP/1.1", with(nil, "Host: b"), "\r\n", 400, "", ""},
		{"missing-host", "GET / HTTP/1.1", base[1:], "\r\n", 400, "", ""},
		{"key-not-base64", "GET / HTTP/1.1", with(map[int]string{3: "Sec-WebSocket-Key: key"}), "\r\n", 400, "", ""},
		{"lower-case-request-line", "get /x http/1.0", base, "\r\n", 400, "", ""},
		{"http-1.0", "GET /x HTTP/1.0", base, "\r\n", 400, "", ""},
		{"post", "POST / HTTP/1.1", base, "\r\n", 405, "", ""},
		{"space-in-path", "GET /a b HTTP/1.1", base, "\r\n", 400, "", ""},
		{"version-13-twice", "GET / HTTP/1.1", with(nil, "Sec-WebSocket-Version: 13"), "\r\n", 426, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			p := wstest.DialRaw(t, addr)
			p.Write([]byte(tc.requestLine + tc.eol + strings.Join(tc.lines, tc.eol) + tc.eol + tc.eol))
			if tc.status != 101 {
				got := readResponse(t, p)
				if !strings.HasPrefix(got, "HTTP/1.1 "+strconv.Itoa(tc.status)+" ") {
					t.Fatalf("answered %q, want %d", got, tc.status)
				}
				expectEOFNow(t, p)
				return
			}
			p.Response = p.ReadHead()
			if string(p.Response) != resp101() {
				t.Fatalf("answered %q", p.Response)
			}
			c := recv(t, conns)
			if v, ok := c.Headers()[tc.check]; !ok || len(v) != 1 || v[0] != tc.checkValue {
				t.Fatalf("header %s = %q (present %v); headers %v", tc.check, v, ok, c.Headers())
			}
			cleanClose(t, p)
		})
	}
}

// S05: protocol variants. The client's list is split on commas and trimmed (empty items skipped,
// several header lines joined); the first of the client's list that the server supports wins; no
// offer means no header and a successful handshake; a selector's choice the client did not offer
// is not sent (RFC 6455 section 4.2.2; the original sent it, DNC-18).
func TestProbeS05Protocols(t *testing.T) {
	wstest.CheckLeaks(t)
	cases := []struct {
		name       string
		opts       *ServerOptions
		offer      []string // header lines
		protocols  []string
		chosen     string
		selections int // how many times the selector must have run
	}{
		{"first-of-client-list", &ServerOptions{ValidProtocols: []string{"a", "b", "c"}},
			[]string{"Sec-WebSocket-Protocol: x, b ,a"}, []string{"x", "b", "a"}, "b", 0},
		{"no-offer", &ServerOptions{ValidProtocols: []string{"a", "b", "c"}}, nil, nil, "", 0},
		{"no-match", &ServerOptions{ValidProtocols: []string{"a", "b", "c"}},
			[]string{"Sec-WebSocket-Protocol: x, y, z"}, []string{"x", "y", "z"}, "", 0},
		{"no-selector", nil, []string{"Sec-WebSocket-Protocol: x, y"}, []string{"x", "y"}, "", 0},
		{"several-lines-and-empty-items", &ServerOptions{ValidProtocols: []string{"y"}},
			[]string{"Sec-WebSocket-Protocol: x,,", "Sec-WebSocket-Protocol: y"}, []string{"x", "y"}, "y", 0},
		{"case-sensitive", &ServerOptions{ValidProtocols: []string{"chat"}},
			[]string{"Sec-WebSocket-Protocol: Chat"}, []string{"Chat"}, "", 0},
		{"selector-not-offered", &ServerOptions{SelectProtocol: func(*Conn, []string) string { return "zzz" }},
			[]string{"Sec-WebSocket-Protocol: a, b"}, []string{"a", "b"}, "", 1},
		{"selector-over-valid-protocols", &ServerOptions{ValidProtocols: []string{"a"},
			SelectProtocol: func(_ *Conn, p []string) string { return p[len(p)-1] }},
			[]string{"Sec-WebSocket-Protocol: a, b"}, []string{"a", "b"}, "b", 1},
		{"selector-not-called-without-offer", &ServerOptions{SelectProtocol: func(_ *Conn, p []string) string { return p[0] }},
			nil, nil, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			calls := 0
			if sel := tc.opts; sel != nil && sel.SelectProtocol != nil {
				inner := sel.SelectProtocol
				o := *sel
				o.SelectProtocol = func(c *Conn, p []string) string {
					calls++
					if !slices.Equal(p, c.Protocols()) {
						t.Errorf("selector got %q, conn has %q", p, c.Protocols())
					}
					return inner(c, p)
				}
				tc.opts = &o
			}
			_, addr, _, conns := recServer(t, tc.opts)
			p := wstest.Dial(t, addr, "/", tc.offer...)
			want := resp101()
			if tc.chosen != "" {
				want = resp101("Sec-WebSocket-Protocol: " + tc.chosen)
			}
			if string(p.Response) != want {
				t.Fatalf("101 = %q, want %q", p.Response, want)
			}
			c := recv(t, conns)
			if !slices.Equal(c.Protocols(), tc.protocols) || c.Protocol() != tc.chosen {
				t.Fatalf("protocols %q protocol %q, want %q %q", c.Protocols(), c.Protocol(), tc.protocols, tc.chosen)
			}
			if calls != tc.selections {
				t.Fatalf("selector ran %d times, want %d", calls, tc.selections)
			}
			cleanClose(t, p)
		})
	}
}

// S06: frames right behind the upgrade request, in the same write, are delivered after the
// connection event (so handlers set there see them), and a message sent inside the connection
// handler follows the 101.
func TestProbeS06FramesBehindRequest(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	_, addr := startServer(t, nil, func(c *Conn) {
		l.add("connection")
		recordConn(c, l)
		c.SendText("hello", nil)
	})
	p := wstest.DialRaw(t, addr)
	p.Write(append([]byte(wstest.Request("/")), frames(fr(true, opText, "early"), wstest.FrameBytes(true, opBinary, []byte{1, 2}))...))
	if head := string(p.ReadHead()); head != resp101() {
		t.Fatalf("101 = %q", head)
	}
	nextFrame(t, p, true, opText, []byte("hello"))
	cleanClose(t, p)
	l.expect(t, "connection", `text "early"`, "binary", `chunk "\x01\x02"`, "end <nil>", closeEv(1000, ""))
}

// S07, S07b: header-level and sequence-level protocol errors. The server sends close 1002 and
// closes TCP; the connection reports error then close(1002) exactly once (the original reported
// close twice, DNC-2), is Closed and no longer listed. The peer's close reply changes nothing.
func TestProbeS07ProtocolErrors(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	cases := []struct {
		name  string
		bytes []byte
		err   *codec.ProtocolError
	}{
		{"unmasked", []byte{0x81, 0x02, 'h', 'i'}, codec.ErrUnmaskedFrame},
		{"rsv1", maskedRaw(0xc1, []byte("hi")), codec.ErrReservedBits},
		{"opcode-3", maskedRaw(0x83, []byte("hi")), codec.ErrUnknownOpcode},
		{"opcode-11", maskedRaw(0x8b, []byte("hi")), codec.ErrUnknownOpcode},
		{"fragmented-ping", maskedRaw(0x09, []byte("hi")), codec.ErrFragmentedControl},
		{"continuation-without-start", fr(true, opCont, "hi"), codec.ErrUnexpectedCont},
		{"text-inside-text", frames(fr(false, opText, "a"), fr(true, opText, "b")), codec.ErrExpectedCont},
		{"binary-inside-text", frames(fr(false, opText, "a"), fr(true, opBinary, "b")), codec.ErrExpectedCont},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			l.reset()
			p := wstest.Dial(t, addr, "/s07")
			p.Write(tc.bytes)
			nextClose(t, p, tc.err.Code, &tc.err.Msg)
			p.Conn.Write(closeFrame(tc.err.Code, "")) // the peer's reply, if the socket still takes it
			p.ExpectEOF()
			l.expect(t, "connection /s07", violationEv(tc.err), closeEv(int(tc.err.Code), ""))
		})
	}
}

// S08: a ping's payload comes back byte for byte (the original sent it through a string, DNC-7);
// a ping of 200 bytes is a protocol error (DNC-8).
func TestProbeS08Ping(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, opPing, []byte{0xff, 0x00, 0x80, 0x41})
	nextWire(t, p, []byte{0x8a, 0x04, 0xff, 0x00, 0x80, 0x41})
	p.WriteFrame(true, opPing, bytes.Repeat([]byte{'p'}, 200))
	expectFail(t, p, codec.ErrControlTooLong)
	l.expect(t, "connection /", violationEv(codec.ErrControlTooLong), closeEv(1002, ""))
}

// S09: invalid UTF-8 in a text fails with 1007 (the original delivered U+FFFD, DNC-5); a
// character split over two fragments is delivered whole (the original broke it, DNC-6).
func TestProbeS09UTF8(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	p.Write(frames(fr(false, opText, "caf\xc3"), fr(true, opCont, "\xa9")))
	l.waitFor(t, `text "café"`)
	p.Write(fr(true, opText, "bad \xff"))
	expectFail(t, p, codec.ErrInvalidUTF8)
	l.expect(t, "connection /", `text "café"`, violationEv(codec.ErrInvalidUTF8), closeEv(1007, ""))
}

// S10: a ping inside a fragmented text is answered and the text delivered whole; a fragmented
// binary message reaches the InStream one chunk per frame; empty messages are delivered.
func TestProbeS10Fragments(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	p.Write(frames(fr(false, opText, "Hel"), fr(true, opPing, "in"), fr(true, opCont, "lo")))
	nextFrame(t, p, true, opPong, []byte("in"))
	l.waitFor(t, `text "Hello"`)
	p.Write(frames(wstest.FrameBytes(false, opBinary, pattern(15)), wstest.FrameBytes(true, opCont, pattern(30)[15:])))
	l.waitFor(t, "end <nil>")
	p.Write(frames(fr(true, opBinary, ""), fr(true, opText, "")))
	l.waitFor(t, `text ""`)
	cleanClose(t, p)
	l.expect(t, "connection /", `text "Hello"`,
		"binary", `chunk "\x00\x01\x02\x03\x04\x05\x06\a\b\t\n\v\f\r\x0e"`,
		`chunk "\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d"`, "end <nil>",
		"binary", "end <nil>", `text ""`, closeEv(1000, ""))
}

// S11: close frames. Valid ones are echoed and reported with their code and reason (1005 for an
// empty close); invalid ones fail the connection (1002; 1007 for a reason that is not UTF-8), where
// the original echoed them (DNC-9). The server closes TCP after the close handshake (the original
// waited for the client), and a text after the close is not delivered.
func TestProbeS11CloseFrames(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	cases := []struct {
		name    string
		payload []byte
		echo    []byte // the close payload echoed, nil for a failure
		err     *codec.ProtocolError
		event   string
	}{
		{"1000-bye", codec.AppendClosePayload(nil, 1000, "bye"), codec.AppendClosePayload(nil, 1000, "bye"), nil, closeEv(1000, "bye")},
		{"empty", nil, []byte{}, nil, closeEv(1005, "")},
		{"one-byte", []byte{0x03}, nil, codec.ErrCloseOneByte, closeEv(1002, "")},
		{"999", codec.AppendClosePayload(nil, 999, ""), nil, codec.ErrInvalidCloseCode, closeEv(1002, "")},
		{"1005", []byte{0x03, 0xed}, nil, codec.ErrInvalidCloseCode, closeEv(1002, "")},
		{"bad-utf8-reason", []byte{0x03, 0xe8, 0xff}, nil, codec.ErrInvalidCloseReason, closeEv(1007, "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			l.reset()
			p := wstest.Dial(t, addr, "/s11")
			p.Write(frames(wstest.FrameBytes(true, opClose, tc.payload), fr(true, opText, "after close")))
			if tc.err != nil {
				expectFail(t, p, tc.err)
				l.expect(t, "connection /s11", violationEv(tc.err), tc.event)
				return
			}
			nextWire(t, p, wstest.ServerFrame(true, opClose, tc.echo))
			p.ExpectEOF()
			l.expect(t, "connection /s11", tc.event)
		})
	}
}

// S12: the peer ends TCP without a close frame: close(1006, "") and no error; the peer resets
// the connection: error, then close(1006, "").
func TestProbeS12PeerGone(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	t.Run("fin", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		p.Conn.(*net.TCPConn).CloseWrite()
		p.ExpectEOF()
		l.expect(t, "connection /", closeEv(1006, ""))
	})
	t.Run("rst", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		l.waitN(t, 1)
		p.Conn.(*net.TCPConn).SetLinger(0)
		p.Conn.Close()
		l.waitN(t, 3)
		l.quiet(t)
		ev := l.get()
		if len(ev) != 3 || !strings.HasPrefix(ev[1], "error ") || ev[2] != closeEv(1006, "") {
			t.Fatalf("events %q, want connection, error, %s", ev, closeEv(1006, ""))
		}
		if !strings.Contains(ev[1], "reset") {
			t.Fatalf("error event %q does not say the connection was reset", ev[1])
		}
	})
}

// S13: the server closes twice: one close frame, the second Close does nothing (the original sent
// FIN and fired close again, DNC-2/DNC-3); the close event fires once, after the handshake ends,
// with the code the peer answered. A peer that never answers is cut off after CloseTimeout with
// ErrCloseTimeout and close(1006).
func TestProbeS13CloseTwice(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, &ServerOptions{CloseTimeout: 300 * time.Millisecond})
	t.Run("answered", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		if err := c.Close(1000, "bye"); err != nil {
			t.Fatal(err)
		}
		if c.ReadyState() != Closing {
			t.Fatalf("state after Close %d", c.ReadyState())
		}
		if err := c.Close(4000, "again"); err != nil {
			t.Fatal(err)
		}
		bye := "bye"
		nextClose(t, p, 1000, &bye)
		p.ExpectSilence(settle) // no FIN yet: the server waits for the reply
		if ev := l.get(); len(ev) != 1 {
			t.Fatalf("events before the reply %q", ev)
		}
		p.Write(closeFrame(1000, "bye"))
		if rest := p.ExpectEOF(); len(rest) != 0 {
			t.Fatalf("after the close frame, before the end: %s", short(rest)) // a second close frame
		}
		l.expect(t, "connection /", closeEv(1000, "bye"))
		if err := c.Close(1000, ""); err != nil {
			t.Fatalf("Close after closed: %v", err)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		start := time.Now()
		c.Close(0, "")
		nextClose(t, p, 0, nil)
		p.ExpectEOF()
		if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
			t.Fatalf("cut off after %v, want about 300ms", d)
		}
		l.expect(t, "connection /", errEv(ErrCloseTimeout), closeEv(1006, ""))
	})
}

// S14: the send APIs' return values and callbacks (every callback exactly once; the original never
// called the callbacks of rejected sends, DNC-23, and had nothing for Send(42) but a throw).
func TestProbeS14SendAPIs(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	r := newCBRecorder()
	if err := c.SendText("text", r.cb("text")); err != nil {
		t.Fatal(err)
	}
	nextFrame(t, p, true, opText, []byte("text"))
	r.expect(t, "text", nil)
	if err := c.SendBinary([]byte{1, 2}, r.cb("binary")); err != nil {
		t.Fatal(err)
	}
	nextFrame(t, p, true, opBinary, []byte{1, 2})
	r.expect(t, "binary", nil)
	if err := c.Send("s", r.cb("send string")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send([]byte("b"), r.cb("send bytes")); err != nil {
		t.Fatal(err)
	}
	nextFrame(t, p, true, opText, []byte("s"))
	nextFrame(t, p, true, opBinary, []byte("b"))
	r.expect(t, "send string", nil)
	r.expect(t, "send bytes", nil)
	if err := c.Send(42, r.cb("send 42")); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("Send(42) = %v", err)
	}
	r.expect(t, "send 42", ErrInvalidData)
	if err := c.SendPing(bytes.Repeat([]byte{1}, 126)); !errors.Is(err, ErrPingTooLong) {
		t.Fatalf("SendPing(126 bytes) = %v", err)
	}
	if err := c.Close(999, ""); !errors.Is(err, ErrInvalidCloseCode) {
		t.Fatalf("Close(999) = %v", err)
	}

	out, err := c.BeginBinary()
	if err != nil {
		t.Fatal(err)
	}
	if c.OutStream() != out {
		t.Fatal("OutStream() is not the stream begun")
	}
	if err := c.SendText("no", r.cb("text while streaming")); !errors.Is(err, ErrTextWhileStreaming) {
		t.Fatalf("SendText while streaming = %v", err)
	}
	r.expect(t, "text while streaming", ErrTextWhileStreaming)
	if err := c.SendBinary([]byte("no"), r.cb("binary while streaming")); !errors.Is(err, ErrBinaryWhileStreaming) {
		t.Fatalf("SendBinary while streaming = %v", err)
	}
	r.expect(t, "binary while streaming", ErrBinaryWhileStreaming)
	if err := c.Send("no", r.cb("send while streaming")); !errors.Is(err, ErrTextWhileStreaming) {
		t.Fatalf("Send while streaming = %v", err)
	}
	r.expect(t, "send while streaming", ErrTextWhileStreaming)
	if _, err := c.BeginBinary(); !errors.Is(err, ErrBinaryWhileStreaming) {
		t.Fatalf("second BeginBinary = %v", err)
	}
	if ErrTextWhileStreaming.Error() != "You can't send a text frame until you finish sending binary frames" ||
		ErrBinaryWhileStreaming.Error() != "You can't send more binary frames until you finish sending the previous binary frames" ||
		ErrNotOpen.Error() != "You can't write to a non-open connection" {
		t.Fatal("the error messages are not the original's")
	}
	if err := c.SendPing([]byte("during stream")); err != nil {
		t.Fatalf("SendPing while streaming = %v", err)
	}
	nextFrame(t, p, true, opPing, []byte("during stream"))
	p.Write(fr(true, opPong, "during stream"))
	l.waitFor(t, `pong "during stream"`)
	if err := out.CloseWith(r.cb("stream close")); err != nil {
		t.Fatal(err)
	}
	if c.OutStream() != nil {
		t.Fatal("OutStream() not nil after Close")
	}
	if err := c.SendText("right after", r.cb("text after stream")); err != nil {
		t.Fatalf("SendText right after the stream's Close = %v", err)
	}
	nextFrame(t, p, true, opBinary, nil)
	nextFrame(t, p, true, opText, []byte("right after"))
	r.expect(t, "stream close", nil)
	r.expect(t, "text after stream", nil)
	if err := out.CloseWith(r.cb("stream close again")); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("second stream Close = %v", err)
	}
	r.expect(t, "stream close again", ErrStreamClosed)
	if _, err := out.Write([]byte("x")); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Write after Close = %v", err)
	}

	cleanClose(t, p)
	l.waitFor(t, closeEv(1000, ""))
	if err := c.SendText("late", r.cb("late text")); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("SendText after close = %v", err)
	}
	r.expect(t, "late text", ErrNotOpen)
	if err := c.SendBinary([]byte("late"), r.cb("late binary")); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("SendBinary after close = %v", err)
	}
	r.expect(t, "late binary", ErrNotOpen)
	if err := c.Send([]byte("late"), r.cb("late send")); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("Send after close = %v", err)
	}
	r.expect(t, "late send", ErrNotOpen)
	if err := c.Send(42, r.cb("late send 42")); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("Send(42) after close = %v", err)
	}
	r.expect(t, "late send 42", ErrInvalidData)
	if err := c.SendPing(nil); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("SendPing after close = %v", err)
	}
	if _, err := c.BeginBinary(); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("BeginBinary after close = %v", err)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Fatalf("Close after close = %v", err)
	}
}

// S15: OutStream fragments. Fragment size 10, writes of 4, 4, 4, 20 and 2 bytes then Close: frames
// of 12, 20 and 2 bytes, opcodes 2, 0, 0, FIN only on the last; fragment size 4: 4, 4, 4, 20, 2.
// BeginBinary then Close: one empty binary frame with FIN.
func TestProbeS15OutStream(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, tc := range []struct {
		fragment int
		sizes    []int
	}{{10, []int{12, 20, 2}}, {4, []int{4, 4, 4, 20, 2}}} {
		t.Run(strconv.Itoa(tc.fragment), func(t *testing.T) {
			wstest.CheckLeaks(t)
			_, addr, _, conns := recServer(t, &ServerOptions{BinaryFragmentation: tc.fragment})
			p := wstest.Dial(t, addr, "/")
			c := recv(t, conns)
			out, err := c.BeginBinary()
			if err != nil {
				t.Fatal(err)
			}
			data := pattern(34)
			for _, w := range [][]byte{data[:4], data[4:8], data[8:12], data[12:32], []byte("ee")} {
				if n, err := out.Write(w); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			copy(data[32:], "ee")
			if err := out.Close(); err != nil {
				t.Fatal(err)
			}
			var wire []byte
			at := 0
			for i, n := range tc.sizes {
				op := opCont
				if i == 0 {
					op = opBinary
				}
				wire = append(wire, wstest.ServerFrame(i == len(tc.sizes)-1, op, data[at:at+n])...)
				at += n
			}
			nextWire(t, p, wire)
			if _, err := c.BeginBinary(); err != nil {
				t.Fatal(err)
			}
			if err := c.OutStream().Close(); err != nil {
				t.Fatal(err)
			}
			nextWire(t, p, []byte{0x82, 0x00})
			cleanClose(t, p)
		})
	}
}

// S16: with a cap of 1000, a 3000-byte frame fails with 1009 whether it arrives in 3 writes or in
// one, and so do 5 text fragments of 900 bytes (the original accepted the last two, DNC-10).
func TestProbeS16Cap(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, &ServerOptions{MaxBufferLength: 1000})
	big := wstest.FrameBytes(true, opBinary, pattern(3000))
	var fragments [][]byte
	for i := range 5 {
		op := opCont
		if i == 0 {
			op = opText
		}
		fragments = append(fragments, fr(i == 4, op, strings.Repeat("x", 900)))
	}
	cases := []struct {
		name   string
		pieces [][]byte
		err    *codec.ProtocolError
		before []string // events before the error
	}{
		{"3000-byte-frame-in-3-writes", [][]byte{big[:1000], big[1000:2000], big[2000:]}, codec.ErrPayloadTooBig, nil},
		{"3000-byte-frame-in-1-write", [][]byte{big}, codec.ErrPayloadTooBig, nil},
		{"5x900-text-fragments", [][]byte{frames(fragments...)}, codec.ErrMessageTooBig, nil},
		{"streamed-binary-600+600", [][]byte{frames(fr(false, opBinary, strings.Repeat("x", 600)), fr(true, opCont, strings.Repeat("x", 600)))},
			codec.ErrMessageTooBig, []string{"binary", `chunk "` + strings.Repeat("x", 600) + `"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			l.reset()
			p := wstest.Dial(t, addr, "/")
			for _, piece := range tc.pieces {
				p.Conn.Write(piece) // the server may be gone after the first
			}
			expectFail(t, p, tc.err)
			want := append([]string{"connection /"}, tc.before...)
			want = append(want, violationEv(tc.err))
			if tc.before != nil {
				want = append(want, "end "+ErrTruncated.Error())
			}
			l.expect(t, append(want, closeEv(1009, ""))...)
		})
	}
}

// S17: a 5-byte text whose length is written in 16 bits is delivered at once (the original waited
// for 126 bytes, DNC-13).
func TestProbeS17NonMinimalLength(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	p.Write(frameWithLength(0x81, []byte{126, 0, 5}, []byte("hello")))
	l.waitFor(t, `text "hello"`)
	cleanClose(t, p)
	l.expect(t, "connection /", `text "hello"`, closeEv(1000, ""))
}

// S18: Server.Close with two live connections and a socket that never sent a handshake: new
// connections are refused, the open ones go on working, and the close event (and callback) fire
// once, only after the last socket ended. A second Close returns ErrServerClosed.
func TestProbeS18ServerClose(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	s := CreateServer(nil, func(c *Conn) { l.add("connection") })
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	s.OnClose(func(*Server) { l.add("server close event") })
	if err := s.Listen(0, "127.0.0.1", func(*Server) { l.add("listening") }); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	a := wstest.Dial(t, addr, "/")
	b := wstest.Dial(t, addr, "/")
	idle := wstest.DialRaw(t, addr)
	idle.Write([]byte("GET / HTTP/1.1\r\n")) // never finished
	l.waitN(t, 3)
	// The idle socket has no event of its own: wait until the server counts it, or closing the
	// listener resets it in the backlog before the server ever takes it.
	waitSockets(t, s, 3)
	if err := s.Close(func(*Server) { l.add("close callback") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(func(*Server) { l.add("second close callback") }); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if nc, err := net.DialTimeout("tcp", addr, wstest.Timeout); err == nil {
		nc.Close()
		t.Fatal("a new connection was accepted after Close")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close: %v, want connection refused", err)
	}
	a.Write(fr(true, opText, "still open"))
	nextFrame(t, a, true, opText, []byte("still open"))
	cleanClose(t, a)
	waitSockets(t, s, 2) // a is counted out: had that fired the close event, it would be logged
	if ev := l.get(); len(ev) != 3 {
		t.Fatalf("events once the first socket ended %q", ev)
	}
	b.Write(fr(true, opText, "me too"))
	nextFrame(t, b, true, opText, []byte("me too"))
	cleanClose(t, b)
	waitSockets(t, s, 1)
	if ev := l.get(); len(ev) != 3 {
		t.Fatalf("events before the last socket ended %q", ev)
	}
	idle.Conn.Close()
	l.expect(t, "listening", "connection", "connection", "server close event", "close callback")
}
