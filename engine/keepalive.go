package engine

import (
	"errors"
	"math/bits"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// Keepalive on the loop's timer wheel (Config.PingInterval, PongTimeout, IdleTimeout). No timer
// and no goroutine per connection: every read stamps the time the peer was last heard, and the
// connection's one wheel entry (keepalive.due, the earliest moment a keepalive rule can act) looks at the stamp when it fires, so traffic never re-files the entry. Anything received
// from the peer counts as a sign of life, a pong or any other byte (as uWebSockets and Node's ws
// count it), and only what the peer sends: our own sends reach the kernel even when the peer is
// gone. While the input is paused nothing is read, so the peer counts as heard.

// Errors that keepalive ends a connection with; the Error event reports them before Closed.
var (
	ErrPongTimeout = errors.New("websocket: no pong within the pong timeout")
	ErrIdleTimeout = errors.New("websocket: nothing received within the idle timeout")
)

// wheelLate is the most a deadline fires late on a loop that turns: it waits for the next sweep,
// queued every tick.
const wheelLate = poller.Tick

// keepalive is a connection's keepalive state, in its optional state (optional.go), taken when a
// connection opens with keepalive on, so that a connection without it pays one pointer. Loop only.
type keepalive struct {
	due    int64 // the earliest moment a keepalive rule can act; 0 once keepalive ended
	heard  int64 // when bytes from the peer last arrived (stamped while keepalive runs)
	pinged int64 // when our last ping was due, or wheelLate before it went out if later; 0 before the first
}

// keepaliveOn reports whether a keepalive rule is set.
func (c *Config) keepaliveOn() bool { return c.PingInterval > 0 || c.IdleTimeout > 0 }

// startKeepalive starts the keepalive of a connection that just opened, at now.
func (c *Conn) startKeepalive(now int64) {
	o := c.optional()
	o.ka, o.kaOn = keepalive{heard: now}, true
	o.ka.due = c.nextKeepalive()
}

// heard stamps traffic from the peer, while keepalive runs. The first traffic after a ping
// answers it: the deadline moves from the pong timeout to the next ping, so that a PongTimeout
// longer than PingInterval does not delay that ping. Other traffic leaves the timer alone. Loop
// only.
func (c *Conn) heard() {
	if !c.cfg.keepaliveOn() { // the shared config first: a connection without keepalive reads none of its own state
		return
	}
	k := c.kaState()
	if k == nil || k.due == 0 {
		return
	}
	answered := c.awaitingPong()
	k.heard = c.t.Now()
	if answered {
		k.due = c.nextKeepalive()
	}
}

// keepaliveDue applies the keepalive rules when their deadline passed, inside a turn: close a
// peer that did not answer a ping within PongTimeout (at once, as Node's ws terminates it: a
// dead peer cannot complete a close handshake), close one silent for IdleTimeout (with a close
// handshake, 1001, bounded by the close timeout), or ping one silent for PingInterval. Then it
// files the next deadline. Keepalive ends once the connection is closing: the close timeout
// bounds what is left.
func (c *Conn) keepaliveDue(now int64) {
	k, cfg := c.kaState(), c.cfg
	k.due = 0
	if !c.deliverable() {
		return
	}
	if c.inputStopped() {
		k.heard = now
	}
	due := c.nextPing()
	switch {
	case c.awaitingPong() && now >= k.pinged+int64(cfg.PongTimeout):
		cfg.Counters.keepaliveClosed()
		c.abort(ErrPongTimeout)
		return
	case cfg.IdleTimeout > 0 && now >= k.heard+int64(cfg.IdleTimeout):
		cfg.Counters.keepaliveClosed()
		c.endsBecause(ErrIdleTimeout)
		_ = c.WriteClose(codec.CloseGoingAway, "idle timeout")
		return
	case cfg.PingInterval > 0 && !c.awaitingPong() && now >= due:
		if c.WritePing(nil) != nil { // closed meanwhile by another goroutine
			return
		}
		k.pinged = max(due, now-int64(wheelLate)) // a loop that ran later leaves the peer its time
	}
	k.due = c.nextKeepalive()
}

// awaitingPong reports whether a ping waits for an answer under a PongTimeout: nothing was heard
// from the peer since it was due.
func (c *Conn) awaitingPong() bool {
	k := c.kaState()
	return c.cfg.PongTimeout > 0 && k.pinged > k.heard
}

// nextPing returns when a ping is due if nothing arrives: PingInterval after the peer was last
// heard or our last ping, whichever is later. The first ping of a connection comes after a part
// of the interval chosen by a hash of the time the peer was heard (jitter), somewhere in
// (0, PingInterval], so that connections opened together do not ping in one tick and a peer
// that vanishes at once is still detected within PingInterval + PongTimeout.
func (c *Conn) nextPing() int64 {
	k, interval := c.kaState(), int64(c.cfg.PingInterval)
	if k.pinged == 0 {
		return k.heard + interval - jitter(k.heard, interval)
	}
	return max(k.heard, k.pinged) + interval
}

// nextKeepalive returns the earliest moment a keepalive rule can act, 0 when none is on.
func (c *Conn) nextKeepalive() int64 {
	k, cfg := c.kaState(), c.cfg
	next := int64(0)
	switch {
	case c.awaitingPong():
		next = k.pinged + int64(cfg.PongTimeout)
	case cfg.PingInterval > 0:
		next = c.nextPing()
	}
	if idle := k.heard + int64(cfg.IdleTimeout); cfg.IdleTimeout > 0 && (next == 0 || idle < next) {
		next = idle
	}
	return next
}

// jitter returns a part of interval in [0, interval), spread evenly by a multiplicative hash of t.
func jitter(t, interval int64) int64 {
	hi, _ := bits.Mul64(uint64(t)*0x9E3779B97F4A7C15, uint64(interval))
	return int64(hi)
}
