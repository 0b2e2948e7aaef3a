package poller

import (
	"errors"
	"net"
)

// stallAfter is how old a loop's heartbeat may grow before enroll counts the loop as stalled: its
// sweep, queued every Tick, has been waiting for two.
const stallAfter = 2 * Tick

// errNotWatched ends a connection that its loop could not add to its epoll (or kqueue) set (gnet then closes the
// descriptor without OnOpen and still reports success).
var errNotWatched = errors.New("websocket: the event loop could not watch the connection")

// enroll hands nc, a *net.TCPConn, to a loop and returns at once (Open calls it for every
// *net.TCPConn); s.OnOpen then runs on that loop. The loop is the least loaded of those that are
// turning (see Loop.stalled), so a handler that blocks its loop delays only the connections
// already there; when every loop is stalled, it is the one that turned last. nc is closed by enroll (the loop owns a duplicate of its
// descriptor), on success and on failure alike. If enrolling fails, s.OnClose runs once with the
// error, without OnOpen, on another goroutine. It may be called from any goroutine, a loop's
// included.
func (p *Poller) enroll(nc net.Conn, s Session) {
	c := &gnetConn{session: s}
	l := p.pick(nowNano())
	l.enrolling.Add(1)
	go l.enroll(nc, c)
}

// enroll moves nc onto l for c, on a goroutine of its own: gnet's Client.EnrollContext returns
// once the loop has run OnOpen. (gnet's EventLoop.Enroll would not block, but it waits the same way
// on a goroutine of gnet's worker pool, which keeps every goroutine of a burst for 10 to 20 s.)
// On a failure it ends c's session.
func (l *Loop) enroll(nc net.Conn, c *gnetConn) {
	_, err := l.client.EnrollContext(nc, c) // closes nc
	// OnOpen, which sets c.loop, has run before EnrollContext returns, unless the loop could not
	// watch the descriptor: gnet then closes it without OnOpen and reports no error.
	if err == nil && c.loop == nil {
		err = errNotWatched
	}
	if err != nil {
		c.session.OnClose(err)
	}
	l.enrolling.Add(-1)
}

// pick returns the least loaded loop that is not stalled or, when all are, the one whose
// heartbeat is the most recent. It never waits for a loop.
func (p *Poller) pick(now int64) *Loop {
	var best, freshest *Loop
	for _, l := range p.all() {
		if freshest == nil || l.beat.Load() > freshest.beat.Load() {
			freshest = l
		}
		if !l.stalled(now) && (best == nil || l.load() < best.load()) {
			best = l
		}
	}
	if best == nil {
		return freshest
	}
	return best
}
