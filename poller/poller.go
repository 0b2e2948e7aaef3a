package poller

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Poller is one gnet client engine with a loop per core. Every plain TCP connection of the
// process, accepted or dialed, is enrolled into it.
type Poller struct {
	gnet.BuiltinEventEngine
	client *gnet.Client

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

func start(loops int) (*Poller, error) {
	p := &Poller{loops: make(map[gnet.EventLoop]*Loop)}
	c, err := gnet.NewClient(p,
		gnet.WithNumEventLoop(loops),
		gnet.WithReuseAddr(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithWriteBufferCap(16<<10),
		gnet.WithLogger(quietLogger{}),
	)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	p.client = c
	go p.tick()
	return p, nil
}

// Enroll moves nc, a *net.TCPConn, onto a loop and runs s.OnOpen there. nc is closed by Enroll
// (the loop owns a duplicate of its descriptor from then on), on success and on failure alike. It
// blocks until OnOpen has run, so it must never be called from a loop goroutine. If enrolling
// fails, s.OnClose runs with the error, without OnOpen, before Enroll returns it.
func (p *Poller) Enroll(nc net.Conn, s Session) error {
	if _, err := p.client.EnrollContext(nc, &gnetConn{session: s}); err != nil {
		s.OnClose(err)
		return err
	}
	return nil
}

// Abandon ends a session whose connection never reached Enroll (a dial that failed or was given
// up): OnClose runs with err on the caller's goroutine, without OnOpen.
func Abandon(s Session, err error) { s.OnClose(err) }

// Live returns the number of connections enrolled and not yet closed.
func (p *Poller) Live() int64 { return p.live.Load() }

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

// tick schedules a timer sweep on every loop that has deadlines, once per Tick. gnet's own OnTick
// runs on a goroutine of its own, so the sweep is sent to each loop as a task instead.
func (p *Poller) tick() {
	t := time.NewTicker(Tick)
	defer t.Stop()
	var loops []*Loop
	for range t.C {
		p.mu.Lock()
		loops = append(loops[:0], p.list...)
		p.mu.Unlock()
		for _, l := range loops {
			_ = l.el.Execute(context.Background(), l.sweepTask)
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
