package api

import (
	"context"
	"sync/atomic"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// HandshakeError is the error of a client whose opening handshake the server refused: it answered
// with a status other than 101 Switching Protocols. Status and Header are those of the response
// (Header with canonical names); its text is nodejs-websocket's ("Invalid handshake: invalid first
// line format") and errors.Is(err, codec.ErrResponseStatus) holds. Dial returns it, and OnError
// reports it; find it with errors.As.
type HandshakeError = engine.HandshakeError

// Dial opens a client connection to url (ws:// or wss://) and returns it once it is open: the
// server's 101 was checked. It returns an error instead when the URL or options are invalid, the
// dial fails, the server refuses the handshake (a *HandshakeError, with the response's status and
// headers), the handshake fails or times out (HandshakeTimeout), or ctx ends first (ctx's error,
// errors.Is). ctx bounds the dial and the opening handshake only, and replaces opts.Context; once
// the connection is open, it has no effect. opts may be nil, and opts.Setup, when set, runs before
// dialing, as with Connect, of which Dial is the blocking form.
//
// No event is lost between the open and the moment handlers are set on the returned connection:
// unless Setup set a message handler, the connection reads nothing from the server, not even a
// close or a ping, until a message handler (OnText, OnBinary or OnMessage) is set, so that what the
// server sent right after its 101 reaches that handler. Set the other handlers first and the
// message handler last; a client that only sends sets one anyway (as a gorilla/websocket client
// must read), or the server's pings and close go unanswered.
func Dial(ctx context.Context, url string, opts *ClientOptions) (*Conn, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	o.Context = ctx
	w := &dialWatch{done: make(chan error, 1)}
	c, err := connect(url, &o, nil, w.watch)
	if err != nil {
		return nil, err
	}
	if err := <-w.done; err != nil {
		return nil, err
	}
	return c, nil
}

// dialWatch stands between a connection opened by Dial and its events: it forwards every event,
// tells Dial how the opening ended, and holds the input from the 101 on until a message handler
// is set (claimInput).
type dialWatch struct {
	engine.Events
	c    *Conn
	done chan error  // receives the outcome once: nil when the connection opened
	held atomic.Bool // the input is paused until a message handler is set

	// Set by the connection's events, which run one at a time.
	ended bool  // the outcome was sent
	err   error // the error reported before the connection opened
}

// watch is connect's wrap: it puts w between c and its events ev.
func (w *dialWatch) watch(c *Conn, ev engine.Events) engine.Events {
	w.c, w.Events = c, ev
	c.cold.Load().dial = w
	return w
}

// end sends the outcome of the opening to Dial, once.
func (w *dialWatch) end(err error) {
	if !w.ended {
		w.ended = true
		w.done <- err
	}
}

// Upgraded pauses the input before any frame behind the 101 is read, unless a message handler is
// already set. It runs on the loop, also with an Executor.
func (w *dialWatch) Upgraded(resp *codec.Response) {
	w.Events.Upgraded(resp)
	if w.c.handlers().hasMessage() {
		return
	}
	w.c.ec.PauseInput()
	w.held.Store(true)
	w.c.claimInput() // a handler set meanwhile, from a goroutine Setup started
}

// Opened tells Dial the connection is open.
func (w *dialWatch) Opened() {
	w.Events.Opened()
	w.end(nil)
}

// Error keeps the error that ends a connection not yet open, for Dial to return.
func (w *dialWatch) Error(err error) {
	if w.err == nil {
		w.err = err
	}
	w.Events.Error(err)
}

// Closed tells Dial the connection ended before it opened: with the error reported, or ErrClosed
// when none was (Close called from Setup).
func (w *dialWatch) Closed(opened bool, code codec.CloseCode, reason []byte, err error) {
	w.Events.Closed(opened, code, reason, err)
	if w.err == nil {
		w.err = ErrClosed
	}
	w.end(w.err)
}

// hasMessage reports whether a message handler is set.
func (h *handlers) hasMessage() bool { return h.text != nil || h.binary != nil || h.message != nil }

// claimInput lets a connection that Dial holds read, once a message handler is set. It runs
// whenever a handler is set, from any goroutine, and does nothing on other connections.
func (c *Conn) claimInput() {
	if c.server != nil {
		return
	}
	k := c.cold.Load()
	if k == nil || k.dial == nil || !c.handlers().hasMessage() {
		return
	}
	if k.dial.held.CompareAndSwap(true, false) {
		c.ec.ResumeInput()
	}
}
