package engine

import (
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// The user's pause and a worker backlog's pause are independent: withdrawing one leaves the input
// paused while the other holds, and the frames that waited are read once neither does.
func TestWorkerBacklogAndUserPausesAreIndependent(t *testing.T) {
	for _, last := range []PauseReason{PauseUser, PauseBacklog} {
		c := openServer(t, Config{})
		c.PauseInputFor(PauseUser)
		c.PauseInputFor(PauseBacklog)
		c.m.RunWakes()
		c.m.Feed(frame(true, codec.OpText, "waited"))
		first := PauseUser ^ PauseBacklog ^ last
		c.ResumeInputFor(first)
		c.m.RunWakes()
		if !c.m.Paused() {
			t.Fatalf("resuming for %d undid the pause for %d", first, last)
		}
		c.ev.expect(t)
		c.ResumeInputFor(last)
		c.m.RunWakes()
		c.ev.expect(t, `text "waited"`)
	}
}

// Bytes the engine keeps behind a paused message (here received before the connection reached
// its loop, as with Preload or an answer on accept) are read once the input resumes, whichever turn
// resumes it: here the user's resume comes while the output is still over its cap (a pong the peer
// does not read), and the timer that finds the output drained resumes the input. The peer sends
// nothing more, so nothing else could have them read.
func TestKeptBytesReadWhenTheTimerResumes(t *testing.T) {
	c := &conn{Conn: &Conn{}, ev: &recorder{}}
	c.Init(&Config{Role: codec.ServerRole, MaxQueue: 64}, c.ev)
	c.ev.message = func(op codec.Opcode, p []byte) {
		if string(p) == "a" {
			c.PauseInput()
		}
	}
	in := []byte(upgrade)
	in = append(in, frame(true, codec.OpPing, strings.Repeat("p", 100))...) // its pong is over the cap
	in = append(in, frame(true, codec.OpText, "a")...)
	in = append(in, frame(true, codec.OpText, "b")...)
	c.Preload(in)
	c.m = poller.NewMemoryWithRoom(c.Conn, t0, 0)
	c.ev.expect(t, "open", `text "a"`)
	c.ResumeInput()
	c.m.RunWakes()
	c.ev.expect(t) // still paused: the output is over its cap
	c.m.SetKernelRoom(1 << 20)
	c.tick()
	c.m.RunWakes()
	c.ev.expect(t, `text "b"`)
}

// A pause withdrawn within the turn that made it, here by the callback of a send the handler made,
// still has the frames left behind read: the transport was paused when the reading stopped, and
// the turn's end resumes it.
func TestPauseWithdrawnInItsTurnReadsWhatWaits(t *testing.T) {
	c := openServer(t, Config{})
	c.ev.message = func(op codec.Opcode, p []byte) {
		if string(p) == "a" {
			c.PauseInput()
			if err := c.WriteText("sent", func(error) { c.ResumeInput() }); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.m.Feed(append(frame(true, codec.OpText, "a"), frame(true, codec.OpText, "b")...))
	c.ev.expect(t, `text "a"`)
	c.m.RunWakes()
	c.ev.expect(t, `text "b"`)
}
