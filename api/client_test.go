package api

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// recorder collects a client connection's events in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	errs   []error
	closed chan struct{}
}

func newRecorder() *recorder { return &recorder{closed: make(chan struct{})} }

func (r *recorder) add(e string) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

// watch sets handlers on c that record every event.
func (r *recorder) watch(c *Conn) {
	c.OnText(func(_ *Conn, s string) { r.add("text " + s) })
	c.OnPong(func(_ *Conn, p []byte) { r.add("pong " + string(p)) })
	c.OnError(func(_ *Conn, err error) {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
		r.add("error")
	})
	c.OnClose(func(c *Conn, code int, reason string) {
		r.add("close " + strconv.Itoa(code) + " " + reason)
		if c.ReadyState() != Closed {
			r.add("state not closed")
		}
		close(r.closed)
	})
}

func itoaCode(code int) string {
	return strings.TrimSpace(string(rune('0'+code/1000)) + string(rune('0'+code/100%10)) + string(rune('0'+code/10%10)) + string(rune('0'+code%10)))
}

// opts returns a copy of o (nil for the defaults) whose Setup watches the connection, so that no
// event can happen before the handlers are in place.
func (r *recorder) opts(o *ClientOptions) *ClientOptions {
	var n ClientOptions
	if o != nil {
		n = *o
	}
	n.Setup = r.watch
	return &n
}

func (r *recorder) wait(t *testing.T) []string {
	t.Helper()
	select {
	case <-r.closed:
	case <-time.After(wstest.Timeout):
		t.Fatalf("no close event; events so far %q", r.snapshot())
	}
	return r.snapshot()
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestClientEchoAndClose(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	r := newRecorder()
	connected := make(chan struct{})
	c, err := Connect("ws://"+addr+"/chat?x=1", nil, func(c *Conn) {
		r.watch(c)
		r.add("connect")
		close(connected)
	})
	if err != nil {
		t.Fatal(err)
	}
	<-connected // the state right after Connect is TestConnectReturnsInConnecting's: here the 101 may already have come
	if c.Path() != "/chat?x=1" || c.Headers().Get("Sec-WebSocket-Accept") == "" {
		t.Fatalf("path %q headers %v", c.Path(), c.Headers())
	}
	if c.RemoteAddr().String() != addr {
		t.Fatalf("remote %v", c.RemoteAddr())
	}
	c.SendText("hello", nil)
	c.SendPing([]byte("knock"))
	time.Sleep(100 * time.Millisecond)
	c.Close(1000, "bye")
	got := r.wait(t)
	want := []string{"connect", "text hello", "pong knock", "close 1000 bye"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestClientFramesRightBehindThe101(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := startServer(t, nil, func(c *Conn) { c.SendText("early", nil) })
	r := newRecorder()
	c, err := Connect("ws://"+addr, nil, func(c *Conn) { r.watch(c) })
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wstest.Timeout)
	for len(r.snapshot()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	c.Close(1000, "")
	if got := r.wait(t); got[0] != "text early" {
		t.Fatalf("events %q", got)
	}
}

func TestClientRefusedConnection(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newRecorder()
	_, err = Connect("ws://"+addr, r.opts(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := r.wait(t)
	if strings.Join(got, "|") != "error|close 1006 " {
		t.Fatalf("events %q", got)
	}
	if !errors.Is(r.errs[0], syscall.ECONNREFUSED) {
		t.Fatalf("error %v", r.errs[0])
	}
}

func TestClientRejectedHandshakes(t *testing.T) {
	cases := []struct {
		name, response string
		protocols      []string
		want           error
	}{
		{"400", "HTTP/1.1 400 Bad Request\r\n\r\n", nil, codec.ErrResponseStatus},
		{"no accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", nil, codec.ErrResponseMissingHeaders},
		{"bad accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", nil, codec.ErrResponseHashMismatch},
		{"no protocol", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n", []string{"a"}, codec.ErrResponseNoProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				buf := make([]byte, 4096)
				nc.Read(buf)
				nc.Write([]byte(tc.response))
				nc.Read(buf) // until the client closes
			}()
			r := newRecorder()
			_, err = Connect("ws://"+ln.Addr().String(), r.opts(&ClientOptions{Protocols: tc.protocols}), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := r.wait(t)
			if strings.Join(got, "|") != "error|close 1006 " {
				t.Fatalf("events %q", got)
			}
			if !errors.Is(r.errs[0], tc.want) {
				t.Fatalf("error %v, want %v", r.errs[0], tc.want)
			}
		})
	}
}

// Connect returns at once, in Connecting: against a server that accepts and never answers, the
// connection is Connecting when Connect returns and stays so, and the connect handler does not
// run. (Against a server that answers, the 101 may come before the caller looks.)
func TestConnectReturnsInConnecting(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the kernel accepts (backlog); nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	connected := make(chan struct{}, 1)
	c, err := Connect("ws://"+ln.Addr().String(), nil, func(*Conn) { connected <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(1000, "")
	if got := c.ReadyState(); got != Connecting {
		t.Fatalf("state after Connect = %d, want Connecting", got)
	}
	select {
	case <-connected:
		t.Fatal("the connect handler ran with no answer from the server")
	case <-time.After(100 * time.Millisecond):
	}
	if got := c.ReadyState(); got != Connecting {
		t.Fatalf("state 100 ms after Connect = %d, want Connecting", got)
	}
}

func TestClientCloseWhileConnecting(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := newRecorder()
	c, err := Connect("ws://"+ln.Addr().String(), r.opts(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(1000, "")
	got := r.wait(t)
	if strings.Join(got, "|") != "close 1006 " {
		t.Fatalf("events %q", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := r.snapshot(); len(got) != 1 {
		t.Fatalf("events after close %q", got)
	}
}

func TestClientContextCancelsHandshake(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts (backlog) but never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := newRecorder()
	_, err = Connect("ws://"+ln.Addr().String(), r.opts(&ClientOptions{Context: ctx}), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := r.wait(t)
	if strings.Join(got, "|") != "error|close 1006 " || !errors.Is(r.errs[0], context.DeadlineExceeded) {
		t.Fatalf("events %q errors %v", got, r.errs)
	}
}

func TestConnectURLErrors(t *testing.T) {
	for url, want := range map[string]string{
		"http://localhost:8000": "Invalid protocol http:. It must be ws or wss",
		"localhost:8000":        "Invalid protocol localhost:. It must be ws or wss",
	} {
		if _, err := Connect(url, nil, nil); err == nil || err.Error() != want {
			t.Errorf("Connect(%q) error %v, want %q", url, err, want)
		}
	}
}

func TestParseURL(t *testing.T) {
	cases := map[string]target{
		"WS://Example.com":             {host: "example.com", port: 80, path: "/"},
		"ws://h:1?a=b":                 {host: "h", port: 1, path: "/?a=b"},
		"wss://user:pw@h/x/y?q=1#frag": {secure: true, host: "h", port: 443, path: "/x/y?q=1"},
		"ws://[::1]:9001/chat":         {host: "::1", port: 9001, path: "/chat"},
		"ws://127.0.0.1:8001/chat?x=1": {host: "127.0.0.1", port: 8001, path: "/chat?x=1"},
	}
	for raw, want := range cases {
		got, err := parseURL(raw)
		if err != nil || got != want {
			t.Errorf("parseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
}
