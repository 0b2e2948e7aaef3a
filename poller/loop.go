package poller

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Loop is one gnet event loop as the poller sees it: the sessions waiting for OnWake, the timer
// wheel of its connections, and what enroll needs to choose it: its load and its heartbeat.
type Loop struct {
	el     gnet.EventLoop
	client *gnet.Client   // the engine whose one loop el is
	epfd   int            // gnet's epoll descriptor of this loop, -1 if unknown (see epoll.go)
	elp    unsafe.Pointer // gnet's loop behind el, nil if it takes no descriptor (see gnetfd.go)
	in     arrivals       // accepted sockets to open (see arrival.go)

	mu        sync.Mutex
	woken     []*gnetConn // filled by any goroutine, drained on the loop
	spare     []*gnetConn
	scheduled bool
	wakeTask  gnet.Runnable
	sweepTask gnet.Runnable

	beat      atomic.Int64 // when the loop last ran its sweep (unix nanoseconds)
	sweeping  atomic.Bool  // a sweep is queued and has not run yet
	conns     atomic.Int64 // connections open on the loop
	enrolling atomic.Int64 // connections handed to the loop that it has not opened or refused yet

	timers wheel[*gnetConn] // loop only
}

func newLoop(el gnet.EventLoop) *Loop {
	l := &Loop{el: el, epfd: epollFD(el), elp: loopPointer(el)}
	l.in.task = gnet.RunnableFunc(l.runArrivals)
	l.wakeTask = gnet.RunnableFunc(l.runWakes)
	l.sweepTask = gnet.RunnableFunc(l.runSweep)
	l.beat.Store(nowNano())
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

// sweepSoon queues the loop's sweep unless one is queued already, so a stalled loop holds one
// sweep task, not one per Tick. It is safe from any goroutine.
func (l *Loop) sweepSoon() {
	if l.sweeping.CompareAndSwap(false, true) {
		if err := l.el.Execute(context.Background(), l.sweepTask); err != nil {
			l.sweeping.Store(false) // the engine is shutting down
		}
	}
}

// runSweep fires the deadlines that passed and records the heartbeat: the loop is turning.
func (l *Loop) runSweep(context.Context) error {
	now := nowNano()
	l.beat.Store(now)
	l.sweeping.Store(false)
	l.timers.sweep(now)
	return nil
}

// stalled reports whether the loop has not run its sweep for longer than stallAfter: something
// on it (a handler that blocks) keeps it from turning.
func (l *Loop) stalled(now int64) bool { return now-l.beat.Load() > int64(stallAfter) }

// load is how many connections the loop has or is about to have.
func (l *Loop) load() int64 { return l.conns.Load() + l.enrolling.Load() }

// startLoop starts a gnet client engine with one loop and p as its event handler, and adds the
// loop to p. gnet shows a loop only through a connection on it (Conn.EventLoop), so one end of a
// socketpair is enrolled as a probe: p.OnOpen files its loop (loopOf); the probe is then closed.
func (p *Poller) startLoop() error {
	cli, err := gnet.NewClient(p,
		gnet.WithNumEventLoop(1),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithWriteBufferCap(16<<10),
		gnet.WithLogger(quietLogger{}),
	)
	if err == nil {
		err = cli.Start()
	}
	if err != nil {
		return err
	}
	nc, peer, err := socketpair()
	if err != nil {
		_ = cli.Stop()
		return err
	}
	var closed sync.WaitGroup
	closed.Add(1)
	c := &gnetConn{session: probe{&closed}}
	_, err = cli.EnrollContext(nc, c) // closes nc; returns once OnOpen ran
	if err == nil && c.loop == nil {
		err = errNotWatched
	}
	unix.Close(peer) // the probe reads the end and closes
	if err != nil {
		_ = cli.Stop()
		return err
	}
	closed.Wait()
	c.loop.client = cli
	return nil
}

// socketpair returns one end of a new Unix stream socketpair as a net.Conn and the other as a
// descriptor.
func socketpair() (net.Conn, int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, err
	}
	f := os.NewFile(uintptr(fds[0]), "poller-probe")
	nc, err := net.FileConn(f) // a duplicate
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, 0, err
	}
	return nc, fds[1], nil
}

// probe is the session of startLoop's socketpair: it ignores what it reads and reports its close.
type probe struct{ closed *sync.WaitGroup }

func (probe) OnOpen(Transport, int64) {}
func (probe) OnTraffic(in []byte) int { return len(in) }
func (probe) OnWake()                 {}
func (probe) OnTimer(int64)           {}
func (pr probe) OnClose(error)        { pr.closed.Done() }
