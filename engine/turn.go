package engine

import (
	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// A turn is one visit of the loop to a connection (traffic, a wake, a timer): what the turn
// queues, from the loop or from other goroutines meanwhile, goes to the transport in one vectored
// write when it ends; then the callbacks whose bytes reached the kernel run, the input is paused
// or resumed by the output's size, and the close state machine looks at the drained output.

// beginTurn marks the start of a turn: sends made until endTurn are flushed together.
func (c *Conn) beginTurn() {
	c.mu.Lock()
	c.inTurn = true
	c.mu.Unlock()
}

// beginTurnOnce begins the turn unless it has begun: OnTraffic leaves the turn of an open
// connection to its first frame, and a whole message delivered in place begins it under the lock
// its delivery takes anyway (deliverInPlace); every other frame begins it here, before any handler
// it runs may send. Loop only (the loop alone writes inTurn, so it reads it without the lock).
func (c *Conn) beginTurnOnce() {
	if !c.inTurn {
		c.beginTurn()
	}
}

// endTurn flushes what the turn queued, settles what waits on the output and gives back the rare
// state if the turn left it empty. It takes the lock twice: once to look at what other goroutines
// did during the turn and take the output, once after the write to give the output back and see
// what waits on it. Loop only.
func (c *Conn) endTurn() {
	if c.t.Closed() {
		return
	}
	backlog := c.t.Buffered()
	c.mu.Lock()
	if c.panicked || c.opened && c.terminated {
		c.mu.Unlock()
		if c.endedInTurn() {
			return
		}
		backlog = c.t.Buffered()
		c.mu.Lock()
	}
	out := c.takeLocked(backlog)
	c.mu.Unlock()
	if out.q != nil {
		write(c.t, out.owned, out.segs)
	}
	c.releaseRetired()
	resumed := c.afterFlush(out)
	c.tidy()
	if resumed && !c.t.Closed() && c.pendingBytes() != nil {
		// Bytes kept while the input was paused: no new byte may ever come to have them read,
		// whichever turn resumed it (a wake, a timer that found the output drained).
		c.beginTurn()
		c.consume(nil)
		c.endTurn()
	}
}

// endedInTurn looks under the lock at what other goroutines did to an open connection during the
// turn: given up (a send refused under CloseSlow, Terminate), it is ended at once, and
// endedInTurn reports true; a handler run off the loop that panicked (HandlerPanicked) fails it
// as a handler's panic on the loop does (handlerPanicked). Loop only.
func (c *Conn) endedInTurn() bool {
	c.mu.Lock()
	givenUp, panicked, err := c.opened && c.terminated, c.panicked, c.cancelErr
	if panicked && !givenUp {
		c.panicked, c.cancelErr = false, nil
	}
	c.mu.Unlock()
	switch {
	case givenUp:
		c.abort(err)
		return true
	case panicked:
		c.fail(codec.CloseInternalError, "internal error", err)
	}
	return false
}

// taken is the output a turn handed to the transport, given back once written.
type taken struct {
	q     *outq // nil when nothing was handed over
	owned *bufpool.Buffer
	segs  []segment
}

// takeLocked ends the turn for the senders and takes the queued output for the transport, unless
// the transport still holds a backlog and less than flushChunk is queued: then it waits, so that
// a slow peer costs few transport buffers, and copies the borrowed pieces into the queue, their
// bytes being valid only during the turn. A close always goes at once. backlog is what the
// transport holds; c.mu is held.
func (c *Conn) takeLocked(backlog int) taken {
	c.inTurn = false
	c.lend = lending{} // a payload delivered in place is not lent past the turn (deliverInPlace)
	q := c.q
	if q == nil {
		return taken{}
	}
	q.look(backlog)
	n := q.queued()
	wait := backlog > 0 && n < flushChunk && !c.closeSent
	if wait {
		q.keepBorrowed()
	}
	if n == 0 || wait {
		return taken{}
	}
	if backlog > 0 {
		q.nodes++
	}
	owned, segs := q.take()
	return taken{q, owned, segs}
}

// afterFlush gives back the output the turn wrote (out), runs the callbacks whose bytes reached
// the kernel, fires Drained, pauses or resumes the input by the output's size, lets the close
// state machine act on a drained output, and keeps a timer armed while anything waits on the
// output. It reports whether it resumed the input. Loop only.
func (c *Conn) afterFlush(out taken) (resumed bool) {
	backlog := c.t.Buffered()
	var scratch *[]sendCallback // the callbacks whose bytes reached the kernel, if any wait
	c.mu.Lock()
	if out.q != nil {
		if c.q == out.q {
			out.q.written(out.owned, out.segs)
		} else { // the write failed and closed the connection: OnClose gave the queue back already
			giveBack(out.owned, out.segs)
		}
	}
	if c.t.Closed() {
		c.mu.Unlock()
		return false
	}
	drained, waiting := true, false
	over := false
	if q := c.q; q != nil {
		q.look(backlog)
		if len(q.callbacks) > 0 {
			scratch = callbackScratch.Get().(*[]sendCallback)
			q.reached(q.handed-uint64(backlog), scratch)
		}
		drained = q.queued() == 0 && backlog == 0
		waiting = !drained || len(q.callbacks) > 0
		over = int64(q.held()) > c.cfg.maxQueue()
		if q.idle() {
			c.q = nil
			queues.Put(q)
		}
	}
	drainedAfterRefusal := c.refused && drained
	if drainedAfterRefusal {
		c.refused = false
	}
	refused, closeSent := c.refused, c.closeSent
	c.mu.Unlock()
	if scratch != nil {
		for i, cb := range *scratch {
			cb.fn(nil)
			(*scratch)[i] = sendCallback{}
		}
		*scratch = (*scratch)[:0]
		callbackScratch.Put(scratch)
	}
	if drainedAfterRefusal {
		c.ev.Drained()
	}
	resumed = c.throttle(over)
	if closeSent && c.deadline.close == 0 {
		c.deadline.close = c.t.Now() + int64(c.cfg.closeTimeout())
	}
	if c.settle(drained) {
		return resumed
	}
	c.recheck = waiting || refused // callbacks, a refusal or a close wait on the output
	c.armTimer()
	return resumed
}

// look records what the transport holds. c.mu is held.
func (q *outq) look(backlog int) {
	q.backlog = backlog
	if backlog == 0 {
		q.nodes = 0
	}
}

// throttle pauses the input while the output is over its cap (control frames the peer makes us
// queue without reading them: a ping flood) or a PauseReason holds it, and resumes it once none
// does. A connection paused by its output must drain within the close timeout. It reports whether
// it resumed the input. Loop only.
func (c *Conn) throttle(over bool) (resumed bool) {
	want := over || c.pausedBy()
	switch {
	case want && !c.paused:
		c.paused = true
		c.t.PauseRead()
	case !want && c.paused:
		c.paused = false
		c.t.ResumeRead()
		resumed = true
	}
	switch {
	case !over:
		c.deadline.overflow = 0
	case c.deadline.overflow == 0:
		c.deadline.overflow = c.t.Now() + int64(c.cfg.closeTimeout())
	}
	return resumed
}

// PauseInput stops reading from the connection until ResumeInput: no message is delivered, and
// the peer is throttled by the kernel's window (see poller.Transport.PauseRead). Safe from any
// goroutine.
func (c *Conn) PauseInput() { c.PauseInputFor(PauseUser) }

// ResumeInput undoes PauseInput. Safe from any goroutine.
func (c *Conn) ResumeInput() { c.ResumeInputFor(PauseUser) }

// wakeLoop asks the loop for a turn, unless it is inside one.
func (c *Conn) wakeLoop() {
	c.mu.Lock()
	c.unlockAndWake()
}
