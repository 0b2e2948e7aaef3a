package poller

// Session is the per-connection object of the layer above. Every method runs on the connection's
// loop goroutine, never two at once for one connection.
type Session interface {
	// Transport returns the Conn the session was enrolled with.
	Transport() *Conn
	// OnOpen runs once the connection is registered on its loop, before any other method.
	OnOpen()
	// OnTraffic hands over every byte received and not yet consumed. The slice is valid only during
	// the call; the session returns how many bytes it consumed. The rest is offered again, followed
	// by new bytes, when more arrive.
	OnTraffic(in []byte) (consumed int)
	// OnWake runs after the session called Conn.Wake, once per batch of calls.
	OnWake()
	// OnTimer runs when a deadline set with Conn.SetDeadline has passed.
	OnTimer(now int64)
	// OnClose runs once, when the connection is closed, with the error that closed it (nil when
	// the session closed it itself). No method runs after it.
	OnClose(err error)
}
