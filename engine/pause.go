package engine

// PauseReason is why a connection's input is paused. The reasons are independent: the input
// reads again only once none holds, so a resume for one reason never undoes a pause for another.
type PauseReason uint32

// The reasons to pause a connection's input.
const (
	// PauseUser is the user's own pause (PauseInput, an InStream's Pause).
	PauseUser PauseReason = 1 << iota
	// PauseBacklog is the layer above's: the events it handed to slower workers exceed its bound.
	PauseBacklog
	// pauseVerdict holds a server connection whose handshake verdict was deferred (deferred.go).
	pauseVerdict
)

// PauseInputFor stops reading from the connection for reason until ResumeInputFor(reason): no
// frame is read, and the peer is throttled by the kernel's window (see poller.Transport.PauseRead).
// Safe from any goroutine; from the loop, inside a handler, it takes effect before the next frame.
func (c *Conn) PauseInputFor(reason PauseReason) {
	c.pauses.Or(uint32(reason))
	c.wakeLoop()
}

// ResumeInputFor withdraws reason's pause; the connection reads again once no reason holds.
// Safe from any goroutine.
func (c *Conn) ResumeInputFor(reason PauseReason) {
	c.pauses.And(^uint32(reason))
	c.wakeLoop()
}

// pausedBy reports whether any reason holds the input paused.
func (c *Conn) pausedBy() bool { return c.pauses.Load() != 0 }
