package engine

import (
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// SetRequest prepares a client connection: req is the upgrade request to send once the connection
// is enrolled (its Key is filled here). It fails when req cannot be written (a bad header, say),
// before anything is dialed. Call it before enrolling.
func (c *Conn) SetRequest(req codec.ClientRequest) error {
	c.offerDeflate(&req)
	hs := clientHandshakes.Get().(*clientHandshake)
	hs.key = codec.NewKey(hs.key[:0])
	req.Key = hs.key
	hs.req = req
	hs.resp.MaxHeadSize = c.cfg.maxHead()
	var err error
	if hs.request, err = req.Append(hs.request[:0]); err != nil {
		hs.reset()
		clientHandshakes.Put(hs)
		return err
	}
	c.side().client = hs
	return nil
}

// Abandon ends a client connection that never reached a loop (its dial failed or was given up):
// the Error event (unless the user gave it up with WriteClose) and Closed run on the caller's
// goroutine.
func (c *Conn) Abandon(err error) {
	poller.Abandon(c, err)
}

// Enrollable reports whether a dialed client connection should still be enrolled: false once
// WriteClose gave it up.
func (c *Conn) Enrollable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closeSent
}

// sendRequest queues the upgrade request prepared by SetRequest, in the turn of OnOpen.
func (c *Conn) sendRequest() {
	c.mu.Lock()
	b := c.queue().buffer()
	b.B = append(b.B, c.rare.client.request...)
	c.mu.Unlock()
}

// readResponse parses the server's answer and opens the connection, or fails it with the error
// the spec names (then close 1006). Frames right behind the 101 are read by the caller.
func (c *Conn) readResponse(in []byte) int {
	if c.readStopped() {
		return len(in)
	}
	hs := c.rare.client
	n, err := hs.resp.Parse(in, &hs.req)
	if err != nil {
		c.abort(refused(err, &hs.resp))
		return len(in)
	}
	if n == 0 {
		return 0
	}
	if err := c.acceptDeflate(&hs.resp); err != nil {
		c.abort(err)
		return len(in)
	}
	c.ev.Upgraded(&hs.resp)
	c.setState(Open)
	c.releaseHandshake()
	c.opened = true
	c.deadline.handshake = 0
	c.ev.Opened()
	return n
}
