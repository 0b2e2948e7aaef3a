package api

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// startServer listens on a free loopback port and closes the server when the test ends.
func startServer(t *testing.T, opts *ServerOptions, onConn func(*Conn)) (*Server, string) {
	t.Helper()
	s := CreateServer(opts, onConn)
	if err := s.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for c := range s.Connections() {
			c.Close(1001, "test over")
		}
		s.Close(nil)
	})
	return s, s.Addr().String()
}

func echoServer(t *testing.T) (*Server, string) {
	s, addr := startServer(t, nil, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	return s, addr
}

func TestEchoTextBinaryPingClose(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	p := wstest.Dial(t, addr, "/echo")
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if string(p.Response) != want {
		t.Fatalf("101 = %q", p.Response)
	}
	p.WriteFrame(true, codec.OpText, []byte("hello"))
	p.ExpectFrame(codec.OpText, []byte("hello"))
	bin := bytes.Repeat([]byte{0, 1, 2, 0xff}, 40000)
	p.WriteFrame(true, codec.OpBinary, bin)
	p.ExpectFrame(codec.OpBinary, bin)
	p.WriteFrame(true, codec.OpPing, []byte{0xff, 0, 0x80, 0x41})
	p.ExpectFrame(codec.OpPong, []byte{0xff, 0, 0x80, 0x41})
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, "bye"))
	if r := p.ExpectClose(1000); r != "bye" {
		t.Fatalf("reason %q", r)
	}
	p.ExpectEOF()
}

func TestCloseEventAndOrder(t *testing.T) {
	wstest.CheckLeaks(t)
	var mu sync.Mutex
	var events []string
	done := make(chan struct{})
	_, addr := startServer(t, nil, func(c *Conn) {
		c.OnText(func(c *Conn, s string) { mu.Lock(); events = append(events, "text "+s); mu.Unlock() })
		c.OnClose(func(c *Conn, code int, reason string) {
			mu.Lock()
			events = append(events, "close "+reason)
			mu.Unlock()
			if c.ReadyState() != Closed {
				t.Errorf("ready state in close handler = %d", c.ReadyState())
			}
			close(done)
		})
	})
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(false, codec.OpText, []byte("He"))
	p.WriteFrame(true, codec.OpPing, nil)
	p.ExpectFrame(codec.OpPong, nil)
	p.WriteFrame(true, codec.OpContinuation, []byte("llo"))
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 4000, "done"))
	p.ExpectClose(4000)
	p.ExpectEOF()
	select {
	case <-done:
	case <-time.After(wstest.Timeout):
		t.Fatal("no close event")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0] != "text Hello" || events[1] != "close done" {
		t.Fatalf("events %q", events)
	}
}
