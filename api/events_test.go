package api

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The event contract and the send APIs beyond the probes: handler precedence, close exactly once
// with the right code in every way a connection ends, server lifecycle, callbacks exactly once
// (also for sends cut off by the connection's end and sends from many goroutines), InStream ends,
// OutStream after the connection closed, Close's codes and reasons on the wire.

// Handlers set on the server apply to every connection that does not set its own; a connection's
// own handler replaces the server's for that event only; OnMessage takes every message.
func TestEventHandlerPrecedence(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	s, addr := startServer(t, nil, func(c *Conn) {
		switch c.Path() {
		case "/own-text":
			c.OnText(func(c *Conn, s string) { l.add("own text %s", s) })
		case "/message":
			c.OnMessage(func(c *Conn, typ MessageType, p []byte) { l.add("message %d %q", typ, p) })
		}
	})
	s.OnText(func(c *Conn, text string) { l.add("server text %s %s", c.Path(), text) })
	s.OnBinary(func(c *Conn, in *InStream) {
		in.ReadAll(func(data []byte, err error) { l.add("server binary %s %q %v", c.Path(), data, err) })
	})
	s.OnPong(func(c *Conn, p []byte) { l.add("server pong %s %q", c.Path(), p) })
	s.OnConnClose(func(c *Conn, code int, reason string) { l.add("server close %s %d %s", c.Path(), code, reason) })
	s.OnConnError(func(c *Conn, err error) { l.add("server error %s %v", c.Path(), err) })
	for _, path := range []string{"/default", "/own-text", "/message"} {
		l.reset()
		p := wstest.Dial(t, addr, path)
		p.Write(frames(fr(true, opText, "t"), wstest.FrameBytes(true, opBinary, []byte{7}), fr(true, opPong, "p"),
			fr(true, opBinary, "bad \xff"), fr(true, opText, "bad \xff")))
		expectFail(t, p, codec.ErrInvalidUTF8)
		switch path {
		case "/default":
			l.expect(t, "server text /default t", `server binary /default "\a" <nil>`, `server pong /default "p"`,
				`server binary /default "bad \xff" <nil>`, "server error /default "+eventError(codec.ErrInvalidUTF8).Error(), "server close /default 1007 ")
		case "/own-text":
			l.expect(t, "own text t", `server binary /own-text "\a" <nil>`, `server pong /own-text "p"`,
				`server binary /own-text "bad \xff" <nil>`, "server error /own-text "+eventError(codec.ErrInvalidUTF8).Error(), "server close /own-text 1007 ")
		case "/message":
			l.expect(t, `message 1 "t"`, `message 2 "\a"`, `server pong /message "p"`, `message 2 "bad \xff"`,
				"server error /message "+eventError(codec.ErrInvalidUTF8).Error(), "server close /message 1007 ")
		}
	}
}

// Every way a connection ends gives exactly one close event, after the error event when an error
// ended it, with the connection Closed and off the server's list: the peer's close (its code,
// 1005 when it had none), our close answered, our close unanswered (ErrCloseTimeout, 1006 after CloseTimeout), a
// protocol error (its code), the peer's FIN (1006), the peer's reset (error, 1006).
func TestEventCloseOnceEveryWay(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, &ServerOptions{CloseTimeout: 200 * time.Millisecond})
	cases := []struct {
		name string
		run  func(t *testing.T, p *wstest.Peer, c *Conn)
		want []string
	}{
		{"peer-close-with-code", func(t *testing.T, p *wstest.Peer, c *Conn) {
			p.Write(closeFrame(4001, "peer"))
			nextClose(t, p, 4001, nil)
			p.ExpectEOF()
		}, []string{closeEv(4001, "peer")}},
		{"peer-close-empty", func(t *testing.T, p *wstest.Peer, c *Conn) {
			p.Write(fr(true, opClose, ""))
			nextClose(t, p, 0, nil)
			p.ExpectEOF()
		}, []string{closeEv(1005, "")}},
		{"our-close-answered-with-another-code", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.Close(4002, "ours")
			r := "ours"
			nextClose(t, p, 4002, &r)
			p.Write(closeFrame(1001, "theirs"))
			p.ExpectEOF()
		}, []string{closeEv(1001, "theirs")}},
		{"our-close-answered-empty", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.Close(1000, "")
			nextClose(t, p, 1000, nil)
			p.Write(fr(true, opClose, ""))
			p.ExpectEOF()
		}, []string{closeEv(1005, "")}},
		{"our-close-without-code", func(t *testing.T, p *wstest.Peer, c *Conn) {
			if err := c.Close(0, ""); err != nil {
				t.Fatalf(`Close(0, "") = %v`, err)
			}
			nextClose(t, p, 0, nil)
			p.Write(fr(true, opClose, ""))
			p.ExpectEOF()
		}, []string{closeEv(1005, "")}},
		{"our-close-unanswered", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.Close(1000, "")
			nextClose(t, p, 1000, nil)
			p.ExpectEOF()
		}, []string{errEv(ErrCloseTimeout), closeEv(1006, "")}},
		{"our-close-then-peer-fin", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.Close(1000, "")
			nextClose(t, p, 1000, nil)
			p.Conn.(*net.TCPConn).CloseWrite()
			p.ExpectEOF()
		}, []string{closeEv(1006, "")}},
		{"protocol-error", func(t *testing.T, p *wstest.Peer, c *Conn) {
			p.Write(maskedRaw(0x83, nil))
			expectFail(t, p, codec.ErrUnknownOpcode)
		}, []string{violationEv(codec.ErrUnknownOpcode), closeEv(1002, "")}},
		{"protocol-error-while-closing", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.Close(1000, "")
			nextClose(t, p, 1000, nil)
			p.Write(maskedRaw(0x83, nil))
			p.ExpectEOF()
		}, []string{violationEv(codec.ErrUnknownOpcode), closeEv(1002, "")}},
		{"peer-fin", func(t *testing.T, p *wstest.Peer, c *Conn) {
			p.Conn.(*net.TCPConn).CloseWrite()
			p.ExpectEOF()
		}, []string{closeEv(1006, "")}},
		{"close-in-text-handler-drops-the-rest", func(t *testing.T, p *wstest.Peer, c *Conn) {
			c.OnText(func(c *Conn, s string) {
				l.add("text %q", s)
				c.Close(1000, "enough")
			})
			p.Write(frames(fr(true, opText, "one"), fr(true, opText, "two"), fr(true, opPing, "p"), fr(true, opText, "three")))
			r := "enough"
			nextClose(t, p, 1000, &r) // no pong: nothing after our close is answered
			p.Write(closeFrame(1000, "enough"))
			p.ExpectEOF()
		}, []string{`text "one"`, closeEv(1000, "enough")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			l.reset()
			p := wstest.Dial(t, addr, "/")
			c := recv(t, conns)
			tc.run(t, p, c)
			l.expect(t, append([]string{"connection /"}, tc.want...)...)
			if c.ReadyState() != Closed {
				t.Fatalf("final state %d", c.ReadyState())
			}
		})
	}
}

// A connection closed inside the connection handler: the client gets the 101, then the close.
func TestEventCloseInConnectionHandler(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	_, addr := startServer(t, nil, func(c *Conn) {
		recordConn(c, l)
		c.Close(4002, "go away")
	})
	p := wstest.Dial(t, addr, "/")
	r := "go away"
	nextClose(t, p, 4002, &r)
	p.Write(closeFrame(4002, "go away"))
	p.ExpectEOF()
	l.expect(t, closeEv(4002, "go away"))
}

// Close's codes and reasons on the wire: codes RFC 6455 does not allow are refused, a reason is cut
// to 123 bytes at a character boundary.
func TestEventCloseCodesAndReasons(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, nil)
	for _, code := range []int{-1, 1, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535, 65536} {
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		if err := c.Close(code, ""); !errors.Is(err, ErrInvalidCloseCode) {
			t.Fatalf("Close(%d) = %v", code, err)
		}
		if c.ReadyState() != Open {
			t.Fatalf("state after a refused Close(%d): %d", code, c.ReadyState())
		}
		cleanClose(t, p)
	}
	for _, tc := range []struct {
		reason, want string
	}{
		{strings.Repeat("a", 200), strings.Repeat("a", 123)},
		{strings.Repeat("é", 70), strings.Repeat("é", 61)},
		{strings.Repeat("a", 122) + "🙂", strings.Repeat("a", 122)},
	} {
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		if err := c.Close(3000, tc.reason); err != nil {
			t.Fatal(err)
		}
		nextClose(t, p, 3000, &tc.want)
		p.Write(closeFrame(3000, ""))
		p.ExpectEOF()
	}
}

// InStream: one chunk per frame and OnEnd(nil); ErrTruncated when the client drops the TCP
// connection mid-message (the original ended the stream normally, DNC-21), after the part that
// arrived; and when the server fails the connection mid-message, after the error event.
func TestEventInStreamEnds(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, _ := recServer(t, nil)
	t.Run("peer-drops-between-frames", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		p.Write(frames(fr(false, opBinary, "abc"), fr(false, opCont, "de")))
		l.waitFor(t, `chunk "de"`)
		p.Conn.(*net.TCPConn).CloseWrite()
		p.ExpectEOF()
		l.expect(t, "connection /", "binary", `chunk "abc"`, `chunk "de"`, "end "+ErrTruncated.Error(), closeEv(1006, ""))
	})
	t.Run("peer-drops-inside-a-frame", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		f := fr(true, opBinary, "0123456789")
		p.Write(f[:6+4])
		l.waitFor(t, `chunk "0123"`)
		p.Conn.(*net.TCPConn).CloseWrite()
		p.ExpectEOF()
		l.expect(t, "connection /", "binary", `chunk "0123"`, "end "+ErrTruncated.Error(), closeEv(1006, ""))
	})
	t.Run("peer-resets", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		p.Write(fr(false, opBinary, "abc"))
		l.waitFor(t, `chunk "abc"`)
		p.Conn.(*net.TCPConn).SetLinger(0)
		p.Conn.Close()
		l.waitN(t, 6)
		l.quiet(t)
		ev := l.get()
		if len(ev) != 6 || !slices.Equal(ev[:3], []string{"connection /", "binary", `chunk "abc"`}) || ev[5] != closeEv(1006, "") ||
			!slices.Contains(ev[3:5], "end "+ErrTruncated.Error()) {
			t.Fatalf("events %q", ev)
		}
	})
	t.Run("protocol-error-mid-message", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		p.Write(frames(fr(false, opBinary, "abc"), fr(true, opText, "x")))
		expectFail(t, p, codec.ErrExpectedCont)
		l.expect(t, "connection /", "binary", `chunk "abc"`, violationEv(codec.ErrExpectedCont), "end "+ErrTruncated.Error(), closeEv(1002, ""))
	})
	t.Run("peer-close-mid-message", func(t *testing.T) {
		wstest.CheckLeaks(t)
		l.reset()
		p := wstest.Dial(t, addr, "/")
		p.Write(frames(fr(false, opBinary, "abc"), closeFrame(1000, "")))
		nextClose(t, p, 1000, nil)
		p.ExpectEOF()
		l.expect(t, "connection /", "binary", `chunk "abc"`, "end "+ErrTruncated.Error(), closeEv(1000, ""))
	})
}

// OutStream after its connection closed: writes and Close fail with ErrStreamClosed (the
// callback too), the stream is gone from OutStream(), and nothing is sent.
func TestEventOutStreamAfterClose(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, &ServerOptions{BinaryFragmentation: 4})
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	out, err := c.BeginBinary()
	if err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("abcd"))
	nextFrame(t, p, false, opBinary, []byte("abcd"))
	p.Write(closeFrame(1000, ""))
	nextClose(t, p, 1000, nil)
	p.ExpectEOF()
	l.waitFor(t, closeEv(1000, ""))
	if c.OutStream() != nil {
		t.Fatal("OutStream() still set after the connection closed")
	}
	if n, err := out.Write([]byte("efgh")); n != 0 || !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Write after close = %d, %v", n, err)
	}
	r := newCBRecorder()
	if err := out.CloseWith(r.cb("close")); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Close after close = %v", err)
	}
	r.expect(t, "close", ErrStreamClosed)
}

// Sends whose bytes never reach the kernel because the peer stopped reading and then reset the
// connection: every callback runs exactly once, the last ones with ErrClosed.
func TestEventCallbacksOfCutOffSends(t *testing.T) {
	wstest.CheckLeaks(t)
	// A queue cap above the 48 MiB sent, so that every send is accepted and then cut off.
	_, addr, l, conns := recServer(t, &ServerOptions{MaxQueuedBytes: 64 << 20})
	p := wstest.Dial(t, addr, "/")
	p.Conn.(*net.TCPConn).SetReadBuffer(4096)
	c := recv(t, conns)
	r := newCBRecorder()
	big := make([]byte, 8<<20)
	const n = 6
	for i := range n {
		if err := c.SendBinary(big, r.cb(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Reset only once part of the output has reached the kernel, so that the cut falls in the
	// middle of what was sent, not before all of it.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	await(t, tick.C, func() bool { return wstest.KernelQueued(t, p.Conn) > 0 },
		func() string { return "no byte of the sends reached the kernel" })
	p.Conn.(*net.TCPConn).SetLinger(0)
	p.Conn.Close()
	l.waitFor(t, closeEv(1006, ""))
	for i := range n - 1 {
		r.expectAny(t, fmt.Sprint(i))
	}
	r.expect(t, fmt.Sprint(n-1), ErrClosed)
}

// Sends from many goroutines at once: each callback runs once with nil and every message arrives
// whole, each goroutine's messages in its order.
func TestEventConcurrentSends(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	r := newCBRecorder()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := fmt.Sprintf("%d:%d", g, i)
				if err := c.SendText(msg, r.cb(msg)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	next := make([]int, goroutines)
	for range goroutines * each {
		f := p.MustFrame()
		var g, i int
		if _, err := fmt.Sscanf(string(f.Payload), "%d:%d", &g, &i); err != nil || f.Op != opText || !f.Fin {
			t.Fatalf("frame %v %q", f.Op, f.Payload)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: message %d arrived before %d", g, i, next[g])
		}
		next[g]++
	}
	wg.Wait()
	for g := range goroutines {
		for i := range each {
			r.expectQuick(t, fmt.Sprintf("%d:%d", g, i), nil)
		}
	}
	cleanClose(t, p)
}

// Server lifecycle: Close before Listen fires the close event at once; Listen after Close fails
// with ErrServerClosed; a second Listen fails with ErrServerListening; a busy port fails Listen
// and fires the error event, not the close event.
func TestEventServerLifecycle(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	s := CreateServer(nil, nil)
	s.OnError(func(_ *Server, err error) { l.add("error %v", err) })
	s.OnClose(func(*Server) { l.add("close event") })
	if err := s.Close(func(*Server) { l.add("close callback") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if err := s.Listen(0, "127.0.0.1", nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Listen after Close = %v", err)
	}
	l.expect(t, "close event", "close callback", "error "+ErrServerClosed.Error())

	l = newEvlog()
	s2, addr := startServer(t, nil, nil)
	s2.OnError(func(_ *Server, err error) { l.add("error %v", err) })
	if err := s2.Listen(0, "127.0.0.1", nil); !errors.Is(err, ErrServerListening) {
		t.Fatalf("second Listen = %v", err)
	}
	_, port, _ := net.SplitHostPort(addr)
	s3 := CreateServer(nil, nil)
	s3.OnError(func(_ *Server, err error) { l.add("busy: %v", errors.Is(err, syscall.EADDRINUSE)) })
	s3.OnClose(func(*Server) { l.add("busy server closed") })
	var portNum int
	fmt.Sscan(port, &portNum)
	if err := s3.Listen(portNum, "127.0.0.1", nil); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a busy port = %v", err)
	}
	l.expect(t, "error "+ErrServerListening.Error(), "busy: true")
}

// Connections lists open connections only (not those still in their handshake, not closed
// ones), and collecting it is a snapshot.
func TestEventConnectionsList(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr, l, _ := recServer(t, nil)
	a := wstest.Dial(t, addr, "/a")
	b := wstest.Dial(t, addr, "/b")
	pending := wstest.DialRaw(t, addr)
	pending.Write([]byte("GET / HTTP/1.1\r\n"))
	l.waitN(t, 2)
	paths := func() []string {
		var out []string
		for c := range s.Connections() {
			out = append(out, c.Path())
		}
		slices.Sort(out)
		return out
	}
	if got := paths(); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Fatalf("connections %q", got)
	}
	for c := range s.Connections() {
		if c.Path() == "/a" {
			break // stopping early is fine
		}
	}
	cleanClose(t, a)
	l.waitFor(t, closeEv(1000, ""))
	if got := paths(); !slices.Equal(got, []string{"/b"}) {
		t.Fatalf("connections after /a closed %q", got)
	}
	cleanClose(t, b)
	l.waitN(t, 4)
	if got := paths(); len(got) != 0 {
		t.Fatalf("connections after all closed %q", got)
	}
}

// SetMaxBufferLength applies to servers created afterwards, and not to the new connections of a
// server created before the change.
func TestEventSetMaxBufferLength(t *testing.T) {
	wstest.CheckLeaks(t)
	SetMaxBufferLength(100)
	s, addr := startServer(t, nil, nil)
	SetMaxBufferLength(2 << 20)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	p := wstest.Dial(t, addr, "/")
	p.Write(fr(true, opText, strings.Repeat("x", 100)))
	nextFrame(t, p, true, opText, bytes.Repeat([]byte("x"), 100))
	p.Write(fr(true, opText, strings.Repeat("x", 101)))
	expectFail(t, p, codec.ErrPayloadTooBig)
}

// SetMaxBufferLength applies to clients that connect afterwards: the value at Connect holds for
// the whole connection, a change after it does not.
func TestClientSetMaxBufferLength(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := rawServer(t, func(nc net.Conn, req string) {
		accept101(nc, req, wstest.ServerFrame(true, codec.OpText, bytes.Repeat([]byte("x"), 100)),
			wstest.ServerFrame(true, codec.OpText, bytes.Repeat([]byte("y"), 101)))
		op, p := readClientFrame(t, nc)
		want := codec.AppendClosePayload(nil, codec.ErrPayloadTooBig.Code, codec.ErrPayloadTooBig.Msg)
		if op != codec.OpClose || !bytes.Equal(p, want) {
			t.Errorf("client answered %v %q, want close %q", op, p, want)
		}
	})
	SetMaxBufferLength(100)
	r := newRecorder()
	_, err := Connect("ws://"+addr, r.opts(nil), nil)
	SetMaxBufferLength(2 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.wait(t), "|"); got != "text "+strings.Repeat("x", 100)+"|error|close 1009 " {
		t.Fatalf("events %q", got)
	}
}

// A client's events can fire before Connect's caller has set its handlers: the dial and the
// handshake run on other goroutines from the moment Connect returns. This models a caller that
// was descheduled between Connect and OnError/OnClose (observed under load: a refused handshake
// came and went, state Closed, with no error and no close event). The events must not be lost.
func TestClientEventsBeforeHandlersAreSet(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l := newEvlog()
	c, err := Connect("ws://"+addr, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the caller is descheduled
	c.OnError(func(_ *Conn, err error) { l.add("error %v", errors.Is(err, syscall.ECONNREFUSED)) })
	c.OnClose(func(_ *Conn, code int, _ string) { l.add("close %d", code) })
	l.expect(t, "error true", "close 1006")
}

// The mounted server refuses upgrades once it is closed, as a listening server refuses
// connections: nothing may open on a server whose close event has fired.
func TestEventMountedServerClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	s := CreateServer(nil, func(c *Conn) { l.add("connection") })
	s.OnClose(func(*Server) { l.add("server close") })
	hs := httptest.NewServer(s)
	defer hs.Close()
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	l.waitFor(t, "server close")
	p := wstest.DialRaw(t, strings.TrimPrefix(hs.URL, "http://"))
	p.Write([]byte(wstest.Request("/")))
	if got := readResponse(t, p); strings.HasPrefix(got, "HTTP/1.1 101 ") {
		p.Write(closeFrame(1000, ""))
		t.Fatalf("a closed server accepted an upgrade: %q", got)
	} else if !strings.HasPrefix(got, "HTTP/1.1 503 ") {
		t.Fatalf("answered %q, want 503 Service Unavailable", got)
	}
	l.expect(t, "server close")
}

// Nothing we send may break RFC 6455 section 5.6 / 8.1: a text frame's payload and a close
// reason are UTF-8 (the peer fails the connection with 1007 otherwise). A Go string can hold any
// bytes, so SendText and Close must refuse (or never send) invalid UTF-8.
func TestEventInvalidUTF8Sends(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	r := newCBRecorder()
	if err := c.SendText("bad \xff", r.cb("text")); err == nil {
		f := p.MustFrame()
		t.Errorf("SendText of invalid UTF-8 succeeded and sent %v %q", f.Op, f.Payload)
	} else {
		r.expect(t, "text", err)
	}
	if err := c.SendMessage(TextMessage, []byte("bad \xfe"), nil); err == nil {
		f := p.MustFrame()
		t.Errorf("SendMessage(TextMessage) of invalid UTF-8 succeeded and sent %v %q", f.Op, f.Payload)
	}
	if err := c.Close(3000, "bad \xfe"); err == nil {
		f := p.MustFrame()
		if f.Op != opClose || !codec.ValidUTF8(f.Payload[2:]) {
			t.Errorf("Close with an invalid reason sent %v %q", f.Op, f.Payload)
		}
		p.Write(closeFrame(3000, ""))
	} else {
		cleanClose(t, p)
	}
	p.ExpectEOF()
}
