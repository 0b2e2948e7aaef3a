package api

import (
	"hash/maphash"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// DefaultMaxBacklog is the default bound of NewExecutor on the events a connection has handed
// to the workers and that are not handled yet: 1 MiB.
const DefaultMaxBacklog = 1 << 20

// eventCost is what an event counts against the backlog besides its payload, so that a flood of
// empty messages or pongs is bounded too.
const eventCost = 64

// batch is how many events a worker handles for one connection before it lets the other
// connections waiting on the executor go first.
const batch = 64

// Executor runs the event handlers of connections on a bounded pool of worker goroutines instead
// of their event loops, for handlers that block (a database call, a slow disk, a remote check).
// Set it as ServerOptions.Executor or ClientOptions.Executor; one Executor may serve several
// servers and clients, sharing its workers among them.
//
// What it guarantees: a connection's handlers still run one at a time and in wire order (its
// handshake hook first, then OnConnection or OnConnect, its messages, OnClose last, OnError
// before it), so a handler may block without stalling any other connection of its loop, which
// goes on reading, writing and handing events to other workers. Sends from a worker are safe, as
// from any goroutine. What it costs: every payload an event carries (a message, a chunk of an
// InStream, a pong, a close reason) is copied into a pooled buffer when it is handed off, valid
// for the handler's call and given back after it, and each hand-off takes a lock, so a server
// whose handlers never block is faster without it. OnMessage and SendMessage then copy once per
// message more than on the loop, where they copy nothing.
//
// Memory is bounded: when the events a connection handed off and whose handlers have not run yet
// hold more than its maximum backlog, the connection stops reading its socket (TCP then throttles
// the peer) until the backlog is down to half of it; this pause and InStream.Pause are
// independent. The pool is bounded too: at most the given number of workers run at once, each
// started when events wait and ending when none does, so an idle executor holds no goroutine and
// an idle connection costs it nothing (a connection has a mailbox only while it has events).
// When every worker blocks, the events of all the executor's connections wait.
//
// The server's SelectProtocol and HTTPHandler hooks still run on the loop.
//
// The zero Executor is one with the defaults of NewExecutor(0, 0).
type Executor struct {
	workers    int        // 0: four per GOMAXPROCS
	maxBacklog int64      // 0: DefaultMaxBacklog
	stripes    [64]stripe // the mailboxes, spread by connection so that loops rarely share a lock
	backlog    atomic.Int64

	mu      sync.Mutex
	ready   fifo[*mailbox] // mailboxes waiting for a worker
	running int            // workers started and not ended
}

// NewExecutor returns an executor of at most workers goroutines (0 or less: four per GOMAXPROCS)
// whose connections each pause their input while the events they handed off hold more than
// maxBacklog bytes, payloads included (0 or less: DefaultMaxBacklog). A message larger than the
// backlog is still handed off whole; the connection then pauses until it is handled.
func NewExecutor(workers, maxBacklog int) *Executor {
	return &Executor{workers: max(workers, 0), maxBacklog: int64(max(maxBacklog, 0))}
}

func (x *Executor) workerLimit() int {
	if x.workers > 0 {
		return x.workers
	}
	return 4 * runtime.GOMAXPROCS(0)
}

func (x *Executor) backlogLimit() int64 {
	if x.maxBacklog > 0 {
		return x.maxBacklog
	}
	return DefaultMaxBacklog
}

// Backlog returns the bytes held by the events handed to the executor whose handlers have not
// returned yet, payload copies included, over all its connections.
func (x *Executor) Backlog() int64 { return x.backlog.Load() }

// stripe holds the mailboxes of some of the connections, under one lock.
type stripe struct {
	mu    sync.Mutex
	boxes map[*Conn]*mailbox
}

// stripeSeed spreads connections over the stripes of every executor.
var stripeSeed = maphash.MakeSeed()

func (x *Executor) stripe(c *Conn) *stripe {
	return &x.stripes[maphash.Comparable(stripeSeed, c)%uint64(len(x.stripes))]
}

// mailbox is a connection's events waiting for their handlers. It exists while the connection has
// events and is then either waiting in the executor's ready queue or in a worker's hands, never
// both, so that one worker at a time runs the connection's handlers. Guarded by its stripe's lock.
type mailbox struct {
	c      *Conn
	events fifo[event]
	bytes  int64 // what the events held count against the backlog, the one being handled included
	paused bool  // the backlog paused the connection's input
}

var mailboxes = sync.Pool{New: func() any { return new(mailbox) }}

// maxPooledEvents caps the room for events a pooled mailbox keeps: a mailbox that held more
// (events of many tiny messages, up to the backlog) is not kept that large.
const maxPooledEvents = 256

// eventKind says which handler an event is for.
type eventKind uint8

const (
	evTask eventKind = iota // fn: the handshake hook
	evOpened
	evMessage
	evStreamStart
	evStreamChunk
	evStreamEnd
	evDrained
	evPong
	evError
	evClosed
)

// event is one engine event on its way to a worker, with a copy of its payload.
type event struct {
	kind   eventKind
	op     codec.Opcode
	opened bool
	code   codec.CloseCode
	buf    *bufpool.Buffer // the payload's copy; nil for none
	err    error
	fn     func()
}

func (ev *event) payload() []byte {
	if ev.buf == nil {
		return nil
	}
	return ev.buf.B
}

func (ev *event) cost() int64 { return eventCost + int64(len(ev.payload())) }

// post hands ev to c's mailbox, making one if c has none, and pauses c's input once its backlog
// is over the bound. It runs on c's loop (or the goroutine the engine reports c's events on).
func (x *Executor) post(c *Conn, ev event) {
	cost := ev.cost()
	st := x.stripe(c)
	st.mu.Lock()
	m := st.boxes[c]
	fresh := m == nil
	if fresh {
		if st.boxes == nil {
			st.boxes = make(map[*Conn]*mailbox)
		}
		m = mailboxes.Get().(*mailbox)
		m.c = c
		st.boxes[c] = m
	}
	m.events.push(ev)
	m.bytes += cost
	if !m.paused && m.bytes > x.backlogLimit() {
		m.paused = true // under the stripe's lock, so that a worker's resume cannot pass it
		c.ec.PauseInputFor(engine.PauseBacklog)
	}
	st.mu.Unlock() // from here on, ev is the worker's
	x.backlog.Add(cost)
	if fresh {
		x.schedule(m)
	}
}

// schedule puts m in the ready queue and starts a worker if fewer than the bound run.
func (x *Executor) schedule(m *mailbox) {
	x.mu.Lock()
	x.ready.push(m)
	start := x.running < x.workerLimit()
	if start {
		x.running++
	}
	x.mu.Unlock()
	if start {
		go x.work()
	}
}

// work runs ready mailboxes until none is left.
func (x *Executor) work() {
	for {
		x.mu.Lock()
		m, ok := x.ready.pop()
		if !ok {
			x.running--
			x.mu.Unlock()
			return
		}
		x.mu.Unlock()
		x.run(m)
	}
}

// run handles up to batch of m's events, in order, then gives m back: to the pool once it is
// empty (the connection has no mailbox until its next event), else to the ready queue's end.
func (x *Executor) run(m *mailbox) {
	st := x.stripe(m.c)
	var done int64 // the cost of the event just handled
	for i := 0; ; i++ {
		st.mu.Lock()
		m.bytes -= done
		if m.paused && m.bytes <= x.backlogLimit()/2 {
			m.paused = false
			m.c.ec.ResumeInputFor(engine.PauseBacklog)
		}
		if m.events.len() == 0 {
			delete(st.boxes, m.c)
			*m = mailbox{events: m.events}
			if cap(m.events.items) > maxPooledEvents {
				m.events = fifo[event]{}
			}
			st.mu.Unlock()
			mailboxes.Put(m)
			return
		}
		if i == batch {
			st.mu.Unlock()
			x.schedule(m)
			return
		}
		ev, _ := m.events.pop()
		st.mu.Unlock()
		done = ev.cost()
		m.c.handle(&ev)
		bufpool.Put(ev.buf)
		x.backlog.Add(-done)
	}
}

// handle runs the handler of ev on a worker. A handler's panic ends the connection as on the
// loop (1011, PanicError to OnError), without ending the worker.
func (c *Conn) handle(ev *event) {
	defer func() {
		if r := recover(); r != nil {
			c.workerPanicked(r)
		}
	}()
	e := c.events()
	switch ev.kind {
	case evTask:
		ev.fn()
	case evOpened:
		e.Opened()
	case evMessage:
		e.Message(ev.op, ev.payload())
	case evStreamStart:
		e.StreamStart()
	case evStreamChunk:
		e.StreamChunk(ev.payload())
	case evStreamEnd:
		e.StreamEnd(ev.err)
	case evDrained:
		c.drainHandler()
	case evPong:
		e.Pong(ev.payload())
	case evError:
		e.Error(ev.err)
	case evClosed:
		e.Closed(ev.opened, ev.code, ev.payload(), ev.err)
	}
}

// workerPanicked ends a connection whose handler panicked on a worker as a panic on the loop
// does: failed with 1011, the PanicError to its error handler (unless the user does not know the
// connection yet), then the close event; a panic of the error or close handler itself ends
// nothing more.
func (c *Conn) workerPanicked(r any) {
	c.ec.HandlerPanicked(&PanicError{Value: r, Stack: debug.Stack()})
}

// queued is a Conn seen as the engine's engine.Events when an Executor runs its handlers: on the
// loop, each method hands its event to the executor, with a copy of the bytes the engine lends
// for the call only. What runs no user code (the answers the engine waits for, the bookkeeping of
// streams) stays on the loop.
type queued Conn

func (q *queued) conn() *Conn { return (*Conn)(q) }

func (q *queued) post(ev event, p []byte) {
	c := q.conn()
	if len(p) > 0 {
		ev.buf = bufpool.Get()
		ev.buf.B = append(ev.buf.B, p...)
	}
	c.executor().post(c, ev)
}

// Handshake implements engine.Events: the server hands its hook to the executor (handshakeLater).
func (q *queued) Handshake(req *codec.Request) engine.Verdict {
	return q.conn().events().Handshake(req)
}

// ServeHTTP implements engine.Events: HTTPHandler runs on the loop, which waits for its answer.
func (q *queued) ServeHTTP(req *codec.Request, body, dst []byte) ([]byte, bool) {
	return q.conn().events().ServeHTTP(req, body, dst)
}

// Upgraded implements engine.Events.
func (q *queued) Upgraded(resp *codec.Response) { q.conn().events().Upgraded(resp) }

// StreamBinary implements engine.Events.
func (q *queued) StreamBinary() bool { return q.conn().events().StreamBinary() }

// Opened implements engine.Events.
func (q *queued) Opened() { q.post(event{kind: evOpened}, nil) }

// Message implements engine.Events.
func (q *queued) Message(op codec.Opcode, p []byte) { q.post(event{kind: evMessage, op: op}, p) }

// StreamStart implements engine.Events.
func (q *queued) StreamStart() { q.post(event{kind: evStreamStart}, nil) }

// StreamChunk implements engine.Events.
func (q *queued) StreamChunk(p []byte) { q.post(event{kind: evStreamChunk}, p) }

// StreamEnd implements engine.Events.
func (q *queued) StreamEnd(err error) { q.post(event{kind: evStreamEnd, err: err}, nil) }

// Drained implements engine.Events. An OutStream waiting for room is woken at once, on the loop:
// it may be written from a handler, which then waits on a worker.
func (q *queued) Drained() {
	q.conn().outStreamDrained()
	q.post(event{kind: evDrained}, nil)
}

// Pong implements engine.Events.
func (q *queued) Pong(p []byte) { q.post(event{kind: evPong}, p) }

// Error implements engine.Events.
func (q *queued) Error(err error) { q.post(event{kind: evError, err: err}, nil) }

// Closed implements engine.Events. An OutStream still open is cut at once, on the loop, so that a
// handler waiting in its Write returns.
func (q *queued) Closed(opened bool, code codec.CloseCode, reason []byte, err error) {
	q.conn().abandonOutStream()
	q.post(event{kind: evClosed, opened: opened, code: code, err: err}, reason)
}

// executor returns the executor that runs c's handlers, nil when they run on the loop.
func (c *Conn) executor() *Executor {
	if c.server != nil {
		return c.server.opts.Executor
	}
	return c.cold.Load().executor
}

// engineEvents returns what c reports the engine's events to: c itself, whose handlers then run
// on the loop, or, with x, the queue that hands them to x's workers.
func (c *Conn) engineEvents(x *Executor) engine.Events {
	if x == nil {
		return c.events()
	}
	return (*queued)(c)
}

// fifo is a queue over a slice that it reuses: once half of it is consumed, the rest moves down.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }

func (f *fifo[T]) len() int { return len(f.items) - f.head }

func (f *fifo[T]) pop() (v T, ok bool) {
	if f.head == len(f.items) {
		return v, false
	}
	v = f.items[f.head]
	var zero T
	f.items[f.head] = zero
	f.head++
	switch {
	case f.head == len(f.items):
		f.items, f.head = f.items[:0], 0
	case f.head >= 32 && 2*f.head >= len(f.items):
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v, true
}
