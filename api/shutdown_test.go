package api

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// halfHead is the start of an upgrade request whose end never comes: a slowloris client.
const halfHead = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"

// goingAway is the payload of the close frame Shutdown sends.
var goingAway = codec.AppendClosePayload(nil, codec.CloseGoingAway, "server shutting down")

// shutdownResult is what Shutdown returned and how long it took.
type shutdownResult struct {
	err error
	d   time.Duration
}

// startShutdown runs s.Shutdown with a context of grace on a goroutine of its own.
func startShutdown(s *Server, grace time.Duration) <-chan shutdownResult {
	done := make(chan shutdownResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		start := time.Now()
		err := s.Shutdown(ctx)
		done <- shutdownResult{err, time.Since(start)}
	}()
	return done
}

// expectGoingAway fails unless the next frame p receives is Shutdown's close frame, byte for byte.
func expectGoingAway(t *testing.T, p *wstest.Peer) {
	t.Helper()
	f := p.MustFrame()
	if !f.Fin || f.Op != codec.OpClose || string(f.Payload) != string(goingAway) {
		t.Fatalf("got frame %v fin=%v %q, want the close frame %q", f.Op, f.Fin, f.Payload, goingAway)
	}
}

// expectClosed fails unless nc ends (EOF or reset) within wstest.Timeout with no byte received.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(wstest.Timeout))
	b, err := io.ReadAll(nc)
	var ne net.Error
	switch {
	case len(b) > 0:
		t.Fatalf("unexpected bytes before the end: %s", short(b))
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatal("the server did not close the connection")
	}
}

func TestShutdownWaitsForClosingHandshakes(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := echoServer(t)
	fired := make(chan struct{})
	s.OnClose(func(*Server) { close(fired) })
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("x"))
	p.ExpectFrame(codec.OpText, []byte("x"))
	done := startShutdown(s, wstest.Timeout)
	expectGoingAway(t, p)
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
	if r := recv(t, done); r.err != nil {
		t.Fatalf("Shutdown: %v", r.err)
	}
	select {
	case <-fired:
	default:
		t.Fatal("Shutdown returned before the close event")
	}
	p.ExpectEOF()
}

// A client that sent half a request head and stalls must not hold Shutdown: it is closed at once,
// while an open client goes through its closing handshake. The handshake timeout is far beyond
// Shutdown's grace, so only Shutdown can end the stalled socket in time.
func TestShutdownEndsHandshakesAtOnce(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, &ServerOptions{HandshakeTimeout: time.Minute}, nil)
	silent := wstest.DialRaw(t, addr) // connects and sends nothing
	slow := wstest.DialRaw(t, addr)
	slow.Write([]byte(halfHead))
	// The accept loop enrolls one socket after the other: once this one is open, so are the two
	// before it.
	p := wstest.Dial(t, addr, "/")
	done := startShutdown(s, wstest.Timeout)
	expectGoingAway(t, p)
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
	r := recv(t, done)
	if r.err != nil || r.d > time.Second {
		t.Fatalf("Shutdown = %v after %v, want nil within 1s", r.err, r.d)
	}
	expectClosed(t, silent.Conn)
	expectClosed(t, slow.Conn)
	p.ExpectEOF()
}

// The same over TLS: a client stalled in its TLS handshake and one stalled in its WebSocket
// handshake are closed at once, and an open client gets 1001.
func TestShutdownEndsTLSHandshakesAtOnce(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	s, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg, HandshakeTimeout: time.Minute}, nil)
	silent := wstest.DialRaw(t, addr) // never says hello
	slow, err := tls.Dial("tcp", addr, clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte(halfHead)); err != nil {
		t.Fatal(err)
	}
	opened := make(chan struct{})
	closes := make(chan [2]any, 1)
	c, err := Connect("wss://"+addr+"/", &ClientOptions{TLSConfig: clientCfg}, func(*Conn) { close(opened) })
	if err != nil {
		t.Fatal(err)
	}
	c.OnClose(func(_ *Conn, code int, reason string) { closes <- [2]any{code, reason} })
	recv(t, opened)
	r := recv(t, startShutdown(s, wstest.Timeout))
	if r.err != nil || r.d > time.Second {
		t.Fatalf("Shutdown = %v after %v, want nil within 1s", r.err, r.d)
	}
	if got, want := recv(t, closes), [2]any{int(codec.CloseGoingAway), "server shutting down"}; got != want {
		t.Fatalf("client saw close %v, want %v", got, want)
	}
	expectClosed(t, silent.Conn)
	expectClosed(t, slow)
}

// A peer that never answers the close keeps its connection until the grace runs out; then it is
// closed at once (CloseTimeout, far longer, plays no part) and Shutdown reports the context's end.
func TestShutdownGraceRunsOut(t *testing.T) {
	wstest.CheckLeaks(t)
	const grace = 300 * time.Millisecond
	s, addr := startServer(t, &ServerOptions{CloseTimeout: time.Minute}, nil)
	codes := make(chan int, 1)
	s.OnConnClose(func(_ *Conn, code int, _ string) { codes <- code })
	p := wstest.Dial(t, addr, "/") // a peer that never answers the close
	done := startShutdown(s, grace)
	expectGoingAway(t, p)
	r := recv(t, done)
	if !errors.Is(r.err, context.DeadlineExceeded) || r.d < grace || r.d > grace+time.Second {
		t.Fatalf("Shutdown = %v after %v, want the context's deadline after about %v", r.err, r.d, grace)
	}
	start := time.Now()
	p.ExpectEOF()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the socket closed %v after Shutdown returned, want at once", d)
	}
	if code := recv(t, codes); code != int(codec.CloseAbnormal) {
		t.Fatalf("close code %d, want 1006 for a connection whose handshake never ended", code)
	}
}
