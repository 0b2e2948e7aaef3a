package api

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The original module's test suite (test/test.js, spec section 16), ported to our API with our
// client and server. Where the original relied on a throw, the port checks the returned error;
// the test that fails on node 20 (forEach passing the index as a callback) sends explicitly.

// specConnect connects a client to addr with opts, records its events in a log of its own
// (after a "connect" event) and waits for the connect event when wantOpen.
func specConnect(t *testing.T, url string, opts *ClientOptions, wantOpen bool) (*Conn, *evlog) {
	t.Helper()
	l := newEvlog()
	c, err := Connect(url, opts, func(c *Conn) { l.add("connect") })
	if err != nil {
		t.Fatal(err)
	}
	recordConn(c, l)
	if wantOpen {
		l.waitFor(t, "connect")
	}
	return c, l
}

// specConnectGated is specConnect without waiting, which then lets the server answer through
// gate (see TestSpecProtocols).
func specConnectGated(t *testing.T, url string, opts *ClientOptions, gate chan struct{}) (*Conn, *evlog) {
	t.Helper()
	c, l := specConnect(t, url, opts, false)
	gate <- struct{}{}
	return c, l
}

// specServer starts a server whose connections record their events; each connection is sent on
// the returned channel.
func specServer(t *testing.T, opts *ServerOptions) (*Server, string, *evlog, chan *Conn) {
	t.Helper()
	s, addr, l, conns := recServer(t, opts)
	return s, "ws://" + addr, l, conns
}

// closeBoth closes a client connection and waits for the close events on both sides.
func closeBoth(t *testing.T, c *Conn, cl, sl *evlog) {
	t.Helper()
	if err := c.Close(1000, ""); err != nil {
		t.Fatal(err)
	}
	cl.waitFor(t, closeEv(1000, ""))
	sl.waitFor(t, closeEv(1000, ""))
}

// extraHeaders / should create a headerString with extra header options.
func TestSpecExtraHeaders(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, conns := specServer(t, nil)
	c, cl := specConnect(t, url, &ClientOptions{ExtraHeaders: http.Header{"X-HeaderName": {"header value"}}}, true)
	sc := recv(t, conns)
	if got := sc.Headers().Get("x-headername"); got != "header value" {
		t.Fatalf("server saw X-HeaderName %q; headers %v", got, sc.Headers())
	}
	closeBoth(t, c, cl, sl)
}

// frames / should connect to a websocket server (the server answers in upper case).
func TestSpecFramesConnect(t *testing.T) {
	wstest.CheckLeaks(t)
	sl := newEvlog()
	_, addr := startServer(t, nil, func(c *Conn) {
		recordConn(c, sl)
		c.OnText(func(c *Conn, text string) { c.SendText(strings.ToUpper(text), nil) })
	})
	c, cl := specConnect(t, "ws://"+addr, nil, true)
	if err := c.SendText("test string", nil); err != nil {
		t.Fatal(err)
	}
	cl.waitFor(t, `text "TEST STRING"`)
	closeBoth(t, c, cl, sl)
	cl.expect(t, "connect", `text "TEST STRING"`, closeEv(1000, ""))
}

// frames / should deliver texts in order (explicit sends: the original's forEach version fails on
// node 20).
func TestSpecFramesTextsInOrder(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	for _, s := range []string{"First", "Second", "Third"} {
		if err := c.SendText(s, nil); err != nil {
			t.Fatal(err)
		}
	}
	sl.waitN(t, 4)
	closeBoth(t, c, cl, sl)
	sl.expect(t, "connection /", `text "First"`, `text "Second"`, `text "Third"`, closeEv(1000, ""))
}

// frames / should send binary data: 17 bytes arrive on the server's InStream, which ends.
func TestSpecFramesBinary(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	if err := c.SendBinary(pattern(17), nil); err != nil {
		t.Fatal(err)
	}
	sl.waitFor(t, "end <nil>")
	closeBoth(t, c, cl, sl)
	sl.expect(t, "connection /", "binary", `chunk "\x00\x01\x02\x03\x04\x05\x06\a\b\t\n\v\f\r\x0e\x0f\x10"`,
		"end <nil>", closeEv(1000, ""))
}

// frames / should stream binary data: with SetBinaryFragmentation(1024), a 1024-byte write
// reaches the server as a chunk before the stream ends; then 1024 more and the end.
func TestSpecFramesStreamBinary(t *testing.T) {
	wstest.CheckLeaks(t)
	SetBinaryFragmentation(1024)
	t.Cleanup(func() { SetBinaryFragmentation(512 << 10) })
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	out, err := c.BeginBinary()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := out.Write(pattern(1024)); n != 1024 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	sl.waitN(t, 3)
	// The server answers a ping sent after the fragment only once it has read what came before:
	// had the fragment ended the stream, the end would be logged by the time the pong is back.
	if err := c.SendPing([]byte("after the fragment")); err != nil {
		t.Fatal(err)
	}
	cl.waitFor(t, `pong "after the fragment"`)
	if ev := sl.get(); len(ev) != 3 || ev[1] != "binary" || !strings.HasPrefix(ev[2], "chunk ") {
		t.Fatalf("events after the first fragment %q", ev)
	}
	if n, err := out.Write(pattern(1024)); n != 1024 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	sl.waitFor(t, "end <nil>")
	ev := sl.get()
	if len(ev) != 5 || !strings.HasPrefix(ev[3], "chunk ") || ev[4] != "end <nil>" {
		t.Fatalf("events %q", ev)
	}
	closeBoth(t, c, cl, sl)
}

// frames / should not accept concurrent text with binary: SendText during a stream fails with
// the original's message; the stream then ends normally.
func TestSpecFramesNoTextWhileStreaming(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	out, err := c.BeginBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendText("Hi", nil); !errors.Is(err, ErrTextWhileStreaming) ||
		err.Error() != "You can't send a text frame until you finish sending binary frames" {
		t.Fatalf("SendText while streaming = %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	sl.waitFor(t, "end <nil>")
	closeBoth(t, c, cl, sl)
	sl.expect(t, "connection /", "binary", "end <nil>", closeEv(1000, ""))
	cl.expect(t, "connect", closeEv(1000, ""))
}

// frames / should expose the headers (the 101's, on the client).
func TestSpecFramesExposeHeaders(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	h := c.Headers()
	if h.Get("upgrade") != "websocket" || h.Get("connection") != "Upgrade" || len(h.Get("sec-websocket-accept")) != 28 {
		t.Fatalf("client headers %v", h)
	}
	closeBoth(t, c, cl, sl)
}

// frames / should emit pong event on ping.
func TestSpecFramesPong(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	if err := c.SendPing([]byte("Knock knock")); err != nil {
		t.Fatal(err)
	}
	cl.waitFor(t, `pong "Knock knock"`)
	closeBoth(t, c, cl, sl)
	cl.expect(t, "connect", `pong "Knock knock"`, closeEv(1000, ""))
}

// frames / should send text and binary data (Send dispatches on the type).
func TestSpecFramesSendTextAndBinary(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	if err := c.Send("test string", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(pattern(5), nil); err != nil {
		t.Fatal(err)
	}
	sl.waitFor(t, "end <nil>")
	closeBoth(t, c, cl, sl)
	sl.expect(t, "connection /", `text "test string"`, "binary", `chunk "\x00\x01\x02\x03\x04"`, "end <nil>", closeEv(1000, ""))
}

// handshake / should work when the handshake response is followed by a WS frame.
func TestSpecHandshakeFrameBehind101(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	_, addr := startServer(t, nil, func(c *Conn) {
		recordConn(c, l)
		c.SendText("hello", nil)
	})
	c, cl := specConnect(t, "ws://"+addr, nil, true)
	cl.waitFor(t, `text "hello"`)
	closeBoth(t, c, cl, l)
	cl.expect(t, "connect", `text "hello"`, closeEv(1000, ""))
}

// handshake / should work when there is some missing headers: the server answers 400 and closes,
// and keeps serving.
func TestSpecHandshakeMissingHeaders(t *testing.T) {
	wstest.CheckLeaks(t)
	_, url, sl, _ := specServer(t, nil)
	addr := strings.TrimPrefix(url, "ws://")
	p := wstest.DialRaw(t, addr)
	p.Write([]byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nSec-websocket-key: key\r\nJunk: 1\r\nMore-Junk: 2\r\n\r\n"))
	if got := readResponse(t, p); got != refusal(codec.ErrNotUpgrade) {
		t.Fatalf("answered %q", got)
	}
	expectEOFNow(t, p)
	c, cl := specConnect(t, url, nil, true)
	closeBoth(t, c, cl, sl)
	sl.expect(t, "connection /", closeEv(1000, ""))
}

// close / should stop the server from accepting new connections: a new TCP connection is refused,
// and a client trying to connect gets error (connection refused) then close(1006).
func TestSpecCloseStopsAccepting(t *testing.T) {
	wstest.CheckLeaks(t)
	s, url, _, _ := specServer(t, nil)
	closed := make(chan struct{})
	if err := s.Close(func(*Server) { close(closed) }); err != nil {
		t.Fatal(err)
	}
	recv(t, closed)
	if nc, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "ws://"), wstest.Timeout); err == nil {
		nc.Close()
		t.Fatal("a TCP connection was accepted after Close")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after Close: %v", err)
	}
	// The client's events race with the dial: until the bug TestClientEventsBeforeHandlersAreSet
	// shows is fixed, this fails now and then ("got []") when the refusal beats the handlers.
	c, cl := specConnect(t, url, nil, false)
	ev := cl.waitN(t, 2)
	if len(ev) != 2 || !strings.HasPrefix(ev[0], "error ") || ev[1] != closeEv(1006, "") {
		t.Fatalf("client events %q", ev)
	}
	if !strings.Contains(ev[0], syscall.ECONNREFUSED.Error()) {
		t.Fatalf("error %q is not connection refused", ev[0])
	}
	if c.ReadyState() != Closed {
		t.Fatalf("state %d", c.ReadyState())
	}
}

// close / should emit close after all client connections are closed.
func TestSpecCloseAfterClients(t *testing.T) {
	wstest.CheckLeaks(t)
	s, url, sl, _ := specServer(t, nil)
	c, cl := specConnect(t, url, nil, true)
	sl.waitN(t, 1)
	closed := make(chan struct{})
	if err := s.Close(func(*Server) { close(closed) }); err != nil {
		t.Fatal(err)
	}
	// A ping round trip after Close: the server's loop has served the client since, and the close
	// event has still not run.
	if err := c.SendPing([]byte("still here")); err != nil {
		t.Fatal(err)
	}
	cl.waitFor(t, `pong "still here"`)
	select {
	case <-closed:
		t.Fatal("the server closed while a client was connected")
	default:
	}
	closeBoth(t, c, cl, sl)
	recv(t, closed)
}

// protocols negotiation: the original's three groups of cases. A client offering protocols the
// server does not take fails with the original's message; the server side then sees the
// connection end without a close frame.
func TestSpecProtocols(t *testing.T) {
	wstest.CheckLeaks(t)
	custom := func(c *Conn, protocols []string) string {
		if len(protocols) > 0 && &protocols[0] != &c.Protocols()[0] {
			panic("the selector's list is not the connection's")
		}
		if strings.Contains(protocols[0], "please") {
			return protocols[0]
		}
		return ""
	}
	groups := []struct {
		name string
		opts *ServerOptions
		ok   map[string][]string // offer name -> offer, for offers that succeed
		want map[string]string   // offer name -> protocol chosen
		fail map[string][]string // offers that fail
	}{
		{"no-declared-support", nil, nil, nil, map[string][]string{"x-y-b-a": {"x", "y", "b", "a"}}},
		{"declared-a-b-c", &ServerOptions{ValidProtocols: []string{"a", "b", "c"}},
			map[string][]string{"none": nil, "x-y-b-a": {"x", "y", "b", "a"}},
			map[string]string{"none": "", "x-y-b-a": "b"},
			map[string][]string{"x-y-z": {"x", "y", "z"}}},
		{"custom", &ServerOptions{SelectProtocol: custom},
			map[string][]string{"none": nil, "please": {"do-it-please"}},
			map[string]string{"none": "", "please": "do-it-please"},
			map[string][]string{"now": {"do-it-now"}}},
	}
	for _, g := range groups {
		// The server answers only once the client's handlers are set (gate), so the client's
		// failure cannot beat them (see TestClientEventsBeforeHandlersAreSet).
		gate := make(chan struct{}, 1)
		o := ServerOptions{}
		if g.opts != nil {
			o = *g.opts
		}
		o.Handshake = func(*Conn) (http.Header, error) {
			select {
			case <-gate:
			case <-time.After(wstest.Timeout):
			}
			return nil, nil
		}
		_, url, sl, conns := specServer(t, &o)
		for _, name := range sortedKeys(g.ok) {
			offer := g.ok[name]
			t.Run(g.name+"/"+name, func(t *testing.T) {
				wstest.CheckLeaks(t)
				sl.reset()
				c, cl := specConnectGated(t, url, &ClientOptions{Protocols: offer}, gate)
				cl.waitFor(t, "connect")
				sc := recv(t, conns)
				want := g.want[name]
				if c.Protocol() != want || sc.Protocol() != want || !equalStrings(c.Protocols(), offer) || !equalStrings(sc.Protocols(), offer) {
					t.Fatalf("client %q %q, server %q %q; want %q %q", c.Protocols(), c.Protocol(), sc.Protocols(), sc.Protocol(), offer, want)
				}
				closeBoth(t, c, cl, sl)
			})
		}
		for _, name := range sortedKeys(g.fail) {
			offer := g.fail[name]
			t.Run(g.name+"/"+name+"/fails", func(t *testing.T) {
				wstest.CheckLeaks(t)
				sl.reset()
				_, cl := specConnectGated(t, url, &ClientOptions{Protocols: offer}, gate)
				cl.expect(t, errEv(codec.ErrResponseNoProtocol), closeEv(1006, ""))
				if errEv(codec.ErrResponseNoProtocol) != "error Invalid handshake: no protocol was negotiated" {
					t.Fatalf("message %q", codec.ErrResponseNoProtocol.Error())
				}
				recv(t, conns)
				sl.expect(t, "connection /", closeEv(1006, ""))
			})
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The README's scream server and broadcast helper, with two clients: every connection gets every
// broadcast, the leaving one is not among the recipients of its own "left" message (it is off the
// list when its close handler runs), as in the chat sample.
func TestSpecChatSample(t *testing.T) {
	wstest.CheckLeaks(t)
	var s *Server
	broadcast := func(msg string) {
		for c := range s.Connections() {
			c.SendText(msg, nil)
		}
	}
	s, addr := startServer(t, nil, func(c *Conn) {
		c.OnText(func(c *Conn, text string) {
			if c.Data == nil {
				c.Data = text
				broadcast(text + " entered")
				return
			}
			broadcast("[" + c.Data.(string) + "] " + text)
		})
		c.OnClose(func(c *Conn, _ int, _ string) {
			if c.Data != nil {
				broadcast(c.Data.(string) + " left")
			}
		})
	})
	alice, al := specConnect(t, "ws://"+addr, nil, true)
	alice.SendText("alice", nil)
	al.waitFor(t, `text "alice entered"`)
	bob, bl := specConnect(t, "ws://"+addr, nil, true)
	bob.SendText("bob", nil)
	al.waitFor(t, `text "bob entered"`)
	bob.SendText("hello all", nil)
	al.waitFor(t, `text "[bob] hello all"`)
	bl.waitFor(t, `text "[bob] hello all"`)
	bob.Close(1000, "")
	bl.waitFor(t, closeEv(1000, ""))
	al.waitFor(t, `text "bob left"`)
	alice.Close(1000, "")
	al.expect(t, "connect", `text "alice entered"`, `text "bob entered"`, `text "[bob] hello all"`, `text "bob left"`, closeEv(1000, ""))
	bl.expect(t, "connect", `text "bob entered"`, `text "[bob] hello all"`, closeEv(1000, ""))
}
