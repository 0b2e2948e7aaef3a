// Package poller runs the I/O loops and the transports under the engine: one single-loop gnet v2
// client engine per core (epoll or kqueue), which carries every plain TCP connection, accepted or
// dialed; a stream transport for TLS; an in-memory transport for tests; and the accept loop. It is
// the only package that imports gnet, and no gnet type appears in its exported API.
//
// gnet's own listener is not used: an accept error such as EMFILE stops its whole engine, and it
// cannot stop accepting while keeping its connections. Our Listener accepts, backs off on
// temporary errors, refuses past a connection cap, and hands each plain TCP socket to the least-loaded loop
// that is not stalled, without waiting for it. On a *net.TCPListener it accepts with accept4 on
// the listening descriptor and opens the descriptor on the loop itself, without a net.Conn and
// without gnet's Enroll (rawaccept.go, arrival.go, gnetfd.go). Such a socket's transport can be
// made inside the object of its session (ServeOptions.NewSlot, slot.go), so that a readable event
// reads one run of cache lines rather than two objects.
//
// The transport of a connection is chosen in one place, Poller.Open, for every connection alike
// (accepted by a Listener, dialed, or taken over from net/http): a *net.TCPConn goes to a gnet
// loop, anything else (a *tls.Conn, any other net.Conn) runs as a stream. The Listener wraps an
// accepted socket in crypto/tls first when it serves TLS (ServeOptions.TLS).
//
// What the engine above sees is small: a Session (the per-connection object it implements, whose
// methods run on the connection's loop) and a Transport (write, buffered count, pause and resume
// reading, wake, deadline, close). Writes from other goroutines never use gnet's AsyncWrite: a
// session queues its own output and calls Transport.Wake, and each loop runs one task that wakes
// every session that asked.
//
// Deadlines (Transport.SetDeadline) go on hashed timer wheels, never on a runtime timer per
// connection, and arming one allocates nothing: each loop has a wheel for its connections, swept
// on the loop every Tick; the streams, which have no loop, share one process-wide wheel
// (streamTimers), swept every Tick by a single runtime timer while it holds entries.
package poller
