package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// userKey is the context key of the user a test middleware authenticates.
type userKey struct{}

// expectOpen checks that ctx is not done.
func expectOpen(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
		t.Fatalf("the context of an open connection is done: %v", ctx.Err())
	default:
	}
}

// expectDone waits, bounded, for ctx to be cancelled.
func expectDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
		if ctx.Err() != context.Canceled {
			t.Fatalf("context ended with %v, want context.Canceled", ctx.Err())
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("the context is not cancelled after the connection closed")
	}
}

// Mounted on net/http behind a middleware, a connection's Context carries the request's values,
// from the Handshake hook on;
// it outlives the request (net/http cancels that once the connection is taken over) and is
// cancelled once the connection closes, before its close handler runs.
func TestContextMountedCarriesRequestValues(t *testing.T) {
	wstest.CheckLeaks(t)
	type seen struct {
		user any
		ctx  context.Context
	}
	conns := make(chan seen, 1)
	doneAtClose := make(chan bool, 1)
	hookUser := make(chan any, 1)
	ws := CreateServer(&ServerOptions{Handshake: func(c *Conn) (http.Header, error) {
		hookUser <- c.Context().Value(userKey{})
		return nil, nil
	}}, func(c *Conn) { conns <- seen{c.Context().Value(userKey{}), c.Context()} })
	ws.OnConnClose(func(c *Conn, _ int, _ string) { doneAtClose <- c.Context().Err() != nil })
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "alice")))
		})
	}
	hs := httptest.NewServer(auth(ws))
	defer hs.Close()
	defer ws.Close(nil)
	p := wstest.Dial(t, strings.TrimPrefix(hs.URL, "http://"), "/ws")
	if user := recv(t, hookUser); user != "alice" {
		t.Fatalf("in the Handshake hook, Context().Value(userKey) = %v, want alice", user)
	}
	got := recv(t, conns)
	if got.user != "alice" {
		t.Fatalf("Context().Value(userKey) = %v, want alice", got.user)
	}
	p.WriteFrame(true, codec.OpPing, []byte("x")) // a round trip: the request is over by now
	p.ExpectFrame(codec.OpPong, []byte("x"))
	expectOpen(t, got.ctx)
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
	expectDone(t, got.ctx)
	if !recv(t, doneAtClose) {
		t.Fatal("the context is not done in the close handler")
	}
}

// A connection of the server's own listener has a Context with no request values, cancelled on
// close; one asked for after the close is cancelled already.
func TestContextListenerCancelledOnClose(t *testing.T) {
	wstest.CheckLeaks(t)
	conns := make(chan *Conn, 1)
	s, addr := startServer(t, nil, func(c *Conn) { conns <- c })
	closed := make(chan struct{})
	s.OnConnClose(func(*Conn, int, string) { close(closed) })
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	ctx := c.Context()
	if ctx.Value(userKey{}) != nil {
		t.Fatal("a listener connection's context carries a value")
	}
	if c.Context() != ctx {
		t.Fatal("a second call made another context")
	}
	expectOpen(t, ctx)
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
	expectDone(t, ctx)
	recv(t, closed)

	late := wstest.Dial(t, addr, "/late")
	lc := recv(t, conns)
	late.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	late.ExpectClose(1000)
	waitUntil(t, "the late connection's close", func() bool { return lc.ReadyState() == Closed })
	expectDone(t, lc.Context())
}

// A client's Context carries the values of Dial's context, outlives it (its end cancels only the
// dial), and is cancelled once the connection closes.
func TestContextClientCarriesDialValues(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	dialCtx, cancel := context.WithCancel(context.WithValue(context.Background(), userKey{}, "alice"))
	c, err := Dial(dialCtx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the connection is open: this ends nothing
	ctx := c.Context()
	if got := ctx.Value(userKey{}); got != "alice" {
		t.Fatalf("the client's context carries %v, want the dial's value", got)
	}
	expectOpen(t, ctx)
	c.OnText(func(*Conn, string) {}) // a Dial connection reads once a message handler is set
	c.Close(1000, "")
	expectDone(t, ctx)
}

// A listener connection that never asks for its Context has none made, nor any cold state for
// it: an idle connection pays nothing for Context.
func TestContextMadeOnFirstUse(t *testing.T) {
	wstest.CheckLeaks(t)
	_, p, c := serverConn(t, nil)
	if k := c.cold.Load(); k != nil {
		t.Fatalf("cold state %+v before Context was asked for", k)
	}
	c.Context()
	if k := c.cold.Load(); k == nil || k.ctx.Load() == nil {
		t.Fatal("no context kept after Context")
	}
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
}
