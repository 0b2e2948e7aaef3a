package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

func TestDialEcho(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	c, err := Dial(context.Background(), "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ReadyState() != Open || c.Path() != "/echo" {
		t.Fatalf("state %d, path %q", c.ReadyState(), c.Path())
	}
	got := make(chan string, 1)
	closed := make(chan int, 1)
	c.OnClose(func(_ *Conn, code int, _ string) { closed <- code })
	c.OnText(func(_ *Conn, text string) { got <- text })
	if err := c.SendText("hi", nil); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "hi" {
		t.Fatalf("echo %q", s)
	}
	c.Close(1000, "")
	if code := recv(t, closed); code != 1000 {
		t.Fatalf("close %d", code)
	}
}

func TestDialRefused(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := startServer(t, &ServerOptions{
		Handshake: func(c *Conn) (http.Header, error) {
			return nil, &HTTPError{Status: http.StatusForbidden, Header: http.Header{"X-Reason": {"banned"}}, Body: "no\n"}
		},
	}, nil)
	c, err := Dial(context.Background(), "ws://"+addr+"/", nil)
	if c != nil || err == nil {
		t.Fatalf("conn %v, error %v", c, err)
	}
	var he *HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a *HandshakeError", err, err)
	}
	if he.Status != http.StatusForbidden || he.Header.Get("X-Reason") != "banned" || he.Header.Get("Content-Length") != "3" {
		t.Fatalf("status %d, headers %v", he.Status, he.Header)
	}
	if !errors.Is(err, codec.ErrResponseStatus) || err.Error() != codec.ErrResponseStatus.Error() {
		t.Fatalf("error %q does not unwrap to codec.ErrResponseStatus", err)
	}
	// Connect's error event carries the same error.
	errs := make(chan error, 1)
	if _, err := Connect("ws://"+addr+"/", &ClientOptions{Setup: func(c *Conn) {
		c.OnError(func(_ *Conn, err error) { errs <- err })
	}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errs); !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("Connect's error %v (%T)", err, err)
	}
}

// A rejection that is not a refusal (a 101 with a bad accept) stays the codec's error.
func TestDialBadAccept(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := rawServer(t, answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"))
	_, err := Dial(context.Background(), "ws://"+addr+"/", nil)
	var he *HandshakeError
	if err != codec.ErrResponseHashMismatch || errors.As(err, &he) {
		t.Fatalf("error %v (%T), want codec.ErrResponseHashMismatch", err, err)
	}
}

// answer writes response and reads until the client closes: a script for rawServer.
func answer(response string) func(nc net.Conn, request string) {
	return func(nc net.Conn, _ string) {
		nc.Write([]byte(response))
		io.Copy(io.Discard, nc)
	}
}

func TestDialContextCancelled(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawServer(t, answer("")) // reads the request and never answers
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			c, err := Dial(ctx, "ws://"+addr+"/", &ClientOptions{HandshakeTimeout: time.Minute})
			elapsed := time.Since(start)
			if c != nil || !errors.Is(err, tc.want) {
				t.Fatalf("conn %v, error %v, want %v", c, err, tc.want)
			}
			if elapsed < 100*time.Millisecond || elapsed > time.Second {
				t.Fatalf("Dial returned after %v, want soon after 100ms", elapsed)
			}
		})
	}
}

// The server's first message, sent right behind its 101, waits for the handler set after Dial
// returns, with the handlers on the loop and on an executor's workers.
func TestDialFirstMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *ClientOptions
	}{
		{"loop", nil},
		{"executor", &ClientOptions{Executor: NewExecutor(1, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			_, addr := startServer(t, nil, func(c *Conn) {
				c.SendText("first", nil) // queued before the 101 is written, so it goes right behind it
				c.SendText("second", nil)
			})
			c, err := Dial(context.Background(), "ws://"+addr+"/", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(1000, "")
			time.Sleep(50 * time.Millisecond) // time enough to lose the messages if they were read
			got := make(chan string, 2)
			c.OnText(func(_ *Conn, text string) { got <- text })
			if a, b := recv(t, got), recv(t, got); a != "first" || b != "second" {
				t.Fatalf("messages %q, %q", a, b)
			}
		})
	}
}

// A message handler set in Setup gets the first message without any hold.
func TestDialSetupHandler(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := startServer(t, nil, func(c *Conn) { c.SendText("first", nil) })
	got := make(chan string, 1)
	c, err := Dial(context.Background(), "ws://"+addr+"/", &ClientOptions{Setup: func(c *Conn) {
		c.OnText(func(_ *Conn, text string) { got <- text })
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(1000, "")
	if s := recv(t, got); s != "first" {
		t.Fatalf("message %q", s)
	}
}

func TestDialErrors(t *testing.T) {
	wstest.CheckLeaks(t)
	if _, err := Dial(context.Background(), "http://127.0.0.1/", nil); err == nil {
		t.Fatal("an http:// URL was dialed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), "ws://"+addr+"/", nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v, want a refused connection", err)
	}
	// Close from Setup gives the attempt up: Dial returns ErrClosed.
	_, addr = echoServer(t)
	if _, err := Dial(context.Background(), "ws://"+addr+"/", &ClientOptions{Setup: func(c *Conn) { c.Close(1000, "") }}); !errors.Is(err, ErrClosed) {
		t.Fatalf("error %v, want ErrClosed", err)
	}
}
