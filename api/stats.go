package api

// Stats is a snapshot of a server's counters, for the user to log or export (expvar, Prometheus
// and the like). Counts run from the server's creation.
type Stats struct {
	// Open is the number of connections open now: handshake done, close not yet reported.
	Open int
	// BufferedBytes is the sum of BufferedAmount over the open connections.
	BufferedBytes int64
	// SendsRefused counts data sends refused with ErrQueueFull.
	SendsRefused uint64
	// SlowClosed counts connections closed by the slow-connection policy: a send past
	// MaxQueuedBytes under CloseSlowConnections, or an output over the cap (pongs and close
	// frames the peer does not read) that did not drain within the close timeout.
	SlowClosed uint64
	// PingsSent counts the pings sent, keepalive's (PingInterval) and SendPing's.
	PingsSent uint64
	// KeepaliveClosed counts connections closed by keepalive: no pong within PongTimeout, or
	// nothing received within IdleTimeout.
	KeepaliveClosed uint64
	// Closes counts the connections that were open and closed, by the code of their close
	// event (1006 for an abnormal end); CloseCodesOther counts those with codes past 1015 (the
	// application's 3000-4999).
	Closes          map[int]uint64
	CloseCodesOther uint64
	// BrokerPublished counts the publications of the server that ServerOptions.Broker accepted
	// for the other nodes, BrokerPublishErrors those it refused; BrokerReceived counts the
	// messages it delivered from the other nodes, BrokerGaps the gaps it reported. All are 0
	// without a broker.
	BrokerPublished, BrokerPublishErrors uint64
	BrokerReceived, BrokerGaps           uint64
}

// Stats returns the server's counters now. It walks the open connections to sum what they
// have queued, so it costs a lock per connection: read it every few seconds, not per message.
func (s *Server) Stats() Stats {
	n := &s.counters
	st := Stats{
		SendsRefused:    n.Refused.Load(),
		SlowClosed:      n.SlowClosed.Load(),
		PingsSent:       n.PingsSent.Load(),
		KeepaliveClosed: n.KeepaliveClosed.Load(),
	}
	st.Closes, st.CloseCodesOther = n.Closes()
	s.link.stats(&st)
	for c := range s.Connections() {
		st.Open++
		st.BufferedBytes += int64(c.BufferedAmount())
	}
	return st
}

// BufferedAmount returns the bytes queued for sending on the connection and not yet taken by the
// kernel, as the browser's WebSocket.bufferedAmount does. It is what counts against
// MaxQueuedBytes, without the bookkeeping overhead the cap also counts. A server connection's
// 101 response counts too, until the loop's turn that opened the connection has written it (in
// the connection handler, it has not yet), unless ServerOptions.DeferAccept answered the request
// where it was accepted: then it is 0 there, as a browser's is at open.
func (c *Conn) BufferedAmount() int { return c.ec.Buffered() }
