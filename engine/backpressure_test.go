package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// The cap is exact: a message that fits what is left is taken, one byte more is refused.
func TestQueueCapIsExact(t *testing.T) {
	for _, extra := range []int{0, 1} {
		c := openServer(t, Config{MaxQueue: 4096})
		c.m.SetKernelRoom(0)
		if err := c.WriteBinary(make([]byte, 1000), nil); err != nil {
			t.Fatal(err)
		}
		c.m.RunWakes() // handed to the transport, which holds it
		room := c.Room()
		if want := 4096 - 1004; room != want {
			t.Fatalf("room %d after a 1,004-byte frame, want %d", room, want)
		}
		err := c.WriteBinary(make([]byte, room-codec.MaxHeaderLen+extra), nil)
		switch {
		case extra == 0 && err != nil:
			t.Fatalf("a message that fits exactly was refused: %v", err)
		case extra == 1 && !errors.Is(err, ErrQueueFull):
			t.Fatalf("a message one byte over the cap: %v, want ErrQueueFull", err)
		}
	}
}

// Refused sends report to their callback; once the queue drains, Drained fires once.
func TestQueueRefusalThenDrained(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 2048})
	c.m.SetKernelRoom(0)
	_ = c.WriteBinary(make([]byte, 2030), nil) // 2,034 bytes with its header: 14 left
	c.m.RunWakes()
	var got error
	if err := c.WriteText("more", func(err error) { got = err }); !errors.Is(err, ErrQueueFull) || !errors.Is(got, ErrQueueFull) {
		t.Fatalf("send past the cap: %v, callback %v", err, got)
	}
	c.tick()
	c.ev.expect(t) // nothing drained yet
	c.m.SetKernelRoom(1 << 20)
	c.tick()
	c.ev.expect(t, "drained")
	c.tick()
	c.ev.expect(t)
}

// Under CloseSlow a send past the cap ends the connection: error, then close.
func TestQueueCloseSlow(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 2048, CloseSlow: true})
	c.m.SetKernelRoom(0)
	_ = c.WriteBinary(make([]byte, 2000), nil)
	c.m.RunWakes()
	if err := c.WriteBinary(make([]byte, 100), nil); !errors.Is(err, ErrQueueFull) {
		t.Fatal(err)
	}
	c.m.RunWakes()
	if !c.m.Closed() {
		t.Fatal("a slow connection under CloseSlow is still open")
	}
	c.ev.expect(t, "error "+ErrQueueFull.Error(), `closed true 1006 ""`)
}

// Callbacks run once their bytes are in the kernel, in order, and not before.
func TestQueueCallbacksAtTheirOffsets(t *testing.T) {
	c := openServer(t, Config{})
	c.m.SetKernelRoom(10) // takes the first frame (7 bytes), not the second
	var order []string
	_ = c.WriteText("first", func(err error) { order = append(order, "first") })
	_ = c.WriteText("second", func(err error) { order = append(order, "second") })
	c.m.RunWakes()
	if strings.Join(order, ",") != "first" {
		t.Fatalf("callbacks %v with only the first frame in the kernel", order)
	}
	c.m.Read()
	c.tick()
	if strings.Join(order, ",") != "first,second" {
		t.Fatalf("callbacks %v once both frames are in the kernel", order)
	}
}

// A ping flood from a peer that reads nothing: pongs count against the cap, the input pauses,
// and the connection is closed once the peer has sent one read buffer more: memory stays within
// the cap plus one read buffer, and error comes before close.
func TestQueuePingFloodIsBounded(t *testing.T) {
	const limit = 64 << 10
	c := openServer(t, Config{MaxQueue: limit})
	c.m.SetKernelRoom(0)
	ping := frame(true, codec.OpPing, strings.Repeat("p", 125))
	for i := 0; i < 10000 && !c.m.Closed(); i++ {
		c.m.Feed(ping)
		if held := c.Room(); c.Paused() && held < 0 {
			t.Fatal("negative room")
		}
		if q := c.heldBytes(); q > limit+poller.MaxHeldInput {
			t.Fatalf("after %d pings the output holds %d bytes, over the cap plus one read buffer", i, q)
		}
		if c.m.Held() > poller.MaxHeldInput+len(ping) {
			t.Fatalf("after %d pings the transport holds %d bytes of input", i, c.m.Held())
		}
	}
	if !c.m.Closed() {
		t.Fatal("a peer that floods pings and reads nothing is still connected after 1.3 MB")
	}
	if n := len(c.ev.events); n != 2 || !strings.HasPrefix(c.ev.events[0], "error ") || c.ev.events[1] != `closed true 1006 ""` {
		t.Fatalf("events %q, want an error then close", c.ev.events)
	}
}

// Over the cap by control frames, the input pauses; once the peer reads, it resumes and what it
// sent meanwhile is handled in order.
func TestQueueThrottleThenResume(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 4096})
	c.m.SetKernelRoom(0)
	for i := 0; !c.m.Paused(); i++ {
		if i == 100 {
			t.Fatal("not paused after 100 pings past a 4 KiB cap")
		}
		c.m.Feed(frame(true, codec.OpPing, strings.Repeat("p", 100)))
	}
	c.m.Feed(frame(true, codec.OpText, "after the pings"))
	c.ev.expect(t) // held while paused
	c.m.SetKernelRoom(1 << 20)
	c.m.Read()
	c.tick()
	if c.m.Paused() {
		t.Fatal("still paused with the output drained")
	}
	c.m.RunWakes() // the transport offers what it kept
	c.ev.expect(t, `text "after the pings"`)
}

// Paused by its output, a connection whose peer reads nothing is closed at the close timeout
// even if the peer sends nothing more.
func TestQueueDrainDeadline(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 4096, CloseTimeout: time.Second})
	c.m.SetKernelRoom(0)
	for !c.m.Paused() {
		c.m.Feed(frame(true, codec.OpPing, strings.Repeat("p", 100)))
	}
	c.expectClosedAt(t, time.Second, "the drain deadline")
	c.ev.expect(t, "error "+ErrDrainTime.Error(), `closed true 1006 ""`)
}

// Tiny messages to a peer that reads nothing: while the transport holds a backlog, output is
// gathered into large writes, so what the transport holds is a few buffers, not one per message.
func TestQueueTinyMessagesGathered(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 1 << 20})
	c.m.SetKernelRoom(0)
	c.ev.message = func(op codec.Opcode, p []byte) { _ = c.WriteTextBytes(p, nil) }
	msg := frame(true, codec.OpText, "x")
	for range 20000 {
		c.m.Feed(msg) // one message per read, as from a peer that writes each one
	}
	c.ev.events = nil
	if w := c.m.Writes(); w > 20000*3/flushChunk+2 {
		t.Fatalf("%d writes handed to the transport for 20,000 3-byte echoes", w)
	}
	if held := c.heldBytes(); held > 2*20000*3+nodeOverhead*8 {
		t.Fatalf("output holds %d bytes for 60,000 bytes of echoes", held)
	}
}

// A peer that sends while the user paused the input is throttled; resuming delivers everything.
func TestQueueUserPause(t *testing.T) {
	c := openServer(t, Config{})
	c.PauseInput()
	c.m.RunWakes()
	c.m.Feed(frame(true, codec.OpText, "one"))
	c.m.Feed(frame(true, codec.OpText, "two"))
	c.ev.expect(t)
	c.ResumeInput()
	c.m.RunWakes()
	c.m.RunWakes()
	c.ev.expect(t, `text "one"`, `text "two"`)
}

// heldBytes returns the memory the connection's output holds.
func (c *conn) heldBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heldLocked()
}

// Paused reports whether the input is paused.
func (c *conn) Paused() bool { return c.m.Paused() }

// A message larger than the whole cap is refused with nothing queued; Drained still follows, so a
// sender waiting for it does not wait forever.
func TestQueueRefusalOfOversizeThenDrained(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 1024})
	if err := c.WriteBinary(make([]byte, 2048), nil); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a message over the whole cap: %v", err)
	}
	c.m.RunWakes()
	c.ev.expect(t, "drained")
}

// A prepared frame goes to many connections without a copy: each peer reads the same frame, it
// counts against each connection's cap, and its buffer goes back to the pool once every
// connection wrote it and its creator released it. Clients cannot send it (it is unmasked), and
// it follows the streaming rules of its type.
func TestQueueSharedFrame(t *testing.T) {
	before := bufpool.Out()
	s := NewShared(codec.OpText, []byte("to everyone"))
	a, b := openServer(t, Config{}), openServer(t, Config{MaxQueue: 16})
	b.m.SetKernelRoom(0)
	if err := a.WriteShared(s, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteShared(s, nil); err != nil {
		t.Fatal(err)
	}
	b.m.RunWakes()
	if err := b.WriteShared(s, nil); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a second 13-byte frame past a 16-byte cap: %v", err)
	}
	a.m.RunWakes()
	a.expectFrames(t, wireFrame{true, codec.OpText, "to everyone"})
	s.Release()
	if n := bufpool.Out() - before; n != 0 {
		t.Fatalf("%d buffers lent after every connection wrote the frame and it was released", n)
	}
	b.m.SetKernelRoom(-1)
	b.expectFrames(t, wireFrame{true, codec.OpText, "to everyone"})

	if err := a.BeginStream(); err != nil {
		t.Fatal(err)
	}
	t2 := NewShared(codec.OpText, []byte("x"))
	defer t2.Release()
	if err := a.WriteShared(t2, nil); !errors.Is(err, ErrTextStreaming) {
		t.Fatalf("a shared text frame during a binary stream: %v", err)
	}
	if err := openClient(t, Config{}).WriteShared(t2, nil); !errors.Is(err, ErrSharedClient) {
		t.Fatalf("a shared frame from a client: %v", err)
	}
}

// Under CloseSlow, a send refused from inside a handler (inside the turn) ends the connection when
// the turn ends, as one refused from another goroutine does at its wake: error, then close 1006.
func TestCloseSlowFromInsideATurn(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 64 << 10, CloseSlow: true})
	c.m.SetKernelRoom(0)
	big := make([]byte, 40<<10)
	var refused error
	c.ev.message = func(codec.Opcode, []byte) {
		_ = c.WriteBinary(big, nil)
		refused = c.WriteBinary(big, nil)
	}
	c.m.Feed(frame(true, codec.OpText, "go"))
	if !errors.Is(refused, ErrQueueFull) {
		t.Fatalf("the second send = %v, want ErrQueueFull", refused)
	}
	c.ev.expect(t, `text "go"`, "error "+ErrQueueFull.Error(), `closed true 1006 ""`)
}

// While a flush's write runs (outside the lock), what it took still counts against the cap: a
// send checked meanwhile from another goroutine finds it counted as the transport's backlog, so
// it cannot pass the cap by the size of the write under way.
func TestQueueTakenBytesCountDuringTheWrite(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 100 << 10})
	c.m.SetKernelRoom(0)
	msg := make([]byte, 60<<10)
	c.mu.Lock()
	c.inTurn = true // the loop is in a turn: the sends wait for its flush
	c.mu.Unlock()
	if err := c.WriteBinary(msg, nil); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	owned, segs := c.q.take() // the flush takes the output, and writes it without the lock
	c.mu.Unlock()
	if err := c.WriteBinary(msg, nil); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a second 60 KiB send during the write of the first = %v, want ErrQueueFull (cap 100 KiB)", err)
	}
	c.mu.Lock()
	c.q.written(owned, segs)
	c.mu.Unlock()
}
