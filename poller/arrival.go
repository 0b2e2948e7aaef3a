package poller

import (
	"context"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// arrival is an accepted socket on its way to a loop: its descriptor and its transport, whose
// session is made.
type arrival struct {
	fd int
	c  *fdConn
}

// arrivals is a loop's queue of accepted sockets to open (see Loop.arrive): filled by an accept
// loop, drained on the loop by one task per batch, so a burst of connections costs the loop one
// wake, not one per connection, and the accept loop never waits for the loop.
type arrivals struct {
	mu     sync.Mutex
	queued []arrival // a task is due on the loop while it is not empty
	spare  []arrival // the loop's only (runArrivals): the room of the last batch, for the next
	task   gnet.Runnable
}

// arrive queues a for l and reports whether l must be sent its task (flush), which is not done
// here so that an accept loop sends one task per loop for all it accepted in a row.
func (l *Loop) arrive(a arrival) (schedule bool) {
	l.in.mu.Lock()
	schedule = len(l.in.queued) == 0
	l.in.queued = append(l.in.queued, a)
	l.in.mu.Unlock()
	return schedule
}

// arrivalsKept is the most arrivals a loop's spare queue keeps room for between bursts: a burst
// of 10,000 connections leaves no 160 KB queue behind.
const arrivalsKept = 256

// flushArrivals sends l the task that opens what arrived. If the loop is shutting down, the
// arrivals are ended here: their descriptors closed, their sessions' OnClose run with err.
func (l *Loop) flushArrivals() {
	err := l.el.Execute(context.Background(), l.in.task)
	if err == nil {
		return
	}
	l.in.mu.Lock()
	batch := l.in.queued
	l.in.queued = nil
	l.in.mu.Unlock()
	for _, a := range batch {
		closeFD(a.fd)
		a.c.session.OnClose(err)
		l.enrolling.Add(-1)
	}
}

// runArrivals opens each queued socket on the loop, in the order accepted. A socket the loop
// cannot watch ends its session with the error, without OnOpen.
func (l *Loop) runArrivals(context.Context) error {
	l.in.mu.Lock()
	batch := l.in.queued
	l.in.queued = l.in.spare[:0]
	l.in.mu.Unlock()
	l.in.spare = nil
	for i, a := range batch {
		batch[i] = arrival{}
		if err := l.openFD(a.fd, &a.c.gnetConn, a.c.local, &a.c.remote); err != nil {
			a.c.session.OnClose(err)
		}
		l.enrolling.Add(-1)
	}
	if cap(batch) <= arrivalsKept {
		l.in.spare = batch[:0]
	}
	return nil
}
