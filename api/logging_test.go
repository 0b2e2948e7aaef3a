package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/internal/wstest"
)

// logRecord is one record a recordingHandler received, its attributes as strings.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
	user  any // the userKey value of the record's context (context_test.go)
}

// recordingHandler is a slog.Handler that keeps every record, at every level.
type recordingHandler struct {
	mu   sync.Mutex
	recs []logRecord
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}, user: ctx.Value(userKey{})}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, rec)
	h.mu.Unlock()
	return nil
}

func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) records() []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRecord(nil), h.recs...)
}

// newRecordingLogger returns a logger whose records the returned handler keeps.
func newRecordingLogger() (*slog.Logger, *recordingHandler) {
	h := &recordingHandler{}
	return slog.New(h), h
}

// expectOneRecord checks that h holds exactly one record, with level, msg and at least attrs.
func expectOneRecord(t *testing.T, h *recordingHandler, level slog.Level, msg string, attrs map[string]string) logRecord {
	t.Helper()
	recs := h.records()
	if len(recs) != 1 {
		t.Fatalf("%d records %+v, want one %q", len(recs), recs, msg)
	}
	r := recs[0]
	if r.level != level || r.msg != msg {
		t.Fatalf("record %v %q, want %v %q", r.level, r.msg, level, msg)
	}
	for k, v := range attrs {
		if r.attrs[k] != v {
			t.Errorf("attribute %s = %q, want %q (record %+v)", k, r.attrs[k], v, r.attrs)
		}
	}
	return r
}

// loggingServer starts a server with opts and a recording Logger whose connections' close events
// reach the returned channel.
func loggingServer(t *testing.T, opts ServerOptions, onConn func(*Conn)) (*Server, string, *recordingHandler, chan int) {
	t.Helper()
	l, h := newRecordingLogger()
	opts.Logger = l
	s, addr := startServer(t, &opts, onConn)
	closes := make(chan int, 4)
	s.OnConnClose(func(_ *Conn, code int, _ string) { closes <- code })
	return s, addr, h, closes
}

// A handler's panic logs one Error record with the panic value, the stack, the close code and
// the connection's remote address and path, on the loop and on an executor's worker.
func TestLogHandlerPanic(t *testing.T) {
	for name, x := range map[string]*Executor{"loop": nil, "executor": NewExecutor(1, 0)} {
		t.Run(name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			s, addr, h, closes := loggingServer(t, ServerOptions{Executor: x}, nil)
			s.OnText(func(*Conn, string) { panic("handler bug") })
			p := wstest.Dial(t, addr, "/room?id=7")
			p.WriteFrame(true, codec.OpText, []byte("boom"))
			p.ExpectClose(codec.CloseInternalError)
			if x != nil { // a worker's panic closes with a close handshake
				p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseInternalError, ""))
			}
			recv(t, closes)
			r := expectOneRecord(t, h, slog.LevelError, LogHandlerPanic, map[string]string{
				"panic": "handler bug", "close_code": "1011", "path": "/room?id=7",
				"remote": p.Conn.LocalAddr().String(),
			})
			if !strings.Contains(r.attrs["stack"], "logging_test.go") || !strings.Contains(r.attrs["stack"], "goroutine ") {
				t.Fatalf("stack %q does not show the panicking handler", r.attrs["stack"])
			}
		})
	}
}

// A connection closed by the slow-connection policy logs one Info record with its reason.
func TestLogSlowConnectionClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	conns := make(chan *Conn, 1)
	_, addr, h, closes := loggingServer(t, ServerOptions{MaxQueuedBytes: 256 << 10, CloseSlowConnections: true},
		func(c *Conn) { conns <- c })
	p := wstest.Dial(t, addr, "/slow")
	fillUntilFull(t, recv(t, conns))
	if code := recv(t, closes); code != 1006 {
		t.Fatalf("close %d, want 1006", code)
	}
	expectOneRecord(t, h, slog.LevelInfo, LogSlowClosed, map[string]string{
		"reason": "queue full", "close_code": "1006", "path": "/slow", "remote": p.Conn.LocalAddr().String(),
		"error": engine.ErrQueueFull.Error(),
	})
}

// A connection closed by keepalive logs one Debug record with its reason.
func TestLogKeepaliveClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, h, closes := loggingServer(t, ServerOptions{IdleTimeout: 200 * time.Millisecond}, nil)
	p := wstest.Dial(t, addr, "/idle")
	p.ExpectClose(codec.CloseGoingAway)
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
	recv(t, closes)
	expectOneRecord(t, h, slog.LevelDebug, LogKeepaliveClosed, map[string]string{
		"reason": "idle timeout", "close_code": "1001", "path": "/idle",
	})
}

// A failed TLS handshake logs one Debug record naming the client; it still reaches the error
// event.
func TestLogTLSHandshakeFailed(t *testing.T) {
	wstest.CheckLeaks(t)
	l, h := newRecordingLogger()
	_, addr, _, errs := tlsErrorServer(t, ServerOptions{Logger: l})
	p := wstest.DialRaw(t, addr)
	p.Write([]byte("\x16\x03\x01\xff\xff\x01\x02\x03"))
	recv(t, errs)
	r := expectOneRecord(t, h, slog.LevelDebug, LogTLSHandshakeFailed, map[string]string{"remote": p.Conn.LocalAddr().String()})
	if r.attrs["error"] == "" {
		t.Fatal("no error attribute")
	}
}

// emfileListener fails its first n Accepts with EMFILE, then accepts from the listener it wraps.
type emfileListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.n > 0
	l.n--
	l.mu.Unlock()
	if fail {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Failed accepts log a Warn record each, with the backoff before the next attempt; the server
// then accepts as before.
func TestLogAcceptBackoff(t *testing.T) {
	wstest.CheckLeaks(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, h := newRecordingLogger()
	s := CreateServer(&ServerOptions{Logger: l}, nil)
	if err := s.Serve(&emfileListener{Listener: inner, n: 2}, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil)
	p := wstest.Dial(t, inner.Addr().String(), "/")
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
	recs := h.records()
	if len(recs) != 2 {
		t.Fatalf("%d records %+v, want 2", len(recs), recs)
	}
	for i, backoff := range []string{"5ms", "10ms"} {
		r := recs[i]
		if r.level != slog.LevelWarn || r.msg != LogAcceptFailed || r.attrs["backoff"] != backoff ||
			!strings.Contains(r.attrs["error"], syscall.EMFILE.Error()) {
			t.Errorf("record %d: %+v, want Warn %q with backoff %s and EMFILE", i, r, LogAcceptFailed, backoff)
		}
	}
}

// The listener's records are limited to 10 a second per kind; the first one let through after
// some were dropped says how many.
func TestLogLimit(t *testing.T) {
	var r logLimit
	t0 := time.Unix(1000, 0)
	for i := range logBurst {
		if ok, dropped := r.allow(t0.Add(time.Duration(i) * time.Millisecond)); !ok || dropped != 0 {
			t.Fatalf("record %d: allow = %v, %d; want true, 0", i, ok, dropped)
		}
	}
	for i := range 5 {
		if ok, _ := r.allow(t0.Add(500 * time.Millisecond)); ok {
			t.Fatalf("record %d past the burst let through", logBurst+i)
		}
	}
	if ok, dropped := r.allow(t0.Add(time.Second)); !ok || dropped != 5 {
		t.Fatalf("a second later: allow = %v, %d; want true, 5", ok, dropped)
	}
	if ok, dropped := r.allow(t0.Add(time.Second + time.Millisecond)); !ok || dropped != 0 {
		t.Fatalf("the next one: allow = %v, %d; want true, 0", ok, dropped)
	}
}

// Echoing 1,000 messages and closing normally logs nothing, at any level: nothing is logged per
// message.
func TestLogNothingPerMessage(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr, h, closes := loggingServer(t, ServerOptions{}, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	p := wstest.Dial(t, addr, "/echo")
	for i := range 1000 {
		msg := []byte("message " + string(rune('a'+i%26)))
		p.WriteFrame(true, codec.OpText, msg)
		p.ExpectFrame(codec.OpText, msg)
	}
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
	if code := recv(t, closes); code != 1000 {
		t.Fatalf("close %d", code)
	}
	if recs := h.records(); len(recs) != 0 {
		t.Fatalf("%d records, want none: %+v", len(recs), recs)
	}
}

// Without a Logger nothing is logged, not even to slog's default logger.
func TestLogNilLoggerSilent(t *testing.T) {
	wstest.CheckLeaks(t)
	l, h := newRecordingLogger()
	old := slog.Default()
	slog.SetDefault(l)
	defer slog.SetDefault(old)
	s, addr := startServer(t, nil, nil)
	closes := make(chan int, 1)
	s.OnConnClose(func(_ *Conn, code int, _ string) { closes <- code })
	s.OnText(func(*Conn, string) { panic("handler bug") })
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("boom"))
	p.ExpectClose(codec.CloseInternalError)
	recv(t, closes)
	if recs := h.records(); len(recs) != 0 {
		t.Fatalf("%d records through slog's default, want none: %+v", len(recs), recs)
	}
}

// A client's Logger logs its handler's panic as a server's does.
func TestLogClientHandlerPanic(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	l, h := newRecordingLogger()
	closes := make(chan int, 1)
	_, err := Connect("ws://"+addr+"/p", &ClientOptions{Logger: l, Setup: func(c *Conn) {
		c.OnText(func(*Conn, string) { panic("client bug") })
		c.OnClose(func(_ *Conn, code int, _ string) { closes <- code })
	}}, func(c *Conn) { c.SendText("boom", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if code := recv(t, closes); code != 1011 {
		t.Fatalf("close %d, want 1011", code)
	}
	expectOneRecord(t, h, slog.LevelError, LogHandlerPanic, map[string]string{
		"panic": "client bug", "close_code": "1011", "path": "/p", "remote": addr,
	})
}

// A mounted connection's records carry the request's context, so that a handler can add what a
// middleware put there (a request ID, the user).
func TestLogMountedRecordHasRequestContext(t *testing.T) {
	wstest.CheckLeaks(t)
	l, h := newRecordingLogger()
	ws := CreateServer(&ServerOptions{Logger: l}, nil)
	ws.OnText(func(*Conn, string) { panic("handler bug") })
	closes := make(chan int, 1)
	ws.OnConnClose(func(_ *Conn, code int, _ string) { closes <- code })
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "alice")))
	}))
	defer hs.Close()
	defer ws.Close(nil)
	p := wstest.Dial(t, strings.TrimPrefix(hs.URL, "http://"), "/ws")
	p.WriteFrame(true, codec.OpText, []byte("boom"))
	p.ExpectClose(codec.CloseInternalError)
	recv(t, closes)
	if r := expectOneRecord(t, h, slog.LevelError, LogHandlerPanic, map[string]string{"path": "/ws"}); r.user != "alice" {
		t.Fatalf("the record's context has user %v, want alice", r.user)
	}
}

// The end of a connection the user never knew, whose handshake did not succeed, is logged too: a
// handshake that timed out, and a Handshake hook that panicked.
func TestLogEndBeforeTheHandshake(t *testing.T) {
	wstest.CheckLeaks(t)
	t.Run("timeout", func(t *testing.T) {
		_, addr, h, _ := loggingServer(t, ServerOptions{HandshakeTimeout: 200 * time.Millisecond}, nil)
		p := wstest.DialRaw(t, addr)
		p.Write([]byte("GET /slow HTTP/1.1\r\n")) // and no more
		p.ExpectEOF()
		waitUntil(t, "the handshake timeout's record", func() bool { return len(h.records()) > 0 })
		expectOneRecord(t, h, slog.LevelDebug, LogHandshakeTimeout, map[string]string{
			"reason": "handshake timeout", "close_code": "1006", "remote": p.Conn.LocalAddr().String(),
		})
	})
	t.Run("hook panic", func(t *testing.T) {
		_, addr, h, _ := loggingServer(t, ServerOptions{Handshake: func(*Conn) (http.Header, error) { panic("hook bug") }}, nil)
		p := wstest.DialRaw(t, addr)
		p.Write([]byte(wstest.Request("/hook")))
		p.ExpectEOF() // no answer: the hook that decides it failed
		waitUntil(t, "the hook panic's record", func() bool { return len(h.records()) > 0 })
		expectOneRecord(t, h, slog.LevelError, LogHandlerPanic, map[string]string{"panic": "hook bug", "path": "/hook"})
	})
}
