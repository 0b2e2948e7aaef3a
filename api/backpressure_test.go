package api

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// fillMsg is the size of the messages fillUntilFull sends; fillMsgFrame is the size of one on the
// wire (a 10-byte header: FIN and opcode, the 64-bit length form, no mask).
const (
	fillMsg      = 64 << 10
	fillMsgFrame = fillMsg + 10
)

// fillUntilFull sends fillMsg-byte messages to c from a goroutine of the test until one is
// refused, and returns how many went. It paces the sends so that the loop flushes between them: the queue
// fills through the kernel's socket buffers and then the transport's backlog, not only through
// output waiting for a flush.
func fillUntilFull(t *testing.T, c *Conn) int {
	t.Helper()
	msg := bytes.Repeat([]byte{7}, fillMsg)
	deadline := time.Now().Add(wstest.Timeout)
	for n := 0; time.Now().Before(deadline); n++ {
		err := c.SendBinary(msg, nil)
		if errors.Is(err, ErrQueueFull) {
			return n
		}
		if err != nil {
			t.Fatalf("send %d: %v", n, err)
		}
		time.Sleep(time.Millisecond) // let the loop hand the queue over: fill the kernel's buffers first
	}
	t.Fatal("the queue never filled: a reader that reads nothing pins unbounded memory")
	return 0
}

// A peer that stops reading cannot pin memory: once the queue holds MaxQueuedBytes, data sends are
// refused (control frames still go), OnDrain fires when the peer has read everything, and sends
// work again. Nothing accepted is lost.
//
// The bound: the API does not expose how much a connection holds queued, so the test computes it.
// Every accepted message is a 10-byte header and fillMsg bytes on the wire; what the kernel has
// taken of them sits in the server socket's send queue or the client's receive queue (the client
// reads nothing, and loopback has no wire in between), which wstest.KernelQueued reads exactly.
// The rest is held by the server, and must not pass MaxQueuedBytes. The kernel is full by the
// time a send is refused (the client's window is closed), so what the server holds no longer
// changes. From below: a message is refused only when it would pass the cap, so the server holds
// more than MaxQueuedBytes less one message (less two here, leaving room for what the queue may
// count beside the frames, such as the transport's bookkeeping). A cap that ignored the size of
// the message being queued fails the first check, one that refused far too early the second.
func TestSendQueueRefusesThenDrains(t *testing.T) {
	wstest.CheckLeaks(t)
	const maxQueued = 256 << 10
	conns := make(chan *Conn, 1)
	drained := make(chan struct{}, 1)
	s, addr := startServer(t, &ServerOptions{MaxQueuedBytes: maxQueued}, func(c *Conn) { conns <- c })
	s.OnDrain(func(*Conn) { drained <- struct{}{} })
	p := wstest.Dial(t, addr, "/") // reads nothing for now
	c := <-conns
	sent := fillUntilFull(t, c)
	held := sent*fillMsgFrame - wstest.KernelQueued(t, p.Conn)
	t.Logf("%d messages of %d bytes went before the queue was full; the server holds %d bytes of them", sent, fillMsg, held)
	if held > maxQueued {
		t.Fatalf("the server holds %d bytes, more than MaxQueuedBytes %d", held, maxQueued)
	}
	if held <= maxQueued-2*fillMsgFrame {
		t.Fatalf("the server holds only %d bytes: a send was refused before the queue neared MaxQueuedBytes %d", held, maxQueued)
	}
	if err := c.SendPing([]byte("still")); err != nil {
		t.Fatalf("a ping was refused with the queue full: %v", err)
	}
	for i := range sent {
		f := p.MustFrame()
		if f.Op != codec.OpBinary || len(f.Payload) != fillMsg {
			t.Fatalf("frame %d: %v of %d bytes", i, f.Op, len(f.Payload))
		}
	}
	p.ExpectFrame(codec.OpPing, []byte("still"))
	select {
	case <-drained:
	case <-time.After(wstest.Timeout):
		t.Fatal("no drain event once the peer read everything")
	}
	if err := c.SendText("again", nil); err != nil {
		t.Fatalf("send after the drain: %v", err)
	}
	p.ExpectFrame(codec.OpText, []byte("again"))
	p.WriteFrame(true, codec.OpClose, nil)
	p.ExpectClose(0)
}

// With CloseSlowConnections, the send that finds the queue full ends the connection instead.
func TestSendQueueClosesSlowConnection(t *testing.T) {
	wstest.CheckLeaks(t)
	conns := make(chan *Conn, 1)
	events := make(chan string, 2)
	s, addr := startServer(t, &ServerOptions{MaxQueuedBytes: 256 << 10, CloseSlowConnections: true}, func(c *Conn) { conns <- c })
	s.OnConnError(func(_ *Conn, err error) {
		if errors.Is(err, ErrQueueFull) {
			events <- "error queue full"
		} else {
			events <- "error " + err.Error()
		}
	})
	s.OnConnClose(func(_ *Conn, code int, _ string) {
		if code == 1006 {
			events <- "close 1006"
		} else {
			events <- "close other"
		}
	})
	p := wstest.Dial(t, addr, "/")
	fillUntilFull(t, <-conns)
	for _, want := range []string{"error queue full", "close 1006"} {
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		case <-time.After(wstest.Timeout):
			t.Fatalf("no %q", want)
		}
	}
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	if _, err := io.Copy(io.Discard, p.Conn); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("the slow peer's read ended with %v", err) // a reset is as good as an end here
	}
}
