package api

import "sync/atomic"

// MessageType says whether a message is text or binary.
type MessageType int

// The message types of OnMessage.
const (
	TextMessage   MessageType = 1
	BinaryMessage MessageType = 2
)

// handlers is one set of event handlers. A connection uses its server's set until it sets a
// handler of its own, which gives it a copy; a set is never modified once published.
type handlers struct {
	text    func(c *Conn, text string)
	binary  func(c *Conn, in *InStream)
	message func(c *Conn, typ MessageType, payload []byte)
	connect func(c *Conn)
	pong    func(c *Conn, data []byte)
	drain   func(c *Conn)
	close   func(c *Conn, code int, reason string)
	err     func(c *Conn, err error)
}

// setHandler publishes a copy of the set in p (or of base when p holds none) changed by edit. It is
// safe from any goroutine.
func setHandler(p *atomic.Pointer[handlers], base func() *handlers, edit func(*handlers)) {
	for {
		old := p.Load()
		var n handlers
		if old != nil {
			n = *old
		} else if b := base(); b != nil {
			n = *b
		}
		edit(&n)
		if p.CompareAndSwap(old, &n) {
			return
		}
	}
}
