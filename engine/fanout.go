package engine

import (
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// Fan-out from a task on a connection's loop (poller.Loop.Execute): the task queues prepared
// frames on many connections with QueueSharedOnLoop, which begins a turn on each connection the
// first time, and then ends each turn it began with FlushOnLoop, so that every connection is
// written once per task whatever number of frames it got.

// Loop returns the loop the connection runs on, nil for one that has none (a stream such as TLS,
// whose sends are written by its own goroutines). It is set once the connection is open.
func (c *Conn) Loop() *poller.Loop {
	c.mu.Lock()
	t := c.t
	c.mu.Unlock()
	if t == nil {
		return nil
	}
	return poller.LoopOf(t)
}

// QueueSharedOnLoop queues the prepared frames ss, in order, each as WriteShared would (the same
// refusals and send-queue policy, no callback), without writing them: they wait for FlushOnLoop.
// joined, if not nil, holds the frames of ss in one piece (JoinShared): when it fits the send
// queue whole it is queued instead, one piece for all of them. It reports whether this call began
// the connection's turn, which the caller must then end with FlushOnLoop once; a connection that
// is not open begins nothing. Loop only, from a task, not from inside a Session method.
func (c *Conn) QueueSharedOnLoop(joined *Shared, ss ...*Shared) (begun bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sendable() != nil {
		return false
	}
	begun = !c.inTurn
	c.inTurn = true // sends from other goroutines meanwhile wait for FlushOnLoop too
	if joined != nil && c.appendJoinedLocked(joined) {
		return begun
	}
	for _, s := range ss {
		_ = c.appendSharedLocked(s) // a refusal is the policy's: the connection is told by Drained or closed
	}
	return begun
}

// appendJoinedLocked queues joined if it may go whole: no stream in progress, a server without
// permessage-deflate (whose frames may each need their compressed variant), and room for all of
// it. Otherwise it queues nothing, and the frames go one by one, each under the policy. c.mu is
// held.
func (c *Conn) appendJoinedLocked(joined *Shared) bool {
	if c.streaming || c.cfg.Role != codec.ServerRole || c.rd.pmd != 0 || !c.fitsLocked(len(joined.frame())) {
		return false
	}
	c.queue().appendShared(joined)
	return true
}

// FlushOnLoop ends the turn QueueSharedOnLoop began: what was queued goes out in one vectored
// write, and a connection that the send-queue policy gave up (CloseSlow) is closed, as at the end
// of every turn. Loop only.
func (c *Conn) FlushOnLoop() {
	defer c.recoverHandler()
	if c.t.Closed() {
		return
	}
	c.endTurn()
}

// Retain takes a reference to s for a holder that will give it back with Release: a fan-out not
// yet queued on every connection.
func (s *Shared) Retain() { s.retain() }

// Payload returns the payload of the frame, after its header.
func (s *Shared) Payload() []byte {
	f := s.frame()
	switch f[1] & 0x7f {
	case 126:
		return f[4:]
	case 127:
		return f[10:]
	default:
		return f[2:]
	}
}
