package engine

import "github.com/wsloop/wsloop/codec"

// A server's verdict on an upgrade request may come later than Events.Handshake returns (an
// asynchronous authentication, a handler run on a worker): Handshake calls Defer, and the
// connection is parked. A parked connection keeps only the request's key (the rest of the request
// is the layer above's to copy during Handshake), reads nothing more, and keeps its handshake
// deadline: if no verdict came by then, it ends as a handshake that timed out. The verdict comes
// through Deferred.Decide, from any goroutine, under the connection's lock; Decide wakes the loop,
// which answers the request as Handshake's own verdict would have been answered.

// Deferred is a server handshake whose verdict comes later; see Conn.Defer.
type Deferred struct {
	c   *Conn
	key [codec.KeyLen]byte // the request's Sec-WebSocket-Key, for the 101

	// Guarded by c.mu.
	verdict Verdict
	decided bool
}

// Defer defers the verdict on the upgrade request being decided. It may only be called from
// Events.Handshake, on the loop, and at most once: the Verdict that Handshake returns is then
// ignored, and the request is answered with the verdict given to Decide on the returned handle
// (at once if Decide was called before Handshake returned).
func (c *Conn) Defer() *Deferred {
	r := c.side()
	d := &Deferred{c: c}
	copy(d.key[:], r.req.Key)
	r.later = d
	return d
}

// Decide gives the deferred handshake its verdict, from any goroutine: the loop answers the
// request with it soon after (a 101 and Opened, or the refusal). It reports false, and does
// nothing, when a verdict was given already or the connection has ended (its handshake timed out,
// it was terminated).
func (d *Deferred) Decide(v Verdict) bool {
	c := d.c
	c.mu.Lock()
	if d.decided || c.state != Connecting || c.terminated {
		c.mu.Unlock()
		return false
	}
	d.decided, d.verdict = true, v
	// Wake even inside a turn: the turn may have parked the connection already, and its end looks
	// at the output, not at verdicts. A wake with no verdict to answer does nothing.
	wake, t := c.enrolled, c.t
	c.mu.Unlock()
	if wake {
		t.Wake()
	}
	return true
}

// deferredVerdict returns the verdict to answer a request with, given what Handshake returned, or
// later true when Handshake deferred it and it has not come yet: then the connection is parked,
// its input paused and the parsed request given back. Loop only.
func (c *Conn) deferredVerdict(v Verdict) (_ Verdict, later bool) {
	d := c.side().later
	if d == nil {
		return v, false
	}
	c.mu.Lock()
	decided, dv := d.decided, d.verdict
	c.mu.Unlock()
	if decided {
		c.rare.later = nil
		return dv, false
	}
	c.pauses.Or(uint32(pauseVerdict)) // applied by the turn's end (throttle)
	c.releaseHandshake()
	return v, true
}

// answerDeferred answers a parked request once its verdict came, and then reads what the peer
// sent behind the request. Loop only, inside a turn.
func (c *Conn) answerDeferred() {
	r := c.rare
	if r == nil || r.later == nil {
		return
	}
	d := r.later
	c.mu.Lock()
	decided, v := d.decided, d.verdict
	c.mu.Unlock()
	if !decided {
		return
	}
	r.later = nil
	c.pauses.And(^uint32(pauseVerdict)) // the turn's end resumes the transport, which offers its input
	if c.answer(d.key[:], v) && c.pendingBytes() != nil {
		c.consume(nil)
	}
}
