package poller

import (
	"context"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// Loop is one gnet event loop as the poller sees it: the sessions waiting for OnWake and the
// timer wheel of its connections.
type Loop struct {
	el   gnet.EventLoop
	epfd int // gnet's epoll descriptor of this loop, -1 if unknown (see epoll.go)

	mu        sync.Mutex
	woken     []*gnetConn // filled by any goroutine, drained on the loop
	spare     []*gnetConn
	scheduled bool
	wakeTask  gnet.Runnable
	sweepTask gnet.Runnable

	timers wheel // loop only
}

func newLoop(el gnet.EventLoop) *Loop {
	l := &Loop{el: el, epfd: epollFD(el)}
	l.wakeTask = gnet.RunnableFunc(l.runWakes)
	l.sweepTask = gnet.RunnableFunc(l.runSweep)
	return l
}

// enqueueWake records c and, unless a wake task is already queued, queues one. Many wakes from
// many goroutines cost one task per loop turn.
func (l *Loop) enqueueWake(c *gnetConn) {
	l.mu.Lock()
	l.woken = append(l.woken, c)
	schedule := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if schedule {
		if err := l.el.Execute(context.Background(), l.wakeTask); err != nil {
			// The engine is shutting down: its connections are being closed and will never be
			// woken; forget them so they are not retained.
			l.mu.Lock()
			clear(l.woken)
			l.woken = l.woken[:0]
			l.scheduled = false
			l.mu.Unlock()
		}
	}
}

func (l *Loop) runWakes(context.Context) error {
	l.mu.Lock()
	batch := l.woken
	l.woken = l.spare[:0]
	l.scheduled = false
	l.mu.Unlock()
	for i, c := range batch {
		batch[i] = nil
		c.woken.Store(false)
		if !c.closed {
			c.session.OnWake()
		}
	}
	l.spare = batch[:0]
	return nil
}

func (l *Loop) runSweep(context.Context) error {
	l.timers.sweep(nowNano())
	return nil
}
