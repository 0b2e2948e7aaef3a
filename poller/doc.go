// Package poller runs the I/O loops: one gnet v2 client engine that carries every plain TCP
// connection, accepted or dialed (one loop per core, epoll or kqueue), and the accept loop that
// feeds it. It is the only package that imports gnet.
//
// gnet's own listener is not used: an accept error such as EMFILE stops its whole engine, and it
// cannot stop accepting while keeping its connections. Our Listener accepts, backs off on
// temporary errors, refuses past a connection cap, and enrolls each socket into the engine.
//
// What the engine above sees is small: a Session (the per-connection object it implements, whose
// methods run on the connection's loop) and a Conn (the transport: write, buffered count, wake,
// close, addresses). Writes from other goroutines never use gnet's AsyncWrite: a session queues its
// own output and calls Conn.Wake, and each loop runs one task that wakes every session that asked.
package poller
