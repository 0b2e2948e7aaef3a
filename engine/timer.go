package engine

import "time"

// deadlines are the moments a connection waits for; the poller is given the earliest.
type deadlines struct {
	handshake int64 // the opening handshake must be done by then
	close     int64 // the closing handshake and the output drain must be done by then
	drain     int64 // look at the output again (callbacks or a close wait on it)
}

func (d *deadlines) earliest() int64 {
	m := int64(0)
	for _, t := range [...]int64{d.handshake, d.close, d.drain} {
		if t != 0 && (m == 0 || t < m) {
			m = t
		}
	}
	return m
}

// armTimer gives the poller the earliest deadline. Loop only.
func (c *Conn) armTimer() {
	if c.SocketClosed() {
		return
	}
	if at := c.deadline.earliest(); at != c.Deadline() {
		c.SetDeadline(at)
	}
}

// OnTimer implements poller.Session.
func (c *Conn) OnTimer(now int64) {
	defer c.recoverHandler()
	switch {
	case c.deadline.handshake != 0 && now >= c.deadline.handshake:
		c.deadline.handshake = 0
		c.abort(ErrHandshakeTime)
		return
	case c.deadline.close != 0 && now >= c.deadline.close:
		c.deadline.close = 0
		c.CloseSocket() // the peer had its time; what is still queued is dropped
		return
	}
	c.deadline.drain = 0
	c.beginTurn()
	c.endTurn()
}

func nowNano() int64 { return time.Now().UnixNano() }
