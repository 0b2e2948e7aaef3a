package engine

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// The peer closes: the server echoes its code and reason, then closes TCP once the echo is out.
func TestClosePeerFirst(t *testing.T) {
	c := openServer(t, Config{})
	c.m.Feed(frame(true, codec.OpClose, string(codec.AppendClosePayload(nil, 4001, "bye"))))
	c.expectFrames(t, closeFrame(4001, "bye"))
	if !c.m.Closed() {
		t.Fatal("socket still open after the close echo went out")
	}
	c.ev.expect(t, `closed true 4001 "bye"`)
}

// A close echo that the kernel cannot take yet holds the socket open until it is out; a peer
// that never reads it is cut off at the close timeout.
func TestCloseWaitsForTheDrainThenTheTimeout(t *testing.T) {
	c := openServer(t, Config{CloseTimeout: time.Second})
	c.m.SetKernelRoom(0)
	c.m.Feed(frame(true, codec.OpClose, string(codec.AppendClosePayload(nil, 1000, ""))))
	if c.m.Closed() {
		t.Fatal("closed with the echo still queued: gnet would drop it")
	}
	c.expectClosedAt(t, time.Second, "the close timeout")
	c.ev.expect(t, `closed true 1000 ""`)
}

// The echo drains later: the drain poll closes the socket as soon as it is out.
func TestCloseAfterLateDrain(t *testing.T) {
	c := openServer(t, Config{})
	c.m.SetKernelRoom(0)
	c.m.Feed(frame(true, codec.OpClose, ""))
	c.m.SetKernelRoom(1 << 20)
	c.tick()
	if !c.m.Closed() {
		t.Fatal("still open once the echo drained")
	}
	c.expectFrames(t, wireFrame{true, codec.OpClose, ""})
	c.ev.expect(t, `closed true 1005 ""`)
}

// We close first: our frame goes out, and the peer's answer ends the connection.
func TestCloseOursAnswered(t *testing.T) {
	c := openServer(t, Config{})
	if err := c.WriteClose(1000, "done"); err != nil {
		t.Fatal(err)
	}
	c.m.RunWakes()
	c.expectFrames(t, closeFrame(1000, "done"))
	if err := c.WriteText("late", nil); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("send after close: %v", err)
	}
	c.m.Feed(frame(true, codec.OpClose, string(codec.AppendClosePayload(nil, 1000, "ok"))))
	if !c.m.Closed() {
		t.Fatal("still open after the answer")
	}
	c.expectFrames(t) // no second close frame
	c.ev.expect(t, `closed true 1000 "ok"`)
}

// We close first and the peer never answers: closed at the close timeout with ErrCloseTime,
// reported as 1006.
func TestCloseOursUnanswered(t *testing.T) {
	c := openServer(t, Config{CloseTimeout: 2 * time.Second})
	_ = c.WriteClose(1001, "")
	c.m.RunWakes()
	c.expectClosedAt(t, 2*time.Second, "the close timeout")
	c.ev.expect(t, "error "+ErrCloseTime.Error(), `closed true 1006 ""`)
}

// A protocol violation reports the error, sends its code and closes: error before close.
func TestCloseOnViolation(t *testing.T) {
	c := openServer(t, Config{})
	c.m.Feed(codec.AppendFrame(nil, true, codec.OpText, []byte("x"), codec.ServerRole, [4]byte{})) // unmasked
	got := frames(t, c.m.Read(), codec.ClientRole)
	if len(got) != 1 || got[0].op != codec.OpClose || got[0].payload[:2] != "\x03\xea" {
		t.Fatalf("peer read %v, want one close frame with 1002", got)
	}
	if !c.m.Closed() {
		t.Fatal("still open after a violation")
	}
	if len(c.ev.events) != 2 || c.ev.events[1] != `closed true 1002 ""` {
		t.Fatalf("events %q, want an error then close 1002", c.ev.events)
	}
}

// Invalid UTF-8 closes with 1007, a frame over the cap with 1009.
func TestCloseCodesOfViolations(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		code codec.CloseCode
	}{
		{"utf8", frame(true, codec.OpText, "\xff"), 1007},
		{"utf8 in fragments", append(frame(false, codec.OpText, "ok"), frame(true, codec.OpContinuation, "\xc3")...), 1007},
		{"too big", frame(true, codec.OpBinary, "12345678901"), 1009},
		{"too big in fragments", append(frame(false, codec.OpBinary, "123456"), frame(true, codec.OpContinuation, "123456")...), 1009},
		{"bad close code", frame(true, codec.OpClose, "\x03\xf7"), 1002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openServer(t, Config{MaxMessage: 10})
			c.m.Feed(tc.in)
			got := frames(t, c.m.Read(), codec.ClientRole)
			last := got[len(got)-1]
			code, _, _ := codec.ParseClosePayload([]byte(last.payload))
			if last.op != codec.OpClose || code != tc.code || !c.m.Closed() {
				t.Fatalf("peer read %v (closed %v), want close %d", got, c.m.Closed(), tc.code)
			}
		})
	}
}

// An opening handshake that does not finish in time is aborted, silently for a server.
func TestCloseHandshakeTimeout(t *testing.T) {
	c := newConn(t, Config{Role: codec.ServerRole, HandshakeTimeout: time.Second})
	c.m.Feed([]byte("GET / HTTP/1.1\r\nHost: x\r\n")) // half a head: slowloris
	c.expectClosedAt(t, time.Second, "the handshake timeout")
	c.ev.expect(t, `closed false 1006 ""`)
}

// Terminate closes at once, dropping the queue; a callback waiting on it hears ErrClosed.
func TestCloseTerminate(t *testing.T) {
	c := openServer(t, Config{})
	c.m.SetKernelRoom(0)
	var got []error
	_ = c.WriteText("queued", func(err error) { got = append(got, err) })
	c.m.RunWakes()
	c.Terminate()
	c.m.RunWakes()
	if !c.m.Closed() {
		t.Fatal("still open after Terminate")
	}
	if len(got) != 1 || !errors.Is(got[0], ErrClosed) {
		t.Fatalf("callback got %v, want ErrClosed once", got)
	}
	c.ev.expect(t, `closed true 1006 ""`)
}

// Terminate before the connection reached its loop is not lost.
func TestCloseTerminateBeforeOpen(t *testing.T) {
	c := &conn{Conn: &Conn{}, ev: &recorder{}}
	c.Init(&Config{Role: codec.ServerRole}, c.ev)
	c.Terminate()
	c.m = newMemory(c.Conn)
	if !c.m.Closed() {
		t.Fatal("a connection terminated before OnOpen was opened")
	}
}

// A client ends the close exchange by half-closing, and closes at the timeout without the FIN.
func TestCloseClientHalfCloses(t *testing.T) {
	c := openClient(t, Config{CloseTimeout: time.Second})
	c.m.Feed(codec.AppendFrame(nil, true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""), codec.ServerRole, [4]byte{}))
	if !c.m.WriteClosed() || c.m.Closed() {
		t.Fatalf("after the exchange: half-closed %v, closed %v; want half-closed only", c.m.WriteClosed(), c.m.Closed())
	}
	c.after(2 * time.Second)
	if !c.m.Closed() {
		t.Fatal("client still open after the close timeout without the server's FIN")
	}
	c.ev.expect(t, `closed true 1000 ""`)
}

// A panicking handler ends its own connection with 1011, error then close.
func TestClosePanic(t *testing.T) {
	c := openServer(t, Config{})
	c.ev.message = func(codec.Opcode, []byte) { panic("boom") }
	c.m.Feed(frame(true, codec.OpText, "x"))
	got := frames(t, c.m.Read(), codec.ClientRole)
	if len(got) != 1 || got[0].payload[:2] != "\x03\xf3" || !c.m.Closed() {
		t.Fatalf("peer read %v, want close 1011", got)
	}
	if len(c.ev.events) != 3 || c.ev.events[2] != `closed true 1011 ""` ||
		!strings.HasPrefix(c.ev.events[1], "error websocket: handler panic: boom") {
		t.Fatalf("events %q, want the message, the panic's error, close 1011", c.ev.events)
	}
}

// The peer vanishes: close 1006, with the socket error.
func TestCloseVanishedPeer(t *testing.T) {
	c := openServer(t, Config{})
	c.m.PeerGone(errors.New("connection reset"))
	c.ev.expect(t, "error connection reset", `closed true 1006 ""`)
}

// A write that fails closes the connection inside the write, as gnet's does: OnClose gives the
// output queue back to its pool then, so the flush that made the write must not touch the queue
// afterwards (another connection may own it by then). The send's callback gets the error once.
func TestWriteFailingClosesInsideTheFlush(t *testing.T) {
	c := openServer(t, Config{})
	q := new(outq) // a queue never used: its spare slice is nil until a write gives one back
	c.q = q
	sent := make(chan error, 2)
	c.m.FailWrites(io.ErrClosedPipe)
	shared := NewShared(codec.OpText, []byte("echo")) // a segment beside the owned bytes
	defer shared.Release()
	c.ev.message = func(codec.Opcode, []byte) { _ = c.WriteShared(shared, func(err error) { sent <- err }) }
	c.m.Feed(frame(true, codec.OpText, "go"))
	c.ev.expect(t, `text "go"`, "error "+io.ErrClosedPipe.Error(), `closed true 1006 ""`)
	if err := <-sent; !errors.Is(err, ErrClosed) {
		t.Fatalf("the callback got %v, want ErrClosed", err)
	}
	if len(sent) != 0 {
		t.Fatal("the callback ran twice")
	}
	if q.spare != nil || q.owned != nil || len(q.segs) != 0 {
		t.Fatal("the flush wrote to the queue after OnClose had given it back")
	}
}

// A handler that panicked off the loop (HandlerPanicked, from an executor's worker) fails the
// connection at the loop's next turn exactly as one on the loop does: a close frame with 1011,
// the error, the socket closed behind the frame, then Closed with 1011.
func TestHandlerPanickedOffTheLoop(t *testing.T) {
	c := openServer(t, Config{})
	boom := errors.New("boom")
	c.HandlerPanicked(boom)
	c.HandlerPanicked(errors.New("a second panic")) // the first one decides
	c.m.RunWakes()
	c.expectFrames(t, closeFrame(codec.CloseInternalError, "internal error"))
	if !c.m.Closed() {
		t.Fatal("the socket is still open behind the close frame")
	}
	c.ev.expect(t, "error boom", `closed true 1011 ""`)
}
