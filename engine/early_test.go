package engine

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
)

// acceptEarly makes a server connection, gives it in as the accepting goroutine does (OnAccepted,
// answering on w), checks that no event ran, and opens it on a memory transport.
func acceptEarly(t *testing.T, cfg Config, rec *recorder, in []byte, w *limitedWriter) *conn {
	t.Helper()
	cfg.Role = codec.ServerRole
	c := &conn{Conn: &Conn{}, ev: rec}
	c.Init(&cfg, c.ev)
	c.OnAccepted(in, w)
	c.ev.expect(t) // no event runs off the loop
	c.m = newMemory(c.Conn)
	return c
}

// limitedWriter is a socket that takes at most room bytes.
type limitedWriter struct {
	bytes.Buffer
	room int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.room)
	w.room -= n
	return w.Buffer.Write(p[:n])
}

// theAnswer is the 101 the loop gives the request upgrade.
func theAnswer(t *testing.T) string {
	c := newConn(t, Config{Role: codec.ServerRole})
	c.m.Feed([]byte(upgrade))
	return string(c.m.Read())
}

// A request that came whole with its socket is answered where it was accepted, with the bytes the
// loop would have written; the connection event runs in the loop's first turn, before the frames
// that came behind the request.
func TestAnswerOnAcceptWritesThe101BeforeTheLoop(t *testing.T) {
	want := theAnswer(t)
	w := &limitedWriter{room: 1 << 20}
	c := acceptEarly(t, Config{AnswerOnAccept: true}, &recorder{}, append([]byte(upgrade), frame(true, codec.OpText, "hi")...), w)
	if got := w.String(); got != want || !strings.HasPrefix(got, "HTTP/1.1 101 ") {
		t.Fatalf("written on accept: %q, want %q", got, want)
	}
	if out := c.m.Read(); len(out) != 0 {
		t.Fatalf("the loop wrote %q after the early answer", out)
	}
	c.ev.expect(t, "open", `text "hi"`)
	if c.q != nil {
		t.Fatal("the connection holds an output queue after an answer that all went out")
	}
}

// A socket that takes only part of the 101 gets the rest from the loop's first turn: nothing is
// cut.
func TestAnswerOnAcceptPartialWriteEndsOnTheLoop(t *testing.T) {
	want := theAnswer(t)
	w := &limitedWriter{room: 10}
	c := acceptEarly(t, Config{AnswerOnAccept: true}, &recorder{}, []byte(upgrade), w)
	if got := w.String() + string(c.m.Read()); got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	c.ev.expect(t, "open")
}

// Half a request is left to the loop: nothing is written on accept, and the loop answers once the
// rest has come.
func TestAnswerOnAcceptLeavesHalfARequestToTheLoop(t *testing.T) {
	want := theAnswer(t)
	w := &limitedWriter{room: 1 << 20}
	c := acceptEarly(t, Config{AnswerOnAccept: true}, &recorder{}, []byte(upgrade[:40]), w)
	if w.Len() != 0 {
		t.Fatalf("written on accept: %q", w.String())
	}
	c.m.Feed([]byte(upgrade[40:]))
	if got := string(c.m.Read()); got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	c.ev.expect(t, "open")
}

// Only a server without a handshake hook of the user's answers on accept; the accept loop offers
// the others nothing.
func TestAnswersOnAcceptOnlyWithoutHooks(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want bool
	}{
		{Config{Role: codec.ServerRole, AnswerOnAccept: true}, true},
		{Config{Role: codec.ServerRole}, false},
		{Config{Role: codec.ClientRole, AnswerOnAccept: true}, false},
	} {
		c := &Conn{}
		c.Init(&tc.cfg, &recorder{})
		if got := c.AnswersOnAccept(); got != tc.want {
			t.Errorf("%+v: AnswersOnAccept %v, want %v", tc.cfg, got, tc.want)
		}
	}
}

// A request the handshake refuses is left to the loop, which refuses it as it refuses one that
// came later, with the same bytes and events.
func TestAnswerOnAcceptRefusalOnTheLoop(t *testing.T) {
	loop := &conn{Conn: &Conn{}, ev: &recorder{refuse: 403}}
	loop.Init(&Config{Role: codec.ServerRole}, loop.ev)
	loop.m = newMemory(loop.Conn)
	loop.m.Feed([]byte(upgrade))
	want, wantEvents := string(loop.m.Read()), loop.ev.events
	w := &limitedWriter{room: 1 << 20}
	c := acceptEarly(t, Config{AnswerOnAccept: true}, &recorder{refuse: 403}, []byte(upgrade), w)
	if w.Len() != 0 {
		t.Fatalf("written on accept: %q", w.String())
	}
	if got := string(c.m.Read()); got != want || !strings.HasPrefix(got, "HTTP/1.1 403 ") {
		t.Fatalf("answer %q, want %q", got, want)
	}
	c.ev.expect(t, wantEvents...)
}

// A connection answered on accept that ends before reaching its loop (the server closed
// meanwhile) never opened for the layer above: its close event says so, with no connection event
// before it.
func TestAnswerOnAcceptEndedBeforeTheLoop(t *testing.T) {
	rec := &recorder{}
	c := &Conn{}
	c.Init(&Config{Role: codec.ServerRole, AnswerOnAccept: true}, rec)
	c.OnAccepted([]byte(upgrade), &limitedWriter{room: 1 << 20})
	c.OnClose(nil)
	rec.expect(t, `closed false 1006 ""`)
}
