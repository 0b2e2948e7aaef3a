package engine

import (
	"errors"
	"sync"
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
	ErrCloseCode     = errors.New("websocket: invalid close code")
	ErrControlSize   = errors.New("websocket: control frame payload longer than 125 bytes")
	ErrClosed        = errors.New("websocket: connection closed before the data reached the kernel")
	ErrQueueFull     = errors.New("websocket: send queue full: the peer does not read fast enough")
	ErrInvalidText   = errors.New("websocket: text is not valid UTF-8")
	ErrTruncated     = errors.New("websocket: connection closed before the binary message ended")
	ErrHandshakeTime = errors.New("websocket: opening handshake timed out")
	ErrCloseTime     = errors.New("websocket: closing handshake timed out")
)

// Conn is one WebSocket connection. Its send methods are safe from any goroutine; everything else
// runs on its loop.
type Conn struct {
	poller.Conn
	ev  Events
	cfg *Config

	// Guarded by mu: shared between the loop and sending goroutines. The flags sit together so
	// that an idle connection pays one word for all of them.
	mu         sync.Mutex
	state      State
	streaming  bool // a streamed binary message is being sent
	inTurn     bool // the loop is inside a turn and flushes when it ends
	refused    bool // a send was refused for a full queue: Drained follows when it empties
	closeSent  bool
	enrolled   bool            // OnOpen ran: the loop may be woken
	terminated bool            // Terminate was called: the loop closes the socket at once
	opened     bool            // loop only: the handshake succeeded
	out        *bufpool.Buffer // output not yet handed to the transport
	lent       lentOutput      // payloads sent without a copy, beside their headers in out
	handed     uint64          // bytes ever handed to the transport
	backlog    int64           // bytes handed to the transport and not yet taken by the kernel
	callbacks  []sendCallback
	cancelErr  error // why Cancel, or a full queue under CloseSlow, gave the connection up

	// Loop only.
	pending  *bufpool.Buffer   // bytes received before enrollment and not consumed yet
	retired  []*bufpool.Buffer // assembled messages whose bytes wait in lent output
	iov      [][]byte          // scratch for writing lent output
	spare    []lentSeg         // the lent pieces' second slice, while the first is written
	req      *codec.Request    // the server's handshake in progress, pooled
	client   *clientHandshake  // the client's handshake in progress, pooled
	rd       reader
	closing  closing
	deadline deadlines
}

// Init prepares c, which the layer above embeds, to report to ev. It starts in Connecting and
// runs once enrolled into a poller.
func (c *Conn) Init(cfg *Config, ev Events) {
	c.cfg, c.ev = cfg, ev
}

// Preload gives the connection bytes that were received before it was enrolled (a request read
// by net/http before the hijack). They are processed first, as if they had just arrived.
func (c *Conn) Preload(b []byte) {
	if len(b) == 0 {
		return
	}
	c.pending = bufpool.Get()
	c.pending.B = append(c.pending.B, b...)
}

// HandshakeTimeout returns the bound of the opening handshake.
func (c *Conn) HandshakeTimeout() time.Duration { return c.cfg.handshakeTimeout() }

// Transport implements poller.Session.
func (c *Conn) Transport() *poller.Conn { return &c.Conn }

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

// beginTurn marks the start of a loop turn: sends made until endTurn are flushed together.
func (c *Conn) beginTurn() {
	c.mu.Lock()
	c.inTurn = true
	c.mu.Unlock()
}

// endTurn flushes what the turn queued and settles what waits on the output draining.
func (c *Conn) endTurn() {
	c.flush()
	c.afterFlush()
}

// OnOpen implements poller.Session.
func (c *Conn) OnOpen() {
	defer c.recoverHandler()
	c.mu.Lock()
	c.enrolled = true
	abandoned, cancelErr := c.closeSent, c.cancelErr
	c.mu.Unlock()
	if abandoned { // WriteClose or Cancel gave the connection up while it was being enrolled
		c.abort(cancelErr)
		return
	}
	c.deadline.handshake = nowNano() + int64(c.cfg.handshakeTimeout())
	if c.cfg.Role == codec.ClientRole {
		c.sendRequest()
	}
	if c.pending != nil {
		c.OnTraffic(nil)
	}
	c.armTimer()
}

// OnWake implements poller.Session: another goroutine queued output, or gave up a connection
// still in Connecting.
func (c *Conn) OnWake() {
	defer c.recoverHandler()
	c.mu.Lock()
	givenUp, cancelErr := (!c.opened && c.state == Closing) || c.terminated, c.cancelErr
	c.mu.Unlock()
	if givenUp {
		c.abort(cancelErr)
		return
	}
	c.beginTurn()
	c.endTurn()
}

// OnTraffic implements poller.Session.
func (c *Conn) OnTraffic(in []byte) (n int) {
	defer func() {
		if r := recover(); r != nil {
			c.handlerPanicked(r)
			n = len(in) // nothing more is read after a handler's panic
		}
	}()
	if c.pending != nil {
		return c.trafficAfterPreload(in)
	}
	return c.traffic(in)
}

// trafficAfterPreload takes every byte from the transport behind the preloaded ones, processes
// them together and keeps what is left until it is consumed; then the connection reads from the
// transport's buffer again.
func (c *Conn) trafficAfterPreload(in []byte) int {
	c.pending.B = append(c.pending.B, in...)
	n := c.traffic(c.pending.B)
	if c.pending != nil { // OnClose may have run and released it
		rest := copy(c.pending.B, c.pending.B[n:])
		c.pending.B = c.pending.B[:rest]
		if rest == 0 {
			bufpool.Put(c.pending)
			c.pending = nil
		}
	}
	return len(in)
}

func (c *Conn) traffic(in []byte) int {
	c.beginTurn()
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
	c.endTurn()
	return n
}

// OnClose implements poller.Session.
func (c *Conn) OnClose(err error) {
	// A panic of a close handler cannot end a connection that has ended: it is dropped, so that
	// the loop and its other connections live on.
	defer func() { _ = recover() }()
	c.mu.Lock()
	// The user gave the attempt up with WriteClose: no error to report (Cancel reports its own).
	givenUp := c.closeSent && !c.opened && c.cancelErr == nil
	c.state = Closed
	c.inTurn = false
	out := c.out
	c.out = nil
	cbs := c.callbacks
	c.callbacks = nil
	c.lent.reset()
	c.mu.Unlock()
	bufpool.Put(out)
	c.releaseRetired()
	bufpool.Put(c.pending)
	c.pending = nil
	c.releaseHandshake()
	for _, cb := range cbs {
		cb.fn(ErrClosed)
	}
	c.rd.release(c.ev, c.opened)
	if err := closedError(err); err != nil && c.visible() && !givenUp && !c.closing.done() {
		c.ev.Error(err)
	}
	code, reason := c.closing.result()
	c.ev.Closed(c.opened, code, reason)
	c.closing.release()
}
