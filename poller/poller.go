package poller

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Poller is a set of event loops, one per core, each the single loop of a gnet client engine of
// its own, so that enroll can put a connection on the loop of its choice. Every plain TCP
// connection of the process, accepted or dialed, is enrolled into one of them.
type Poller struct {
	gnet.BuiltinEventEngine // the event handler of every loop (see gnet.go)

	mu    sync.Mutex
	loops map[gnet.EventLoop]*Loop
	list  []*Loop

	live atomic.Int64 // connections enrolled and not yet closed
}

var (
	defaultOnce   sync.Once
	defaultPoller *Poller
	defaultErr    error
)

// Default returns the process's poller, starting it on first use. It runs until the process ends.
func Default() (*Poller, error) {
	defaultOnce.Do(func() {
		defaultPoller, defaultErr = start(runtime.GOMAXPROCS(0))
	})
	return defaultPoller, defaultErr
}

// start starts a poller with n loops.
func start(n int) (*Poller, error) {
	p := &Poller{loops: make(map[gnet.EventLoop]*Loop)}
	for range n {
		if err := p.startLoop(); err != nil {
			p.stop()
			return nil, err
		}
	}
	go p.tick()
	return p, nil
}

// stop stops every loop, closing its connections. Only a poller that failed to start, and tests,
// stop; the process's poller runs until the process ends.
func (p *Poller) stop() {
	for _, l := range p.all() {
		if l.client != nil {
			_ = l.client.Stop()
		}
	}
}

// Abandon ends a session whose connection never reached Open (a dial that failed or was given
// up): OnClose runs with err on the caller's goroutine, without OnOpen.
func Abandon(s Session, err error) { s.OnClose(err) }

// Live returns the number of connections open (on a loop or a stream) and not yet closed.
func (p *Poller) Live() int64 { return p.live.Load() }

// enrolling returns the number of connections handed to a loop that it has not opened or
// refused yet.
func (p *Poller) enrolling() int64 {
	var n int64
	for _, l := range p.all() {
		n += l.enrolling.Load()
	}
	return n
}

// all returns the loops. The list is complete once start has returned (see discover).
func (p *Poller) all() []*Loop {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.list
}

func (p *Poller) loopOf(el gnet.EventLoop) *Loop {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.loops[el]
	if l == nil {
		l = newLoop(el)
		p.loops[el] = l
		p.list = append(p.list, l)
	}
	return l
}

// tick queues a sweep on every loop once per Tick: it fires the loop's deadlines and is its
// heartbeat (see Loop.stalled). gnet's own OnTick runs on a goroutine of its own, so the sweep is
// sent to each loop as a task instead.
func (p *Poller) tick() {
	t := time.NewTicker(Tick)
	defer t.Stop()
	for range t.C {
		for _, l := range p.all() {
			l.sweepSoon()
		}
	}
}

// quietLogger drops gnet's log lines: its default logger prints at INFO level whatever level is
// asked for, and a library must not write to the user's stderr.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(string, ...any) {}
func (quietLogger) Printf(string, ...any) {} // for the enrollment pool (ants)
