package engine

import (
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
)

// deferring is a layer above whose Handshake defers its verdict, or, with now set, defers it and
// gives it before returning.
type deferring struct {
	*recorder
	c   *Conn
	d   *Deferred
	now *Verdict
}

func (e *deferring) Handshake(req *codec.Request) Verdict {
	e.add("handshake %s", req.Target)
	e.d = e.c.Defer()
	if e.now != nil {
		e.d.Decide(*e.now)
	}
	return Verdict{Refuse: 500} // ignored: the verdict is the deferred one
}

// parkedServer returns a server connection that received the upgrade request and then in, and
// whose Handshake deferred its verdict.
func parkedServer(t *testing.T, now *Verdict, in string) (*conn, *deferring) {
	t.Helper()
	c := &conn{Conn: &Conn{}, ev: &recorder{}}
	ev := &deferring{recorder: c.ev, c: c.Conn, now: now}
	c.Init(&Config{Role: codec.ServerRole}, ev)
	c.m = newMemory(c.Conn)
	c.m.Feed([]byte(upgrade + in))
	return c, ev
}

// decideElsewhere gives the verdict from another goroutine and returns what Decide reported.
func decideElsewhere(d *Deferred, v Verdict) bool {
	done := make(chan bool)
	go func() { done <- d.Decide(v) }()
	return <-done
}

// A deferred handshake holds the connection without an answer and reads nothing, not even the
// frame the client sent behind its request; the verdict, given from another goroutine, opens it,
// and the frame is read after the 101.
func TestDeferredAccept(t *testing.T) {
	c, ev := parkedServer(t, nil, string(frame(true, codec.OpText, "early")))
	c.ev.expect(t, "handshake /chat")
	if out := c.m.Read(); len(out) != 0 || !c.m.Paused() {
		t.Fatalf("parked connection wrote %q, paused %v", out, c.m.Paused())
	}
	if c.m.RunWakes() {
		t.Fatal("a wake ran with no verdict given")
	}
	if !decideElsewhere(ev.d, Verdict{Header: []codec.HeaderField{{Name: "X-Auth", Value: "ok"}}}) {
		t.Fatal("Decide refused the first verdict")
	}
	if !c.m.RunWakes() {
		t.Fatal("Decide did not wake the loop")
	}
	out := string(c.m.Read())
	if !strings.HasPrefix(out, "HTTP/1.1 101 ") || !strings.Contains(out, "\r\nX-Auth: ok\r\n") ||
		!strings.Contains(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("answer: %q", out)
	}
	c.ev.expect(t, "open", `text "early"`)
	if c.m.Paused() || c.rare != nil {
		t.Fatalf("open connection still paused (%v) or holding rare state (%v)", c.m.Paused(), c.rare != nil)
	}
	if decideElsewhere(ev.d, Verdict{Refuse: 403}) {
		t.Fatal("Decide took a second verdict")
	}
	c.m.RunWakes()
	c.m.Feed(frame(true, codec.OpText, "later"))
	c.ev.expect(t, `text "later"`)
}

// A refusal given later answers with its status and body, and closes.
func TestDeferredRefuse(t *testing.T) {
	c, ev := parkedServer(t, nil, "")
	decideElsewhere(ev.d, Verdict{Refuse: 401, Body: []byte("who are you\n")})
	c.m.RunWakes()
	out := string(c.m.Read())
	if !strings.HasPrefix(out, "HTTP/1.1 401 ") || !strings.HasSuffix(out, "\r\n\r\nwho are you\n") {
		t.Fatalf("answer: %q", out)
	}
	if !c.m.Closed() {
		t.Fatal("refused connection still open")
	}
	c.ev.expect(t, "handshake /chat", "closed false 1006 \"\"")
}

// A verdict that never comes ends the connection at the handshake deadline, as any handshake
// that takes too long; a verdict after that is refused.
func TestDeferredTimeout(t *testing.T) {
	c, ev := parkedServer(t, nil, "")
	c.expectClosedAt(t, DefaultHandshakeTimeout, "the handshake deadline")
	if out := c.m.Read(); len(out) != 0 {
		t.Fatalf("timed-out handshake answered %q", out)
	}
	if decideElsewhere(ev.d, Verdict{}) {
		t.Fatal("Decide took a verdict after the handshake timed out")
	}
	c.ev.expect(t, "handshake /chat", "closed false 1006 \"\"")
}

// Terminate ends a parked connection at once; its verdict is then refused.
func TestDeferredTerminate(t *testing.T) {
	c, ev := parkedServer(t, nil, "")
	c.Terminate()
	c.m.RunWakes()
	if !c.m.Closed() || decideElsewhere(ev.d, Verdict{}) {
		t.Fatalf("closed %v after Terminate, or a verdict was taken", c.m.Closed())
	}
}

// A verdict given before Handshake returns is answered at once, without parking.
func TestDeferredDecidedAtOnce(t *testing.T) {
	c, _ := parkedServer(t, &Verdict{}, string(frame(true, codec.OpText, "hi")))
	if out := string(c.m.Read()); !strings.HasPrefix(out, "HTTP/1.1 101 ") {
		t.Fatalf("answer: %q", out)
	}
	c.ev.expect(t, "handshake /chat", "open", `text "hi"`)
	if c.m.Paused() {
		t.Fatal("a handshake decided at once parked the connection")
	}
	c.m.RunWakes() // Decide's wake finds nothing to answer
	c.ev.expect(t)
	if out := c.m.Read(); len(out) != 0 {
		t.Fatalf("the wake wrote %q", out)
	}
}
