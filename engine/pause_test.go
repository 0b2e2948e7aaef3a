package engine

import (
	"testing"

	"github.com/wsloop/wsloop/codec"
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
