package engine

import (
	"testing"
	"unsafe"

	"github.com/wsloop/wsloop/codec"
)

// TestConnSize guards what an idle open connection carries: the transport, events, config, lock
// and flags, the output queue's pointer, the lending (a pointer and a length) and cancel slots,
// the frame reader, three deadlines (handshake, close, overflow; "look again at the next tick" is a
// flag) and the one armed, a pointer to the rare state and one to the keepalive state (nil while
// keepalive is off). What only a handshake, a close or a lent message needs is in rareState,
// taken from a pool when needed (see rare.go).
func TestConnSize(t *testing.T) {
	const limit = 200
	if got := unsafe.Sizeof(Conn{}); got > limit {
		t.Fatalf("unsafe.Sizeof(Conn{}) = %d bytes, more than %d: move what an idle connection does without into rareState", got, limit)
	}
}

// An open connection at rest holds no rare state: the handshake's and a fragmented message's are
// given back at the end of their turns, and a closed connection's when it closes.
func TestRareStateGivenBackAtRest(t *testing.T) {
	if c := openClient(t, Config{}); c.rare != nil {
		t.Fatal("client: an open connection keeps its rare state after the handshake")
	}
	c := openServer(t, Config{})
	if c.rare != nil {
		t.Fatal("server: an open connection keeps its rare state after the handshake")
	}
	c.m.Feed(frame(false, codec.OpText, "hel"))
	c.m.Feed(frame(true, codec.OpContinuation, "lo"))
	c.ev.expect(t, `text "hello"`)
	if c.rare != nil {
		t.Fatal("an open connection keeps its rare state after a fragmented message")
	}
	c.m.Feed(frame(true, codec.OpClose, ""))
	c.ev.expect(t, `closed true 1005 ""`)
	if c.rare != nil {
		t.Fatal("a closed connection keeps its rare state")
	}
}
