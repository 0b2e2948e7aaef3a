package engine

import (
	"bytes"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"unsafe"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The read side's batching and the lending of delivered payloads to their echoes: several frames
// in one read are delivered in order and answered with one write; an echo sent from the handler
// goes out from the bytes it was delivered in; frames split across reads come out whole.

// echoer is a server connection whose handler sends every message back with its type.
func echoer(t *testing.T) *conn {
	t.Helper()
	c := openServer(t, Config{})
	c.ev.message = func(op codec.Opcode, p []byte) { echo(t, c.Conn, op, p) }
	return c
}

func echo(t *testing.T, c *Conn, op codec.Opcode, p []byte) {
	t.Helper()
	var err error
	if op == codec.OpText {
		err = c.WriteTextBytes(p, nil)
	} else {
		err = c.WriteBinary(p, nil)
	}
	if err != nil {
		t.Errorf("echo: %v", err)
	}
}

// payload returns n bytes of a pattern that no mask leaves unchanged.
func payload(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%23)
	}
	return string(b)
}

// Frames of every header size in one read: each delivered, in order, and all echoed in one write.
func TestSeveralFramesOneReadOneWrite(t *testing.T) {
	c := echoer(t)
	sizes := []int{0, 5, 125, 126, 1 << 10, 20 << 10, 70 << 10, 3}
	var in []byte
	var want []wireFrame
	var events []string
	for i, n := range sizes {
		op := codec.OpBinary
		if i%2 == 1 {
			op = codec.OpText
		}
		in = append(in, frame(true, op, payload(n))...)
		want = append(want, wireFrame{true, op, payload(n)})
		events = append(events, op.String()+" "+quoteTruncated(payload(n)))
	}
	writes := c.m.Writes()
	c.m.Feed(in)
	c.ev.expect(t, events...)
	if w := c.m.Writes() - writes; w != 1 {
		t.Fatalf("%d frames in one read were answered with %d writes, want 1", len(sizes), w)
	}
	c.expectFrames(t, want...)
}

func quoteTruncated(s string) string {
	r := &recorder{}
	r.add("%q", truncate([]byte(s)))
	return r.events[0]
}

// Frames split at every byte of their headers and payloads come out whole and in order, whatever
// the reads: a frame whole in a read with a split one behind it, a fragmented message around a
// ping, and a large frame fed in small pieces.
func TestFramesSplitAcrossReads(t *testing.T) {
	var in []byte
	in = append(in, frame(true, codec.OpBinary, payload(300))...)
	in = append(in, frame(false, codec.OpText, payload(1000))...)
	in = append(in, frame(true, codec.OpPing, "ping")...)
	in = append(in, frame(true, codec.OpContinuation, payload(70))...)
	in = append(in, frame(true, codec.OpBinary, payload(20<<10))...)
	in = append(in, frame(true, codec.OpText, "end")...)
	want := []wireFrame{
		{true, codec.OpBinary, payload(300)},
		{true, codec.OpPong, "ping"},
		{true, codec.OpText, payload(1000) + payload(70)},
		{true, codec.OpBinary, payload(20 << 10)},
		{true, codec.OpText, "end"},
	}
	for _, step := range []int{1, 3, 7, 100, 1000, 4096, 9000} {
		c := echoer(t)
		var out []byte
		for i := 0; i < len(in); i += step {
			c.m.Feed(in[i:min(len(in), i+step)])
			out = append(out, c.m.Read()...)
		}
		if got := frames(t, out, codec.ClientRole); !sameFrames(got, want) {
			t.Fatalf("reads of %d bytes: peer read %v, want %v", step, got, want)
		}
	}
}

func sameFrames(got, want []wireFrame) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// A whole frame and the start of the next in one read: the first is echoed at once, in that
// read's write, the second with the read that completes it.
func TestWholeFrameEchoedBeforeSplitOne(t *testing.T) {
	c := echoer(t)
	first, second := frame(true, codec.OpBinary, payload(2000)), frame(true, codec.OpBinary, payload(3000))
	c.m.Feed(append(append([]byte(nil), first...), second[:1500]...))
	c.expectFrames(t, wireFrame{true, codec.OpBinary, payload(2000)})
	c.m.Feed(second[1500:])
	c.expectFrames(t, wireFrame{true, codec.OpBinary, payload(3000)})
}

// A payload sent twice from its handler, as binary and then as text, goes out twice, each frame
// with its own header: only one of them may take the room before the payload.
func TestLentTwiceKeepsBothHeaders(t *testing.T) {
	for _, n := range []int{10, 1 << 10, 20 << 10} {
		c := openServer(t, Config{})
		c.ev.message = func(op codec.Opcode, p []byte) {
			echo(t, c.Conn, codec.OpBinary, p)
			echo(t, c.Conn, codec.OpText, p)
		}
		c.m.Feed(frame(true, codec.OpText, payload(n)))
		c.expectFrames(t, wireFrame{true, codec.OpBinary, payload(n)}, wireFrame{true, codec.OpText, payload(n)})
	}
}

// Bytes kept from before the connection was enrolled are moved up once read, before the turn's
// write: an echo of a message read from them is not lent, and what follows it in them (frames
// left unread because the handler paused the input) cannot overwrite it.
func TestEchoOfKeptBytesSurvivesTheirCompaction(t *testing.T) {
	for _, n := range []int{1 << 10, 20 << 10} {
		c := &conn{Conn: &Conn{}, ev: &recorder{}}
		c.Init(&Config{Role: codec.ServerRole}, c.ev)
		paused := false
		c.ev.message = func(op codec.Opcode, p []byte) {
			echo(t, c.Conn, op, p)
			if !paused {
				paused = true
				c.PauseInput()
			}
		}
		in := []byte(upgrade)
		in = append(in, frame(true, codec.OpBinary, payload(n))...)
		in = append(in, frame(true, codec.OpBinary, payload(2*n))...)
		c.Preload(in)
		c.m = newMemory(c.Conn)
		out := c.m.Read()
		end := bytes.Index(out, []byte("\r\n\r\n"))
		if end < 0 || !bytes.HasPrefix(out, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("answer to the upgrade: %q", out)
		}
		if got := frames(t, out[end+4:], codec.ClientRole); !sameFrames(got, []wireFrame{{true, codec.OpBinary, payload(n)}}) {
			t.Fatalf("%d-byte message kept before enrollment: peer read %v", n, got)
		}
		c.ResumeInput()
		c.m.RunWakes() // the resume reads the kept bytes: nothing more may ever arrive
		c.expectFrames(t, wireFrame{true, codec.OpBinary, payload(2 * n)})
	}
}

// An echo of a whole frame from its handler is written from the input itself, framed in place:
// one piece, the server's header in the bytes of the client's just before the payload; no buffer
// is taken for it and nothing is allocated.
func TestEchoWrittenFromInput(t *testing.T) {
	for _, n := range []int{1, 125, 1 << 10, 16 << 10, 70 << 10} {
		w := &pieceWire{}
		c := &Conn{}
		c.Init(&Config{Role: codec.ServerRole}, &echoEvents{c: c})
		c.OnOpen(w, t0)
		c.OnTraffic([]byte(upgrade))
		master := frame(true, codec.OpBinary, payload(n))
		in := slices.Clone(master)
		w.pieces, w.out = w.pieces[:0], 0
		out := bufpool.Out()
		c.OnTraffic(in)
		if len(w.pieces) != 1 {
			t.Fatalf("%d-byte echo written in %d pieces, want 1", n, len(w.pieces))
		}
		p := w.pieces[0]
		want := codec.AppendFrame(nil, true, codec.OpBinary, []byte(payload(n)), codec.ServerRole, [4]byte{})
		if !bytes.Equal(p, want) {
			t.Fatalf("%d-byte echo: wrote %d bytes, not the server frame of the payload", n, len(p))
		}
		if unsafe.SliceData(p) != &in[len(in)-len(p)] {
			t.Fatalf("%d-byte echo not written from the input: it was copied", n)
		}
		if w.out != out {
			t.Fatalf("%d-byte echo: %d pooled buffers out during the write, %d before the read", n, w.out, out)
		}
		if wstest.RaceEnabled {
			continue // allocation counts mean nothing under the race detector
		}
		allocs := testing.AllocsPerRun(50, func() {
			copy(in, master)
			w.pieces = w.pieces[:0]
			c.OnTraffic(in)
		})
		if allocs != 0 {
			t.Fatalf("%d-byte echo: %v allocations", n, allocs)
		}
	}
}

// echoEvents sends every message back from its handler, allocating nothing.
type echoEvents struct {
	recorder
	c *Conn
}

func (e *echoEvents) Message(op codec.Opcode, p []byte) { _ = e.c.WriteBinary(p, nil) }

// pieceWire is a transport that records the pieces of every write as they were handed over, and
// how many pooled buffers were out meanwhile.
type pieceWire struct {
	pieces [][]byte
	out    int64
}

func (w *pieceWire) Writev(bufs [][]byte) error {
	w.pieces = append(w.pieces, bufs...)
	w.out = bufpool.Out()
	return nil
}
func (w *pieceWire) Buffered() int                    { return 0 }
func (w *pieceWire) PauseRead()                       {}
func (w *pieceWire) ResumeRead()                      {}
func (w *pieceWire) CloseSocket()                     {}
func (w *pieceWire) CloseWrite()                      {}
func (w *pieceWire) Closed() bool                     { return false }
func (w *pieceWire) Wake()                            {}
func (w *pieceWire) SetDeadline(int64)                {}
func (w *pieceWire) Now() int64                       { return t0 }
func (w *pieceWire) RemoteAddr() net.Addr             { return nil }
func (w *pieceWire) LocalAddr() net.Addr              { return nil }
func (w *pieceWire) TLS() (tls.ConnectionState, bool) { return tls.ConnectionState{}, false }

// While the transport holds a backlog, a small output waits to be gathered past the turn: the
// echo lent for the turn is copied into the queue first, in its place among the other frames, so
// that the bytes read next cannot overwrite it.
func TestLentCopiedWhileOutputWaits(t *testing.T) {
	c := openServer(t, Config{})
	c.m.SetKernelRoom(0)
	if err := c.WriteText("first", nil); err != nil {
		t.Fatal(err)
	}
	c.m.RunWakes()
	if c.m.Buffered() == 0 {
		t.Fatal("no backlog in the transport")
	}
	s := NewShared(codec.OpText, []byte("shared"))
	defer s.Release()
	c.ev.message = func(op codec.Opcode, p []byte) {
		_ = c.WriteText("a", nil)
		echo(t, c.Conn, op, p)
		_ = c.WriteShared(s, nil)
		_ = c.WriteText("b", nil)
	}
	writes := c.m.Writes()
	c.m.Feed(frame(true, codec.OpBinary, payload(300)))
	c.m.Feed(frame(true, codec.OpPing, payload(120))) // read where the message was
	if w := c.m.Writes() - writes; w != 0 {
		t.Fatalf("%d writes of a small output while the transport holds a backlog, want 0", w)
	}
	c.m.SetKernelRoom(-1)
	c.tick()
	c.expectFrames(t,
		wireFrame{true, codec.OpText, "first"},
		wireFrame{true, codec.OpText, "a"},
		wireFrame{true, codec.OpBinary, payload(300)},
		wireFrame{true, codec.OpText, "shared"},
		wireFrame{true, codec.OpText, "b"},
		wireFrame{true, codec.OpPong, payload(120)})
}

// A message assembled from a frame split across reads, or from fragments, is echoed framed in
// place too: its buffer keeps room for the header, and the echo is one piece.
func TestAssembledEchoFramedInPlace(t *testing.T) {
	for _, n := range []int{200, 20 << 10, 70 << 10} {
		w := &pieceWire{}
		c := &Conn{}
		c.Init(&Config{Role: codec.ServerRole}, &echoEvents{c: c})
		c.OnOpen(w, t0)
		c.OnTraffic([]byte(upgrade))
		split := frame(true, codec.OpBinary, payload(n))
		fragments := append(frame(false, codec.OpBinary, payload(n)[:n/3]), frame(true, codec.OpContinuation, payload(n)[n/3:])...)
		for _, in := range [][]byte{split, fragments} {
			w.pieces = w.pieces[:0]
			c.OnTraffic(in[:len(in)/2])
			c.OnTraffic(in[len(in)/2:])
			want := codec.AppendFrame(nil, true, codec.OpBinary, []byte(payload(n)), codec.ServerRole, [4]byte{})
			if len(w.pieces) != 1 || !bytes.Equal(w.pieces[0], want) {
				t.Fatalf("%d-byte message read in two parts: echoed in %d pieces, want its frame in one", n, len(w.pieces))
			}
		}
	}
}

// A handler that panics after its echo was framed in place: the turn the panic cut short still
// writes the echo whole, from the input still valid, and then the close 1011.
func TestLentEchoBeforeAPanic(t *testing.T) {
	c := openServer(t, Config{})
	c.ev.message = func(op codec.Opcode, p []byte) {
		echo(t, c.Conn, op, p)
		panic("after the echo")
	}
	c.m.Feed(frame(true, codec.OpBinary, payload(500)))
	c.expectFrames(t, wireFrame{true, codec.OpBinary, payload(500)}, closeFrame(codec.CloseInternalError, "internal error"))
}
