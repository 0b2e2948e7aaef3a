package engine

import (
	"crypto/tls"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// State is a connection's ready state, numbered as nodejs-websocket numbers them.
type State uint8

// The ready states.
const (
	Connecting State = iota
	Open
	Closing
	Closed
)

// Errors of the send methods. Their texts are nodejs-websocket's.
var (
	ErrNotOpen       = errors.New("You can't write to a non-open connection")
	ErrTextStreaming = errors.New("You can't send a text frame until you finish sending binary frames")
	ErrBinStreaming  = errors.New("You can't send more binary frames until you finish sending the previous binary frames")
	ErrNoStream      = errors.New("websocket: no binary stream in progress")
	ErrCloseCode     = errors.New("websocket: close code that may not be sent")
	ErrControlSize   = errors.New("websocket: ping payload longer than 125 bytes")
	ErrClosed        = errors.New("websocket: connection closed before the data reached the kernel")
	ErrQueueFull     = errors.New("websocket: send queue full: the peer does not read fast enough")
	ErrInvalidText   = errors.New("websocket: text is not valid UTF-8")
	ErrTruncated     = errors.New("websocket: connection closed before the binary message ended")
	ErrHandshakeTime = errors.New("websocket: opening handshake timed out")
	ErrSharedClient  = errors.New("websocket: a prepared frame is unmasked: a client connection cannot send it")
	ErrDrainTime     = errors.New("websocket: the peer read nothing while the send queue was over its cap")
)

// Conn is one WebSocket connection. Its send methods are safe from any goroutine; everything else
// runs on its loop.
type Conn struct {
	t   poller.Transport // nil until OnOpen
	ev  Events
	cfg *Config

	// Guarded by mu: shared between the loop and sending goroutines. The flags sit together so
	// that an idle connection pays one word for all of them.
	mu          sync.Mutex
	state       State
	streaming   bool // a streamed binary message is being sent
	inTurn      bool // the loop is inside a turn and flushes when it ends
	refused     bool // a send was refused for a full queue: Drained follows when it empties
	closeSent   bool
	enrolled    bool          // OnOpen ran: the loop may be woken
	terminated  bool          // Terminate was called, or a full queue under CloseSlow: close at once
	opened      bool          // loop only: the handshake succeeded
	openedEarly bool          // answered on the accepting goroutine: the first turn fires Opened
	paused      bool          // loop only: input is paused, by the output over its cap or a PauseReason
	recheck     bool          // loop only: something waits on the output: look again at the next tick
	panicked    bool          // a handler run off the loop panicked: fail at the next turn (cancelErr says why)
	pauses      atomic.Uint32 // the PauseReasons holding the input (beside the flags: no padding)
	q           *outq         // output; nil while nothing is queued or awaited

	// In the order a message reads them, so that it touches as few cache lines as it can; the
	// error of a connection given up, read only then, comes last.
	rare      *rareState // loop only; nil while the connection is open and at rest (see rare.go)
	opt       *optional  // loop only; nil while keepalive is off and no compression window is kept
	lend      lending    // guarded by mu
	rd        reader     // loop only
	deadline  deadlines  // loop only
	cancelErr error      // guarded by mu: why Cancel, or a full queue under CloseSlow, gave the connection up
}

// Init prepares c, which the layer above embeds, to report to ev. It starts in Connecting and
// runs once enrolled into a poller.
func (c *Conn) Init(cfg *Config, ev Events) {
	c.cfg, c.ev = cfg, ev
}

// Preload gives the connection bytes that were received before it was enrolled (a request read
// by net/http before the hijack). They are processed first, as if they had just arrived.
func (c *Conn) Preload(b []byte) {
	if len(b) > 0 {
		c.keep(b)
	}
}

// keep appends b to the bytes kept for later. Loop only (or before enrollment).
func (c *Conn) keep(b []byte) {
	r := c.side()
	if r.pending == nil {
		r.pending = bufpool.Get()
	}
	r.pending.B = append(r.pending.B, b...)
}

// HandshakeTimeout returns the bound of the opening handshake.
func (c *Conn) HandshakeTimeout() time.Duration { return c.cfg.handshakeTimeout() }

// State returns the ready state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Conn) setState(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

// TLS returns the state of a TLS connection, false for a plain one or before it is open.
func (c *Conn) TLS() (tls.ConnectionState, bool) {
	c.mu.Lock()
	t := c.t
	c.mu.Unlock()
	if t == nil {
		return tls.ConnectionState{}, false
	}
	return t.TLS()
}

// OnOpen implements poller.Session.
func (c *Conn) OnOpen(t poller.Transport, started int64) {
	defer c.recoverHandler()
	c.mu.Lock()
	c.t = t
	c.enrolled = true
	abandoned, cancelErr := c.closeSent || c.terminated, c.cancelErr
	c.mu.Unlock()
	if abandoned { // WriteClose, Cancel or Terminate gave the connection up while it was enrolled
		c.abort(cancelErr)
		return
	}
	c.deadline.handshake = started + int64(c.cfg.handshakeTimeout())
	c.beginTurn()
	if c.cfg.Role == codec.ClientRole {
		c.sendRequest()
	}
	c.finishEarly()
	if c.pendingBytes() != nil {
		c.consume(nil)
	}
	c.endTurn()
}

// OnWake implements poller.Session: another goroutine queued output, gave the connection up,
// gave a deferred handshake its verdict, or resumed the input.
func (c *Conn) OnWake() {
	defer c.recoverHandler()
	if c.abortIfGivenUp() {
		return
	}
	c.beginTurn()
	c.answerDeferred()
	c.endTurn()
}

// abortIfGivenUp ends the connection at once if it was given up (WriteClose or Cancel during the
// handshake, Terminate, or a full queue under CloseSlow), and reports whether it did. Loop only.
func (c *Conn) abortIfGivenUp() bool {
	c.mu.Lock()
	givenUp, cancelErr := (!c.opened && c.state == Closing) || c.terminated, c.cancelErr
	c.mu.Unlock()
	if givenUp {
		c.abort(cancelErr)
	}
	return givenUp
}

// OnTraffic implements poller.Session.
func (c *Conn) OnTraffic(in []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			c.handlerPanicked(r)
			n = len(in) // nothing more is read after a handler's panic
		}
	}()
	c.heard()
	if !c.opened {
		c.beginTurn() // an open connection's turn begins with its first frame (beginTurnOnce)
	}
	n = c.consume(in)
	c.endTurn()
	return n
}

// consume processes in, behind the bytes kept earlier if any, and returns how much of in the
// transport may forget. Kept bytes are processed first and what stays unconsumed of them is kept.
func (c *Conn) consume(in []byte) int {
	kept := c.pendingBytes()
	if kept == nil {
		return c.process(in)
	}
	kept.B = append(kept.B, in...)
	n := c.process(kept.B)
	if kept = c.pendingBytes(); kept != nil { // OnClose may have run and released it
		rest := copy(kept.B, kept.B[n:])
		kept.B = kept.B[:rest]
		if rest == 0 {
			bufpool.Put(kept)
			c.rare.pending = nil
		}
	}
	return len(in)
}

// process parses the handshake and then frames, and returns how many bytes it consumed.
func (c *Conn) process(in []byte) int {
	if c.inputStopped() {
		c.holdInput()
		return 0
	}
	n := 0
	switch {
	case c.opened:
	case c.cfg.Role == codec.ServerRole:
		n = c.readRequest(in)
	default:
		n = c.readResponse(in)
	}
	if c.opened {
		n += c.readFrames(in[n:])
	}
	return n
}

// OnClose implements poller.Session.
func (c *Conn) OnClose(err error) {
	// A panic of a close handler cannot end a connection that has ended: it is dropped, so that
	// the loop and its other connections live on.
	defer func() { _ = recover() }()
	if c.openedEarly { // answered on accept (early.go), ended before its loop: it never opened here
		c.opened, c.openedEarly = false, false
	}
	c.mu.Lock()
	// The user gave the attempt up with WriteClose: no error to report (Cancel reports its own).
	givenUp := c.closeSent && !c.opened && c.cancelErr == nil
	c.state = Closed
	c.inTurn = false
	q := c.q
	c.q = nil
	c.lend = lending{}
	c.mu.Unlock()
	var cbs []sendCallback
	if q != nil {
		cbs = q.drop()
		queues.Put(q)
	}
	c.releaseRetired()
	if r := c.rare; r != nil {
		bufpool.Put(r.pending)
		r.pending = nil
	}
	c.releaseHandshake()
	for _, cb := range cbs {
		cb.fn(ErrClosed)
	}
	c.rd.release(c.ev, c.opened)
	if err := closedError(err); err != nil && c.visible() && !givenUp && !c.closingState().done() {
		c.ev.Error(err)
	}
	code, reason := c.closingState().result()
	if c.opened {
		c.cfg.Counters.closed(code)
	}
	ended := c.closingState().err
	if ended == nil {
		ended = closedError(err)
	}
	c.ev.Closed(c.opened, code, reason, ended)
	if r := c.rare; r != nil {
		c.rare = nil
		*r = rareState{retired: r.retired[:0]}
		rareStates.Put(r)
	}
}
