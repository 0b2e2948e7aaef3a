package engine

// deadlines are the moments a connection waits for; the transport is given the earliest.
type deadlines struct {
	handshake int64 // the opening handshake (TLS included) must be done by then
	close     int64 // the closing handshake and the output's drain must be done by then
	overflow  int64 // the output, over its cap, must be back under it by then
	armed     int64 // the deadline the transport was given
}

func (d *deadlines) earliest() int64 {
	m := int64(0)
	for _, t := range [...]int64{d.handshake, d.close, d.overflow} {
		if t != 0 && (m == 0 || t < m) {
			m = t
		}
	}
	return m
}

// armTimer gives the transport the earliest deadline, keepalive's included. Loop only.
func (c *Conn) armTimer() {
	at := c.deadline.earliest()
	if c.cfg.keepaliveOn() {
		if c.opened && c.kaState() == nil {
			c.startKeepalive(c.t.Now())
		}
		if k := c.kaState(); k != nil && k.due != 0 && (at == 0 || k.due < at) {
			at = k.due
		}
	}
	if c.recheck { // the next tick
		if soon := c.t.Now() + 1; at == 0 || soon < at {
			at = soon
		}
	}
	if at != c.deadline.armed && !c.t.Closed() {
		c.deadline.armed = at
		c.t.SetDeadline(at)
	}
}

// OnTimer implements poller.Session.
func (c *Conn) OnTimer(now int64) {
	defer c.recoverHandler()
	c.deadline.armed = 0
	d := &c.deadline
	switch {
	case d.handshake != 0 && now >= d.handshake:
		d.handshake = 0
		c.abort(ErrHandshakeTime)
		return
	case d.close != 0 && now >= d.close:
		d.close = 0
		var err error // the peer had its time; what is still queued is dropped
		if !c.closingState().received {
			err = ErrCloseTime
		}
		c.abort(err)
		return
	case d.overflow != 0 && now >= d.overflow:
		d.overflow = 0
		c.cfg.Counters.slowClosed()
		c.abort(ErrDrainTime)
		return
	}
	c.recheck = false
	c.beginTurn()
	if k := c.kaState(); k != nil && k.due != 0 && now >= k.due {
		c.keepaliveDue(now)
	}
	c.endTurn()
}
