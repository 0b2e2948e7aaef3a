package engine

import (
	"testing"

	"github.com/wsloop/wsloop/codec"
)

// sharedFrames prepares one text frame per payload, and their joined piece.
func sharedFrames(t *testing.T, payloads ...string) ([]*Shared, *Shared) {
	var ss []*Shared
	for _, p := range payloads {
		ss = append(ss, NewShared(codec.OpText, []byte(p)))
	}
	joined := JoinShared(ss)
	t.Cleanup(func() {
		for _, s := range ss {
			s.Release()
		}
		joined.Release()
	})
	return ss, joined
}

// A batch of prepared frames that fits goes as the joined piece: one segment, one write, the
// frames in order.
func TestQueueSharedOnLoopJoined(t *testing.T) {
	c := openServer(t, Config{})
	ss, joined := sharedFrames(t, "a", "bb", "ccc")
	if !c.QueueSharedOnLoop(joined, ss...) {
		t.Fatal("the first queueing did not begin the turn")
	}
	if n := len(c.q.segs); n != 1 {
		t.Fatalf("%d segments queued, want the joined one", n)
	}
	writes := c.m.Writes()
	c.FlushOnLoop()
	if w := c.m.Writes() - writes; w != 1 {
		t.Fatalf("%d writes, want 1", w)
	}
	c.expectFrames(t, wireFrame{true, codec.OpText, "a"}, wireFrame{true, codec.OpText, "bb"}, wireFrame{true, codec.OpText, "ccc"})
}

// A batch that does not fit the queue whole goes frame by frame, each under the policy: what fits
// is sent, the rest refused, in order, and Drained follows.
func TestQueueSharedOnLoopPartlyRefused(t *testing.T) {
	c := openServer(t, Config{MaxQueue: 300})
	c.m.SetKernelRoom(0)
	big := string(make([]byte, 120))
	ss, joined := sharedFrames(t, big, big, big) // 3 × 122 bytes: two fit under 300
	c.QueueSharedOnLoop(joined, ss...)
	if n := len(c.q.segs); n != 2 {
		t.Fatalf("%d segments queued, want the two frames that fit", n)
	}
	c.FlushOnLoop()
	c.m.SetKernelRoom(-1)
	c.tick()
	c.expectFrames(t, wireFrame{true, codec.OpText, big}, wireFrame{true, codec.OpText, big})
	c.ev.expect(t, "drained")
}
