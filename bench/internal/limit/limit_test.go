package limit

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
)

// start serves s on a free loopback port and returns its address.
func start(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := s.Serve(ln); err != nil {
		t.Fatal(err)
	}
	return addr
}

// dial upgrades a connection on path, with a deadline for everything it does.
func dial(t *testing.T, addr, path string) *gorilla.Conn {
	t.Helper()
	c, _, err := gorilla.DefaultDialer.Dial("ws://"+addr+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// expect reads one message and checks its type and bytes.
func expect(t *testing.T, c *gorilla.Conn, typ int, want []byte) {
	t.Helper()
	gotTyp, got, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotTyp != typ || !bytes.Equal(got, want) {
		t.Fatalf("got a message of type %d with %d bytes (%.20q), want type %d with %d bytes (%.20q)", gotTyp, len(got), got, typ, len(want), want)
	}
}

func send(t *testing.T, c *gorilla.Conn, typ int, p []byte) {
	t.Helper()
	if err := c.WriteMessage(typ, p); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// waitCount waits until s holds want connections.
func waitCount(t *testing.T, s *Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Count() != want {
		if time.Now().After(deadline) {
			t.Fatalf("Count() = %d, want %d", s.Count(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// payloadOf is n bytes that differ from one offset to the next, so that a byte unmasked with the
// wrong mask offset shows.
func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

// pong sends a ping on c, then a text message, and checks that the pong carries the ping's
// payload and came first: the pong handler runs while ReadMessage reads up to that message,
// which comes back as the echo (or the relay, the sender included).
func pong(t *testing.T, c *gorilla.Conn) {
	t.Helper()
	got := make(chan string, 1)
	c.SetPongHandler(func(p string) error { got <- p; return nil })
	if err := c.WriteControl(gorilla.PingMessage, []byte("knock"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	send(t, c, gorilla.TextMessage, []byte("after the ping"))
	expect(t, c, gorilla.TextMessage, []byte("after the ping"))
	select {
	case p := <-got:
		if p != "knock" {
			t.Fatalf("pong %q, want knock", p)
		}
	default:
		t.Fatal("no pong before the message after the ping")
	}
}

// closes sends a close frame on c and checks that the server answers with the same code and
// reason and then closes the connection.
func closes(t *testing.T, c *gorilla.Conn) {
	t.Helper()
	c.SetCloseHandler(func(int, string) error { return nil }) // no close back: the server closed
	if err := c.WriteControl(gorilla.CloseMessage, gorilla.FormatCloseMessage(4001, "bye"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	var ce *gorilla.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "bye" {
		t.Fatalf("after a close: %v, want the close 4001 bye", err)
	}
	if _, err := c.NetConn().Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the close: read %v, want EOF", err)
	}
}

func TestEcho(t *testing.T) {
	s := &Server{BroadcastPath: "/broadcast"}
	addr := start(t, s)
	for _, path := range []string{"/echo", "/", "/echo?x=1", "/broadcastx"} {
		c := dial(t, addr, path)
		send(t, c, gorilla.TextMessage, []byte("hello"))
		expect(t, c, gorilla.TextMessage, []byte("hello"))
		// Large enough to arrive in several reads: its echo starts before its payload is whole.
		for _, n := range []int{0, 125, 126, 65535, 65536, 300 << 10} {
			send(t, c, gorilla.BinaryMessage, payloadOf(n))
			expect(t, c, gorilla.BinaryMessage, payloadOf(n))
		}
		pong(t, c)
		waitCount(t, s, 1)
		closes(t, c)
		waitCount(t, s, 0)
	}
}

func TestRelay(t *testing.T) {
	s := &Server{BroadcastPath: "/broadcast"}
	addr := start(t, s)
	a, b := dial(t, addr, "/broadcast"), dial(t, addr, "/broadcast?room=1")
	e := dial(t, addr, "/echo")
	waitCount(t, s, 3)
	send(t, a, gorilla.TextMessage, []byte("one"))
	send(t, a, gorilla.BinaryMessage, payloadOf(70000)) // in several reads: relayed once whole
	for _, c := range []*gorilla.Conn{a, b} {           // the sender included
		expect(t, c, gorilla.TextMessage, []byte("one"))
		expect(t, c, gorilla.BinaryMessage, payloadOf(70000))
	}
	send(t, b, gorilla.TextMessage, []byte("three"))
	for _, c := range []*gorilla.Conn{a, b} {
		expect(t, c, gorilla.TextMessage, []byte("three"))
	}
	// The echoing connection got none of it: its first message is its own echo.
	send(t, e, gorilla.TextMessage, []byte("mine"))
	expect(t, e, gorilla.TextMessage, []byte("mine"))

	pong(t, a)
	expect(t, b, gorilla.TextMessage, []byte("after the ping")) // relayed to b too
	closes(t, a)
	waitCount(t, s, 2)
	send(t, b, gorilla.TextMessage, []byte("alone"))
	expect(t, b, gorilla.TextMessage, []byte("alone"))
}

func TestBurst(t *testing.T) {
	s := &Server{}
	addr := start(t, s)
	var cs []*gorilla.Conn
	for _, path := range []string{"/", "/broadcast", "/any"} { // without a BroadcastPath, all subscribe
		cs = append(cs, dial(t, addr, path))
	}
	waitCount(t, s, len(cs))
	for _, n := range []int{0, 125, 126, 70000} {
		s.Burst(payloadOf(n), 3)
		for _, c := range cs {
			for range 3 {
				expect(t, c, gorilla.BinaryMessage, payloadOf(n))
			}
		}
	}
	for _, c := range cs { // and all echo
		send(t, c, gorilla.TextMessage, []byte("echo"))
		expect(t, c, gorilla.TextMessage, []byte("echo"))
	}
}

func TestHTTP(t *testing.T) {
	const req = "GET /stats?gc=1 HTTP/1.1\r\nHost: x\r\n\r\n"
	const answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	heads := make(chan string, 4)
	s := &Server{HTTP: func(head []byte) []byte {
		heads <- string(head)
		if strings.HasPrefix(string(head), "GET /stats") {
			return []byte(answer)
		}
		return nil
	}}
	addr := start(t, s)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	// In two writes: the head is offered once, whole.
	if _, err := io.WriteString(nc, req[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := io.WriteString(nc, req[10:]); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(nc) // to the server's close
	if err != nil || string(got) != answer {
		t.Fatalf("read %q (%v), want %q and the close", got, err, answer)
	}
	if h := <-heads; h != req {
		t.Fatalf("HTTP saw %q, want the head %q", h, req)
	}
	// A request HTTP declines is upgraded.
	c := dial(t, addr, "/echo")
	send(t, c, gorilla.TextMessage, []byte("up"))
	expect(t, c, gorilla.TextMessage, []byte("up"))
	waitCount(t, s, 1) // the stats request was not counted
	if len(heads) != 1 {
		t.Fatalf("HTTP saw %d heads, want 2 in all", 1+len(heads))
	}
}
