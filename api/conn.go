package api

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// ReadyState is a connection's state, numbered as in nodejs-websocket.
type ReadyState int

// The ready states.
const (
	Connecting ReadyState = ReadyState(engine.Connecting)
	Open       ReadyState = ReadyState(engine.Open)
	Closing    ReadyState = ReadyState(engine.Closing)
	Closed     ReadyState = ReadyState(engine.Closed)
)

// Conn is one WebSocket connection, server or client side. Its methods are safe from any
// goroutine. Its event handlers run on the connection's loop, in wire order, one at a time; they
// must not block (hand blocking work to a goroutine), unless an Executor runs them.
//
// It is split hot and cold: the struct holds what an idle server connection needs (its engine,
// handlers, path, kept headers, addresses, registry part and slot, and Data); what few
// connections use (subprotocols, streams, client-only state, topics) is in a coldState allocated
// on first use.
type Conn struct {
	server *Server
	h      atomic.Pointer[handlers] // nil: the server's set
	ec     engine.Conn

	path     string
	head     atomic.Pointer[headerLines] // the handshake's headers still kept; nil for none
	addr     atomic.Pointer[addrs]       // nil until a client connection is dialed, and on a hostedConn (its Slot has them)
	regIndex int                         // position in its shard's connections, -1 when not in it
	shard    atomic.Pointer[shard]       // the part of the server's registry it is in, once open
	cold     atomic.Pointer[coldState]   // nil until needed; always set on a client

	// Data is a slot for the user's own per-connection value (a nickname, a session). wsloop never
	// reads or writes it.
	Data any
}

// coldState is the part of a Conn that an idle server connection does without. Each field keeps
// the discipline it had in Conn: the plain ones are written on the loop during the handshake (or
// by Connect before the client is returned) and only read afterwards, the atomic one is atomic.
type coldState struct {
	protocols []string // the subprotocols the client offered
	protocol  string   // the negotiated subprotocol
	fragment  int      // a client's binary fragmentation; 0 for the default
	// stopContext stops watching a client's context (ClientOptions.Context) for cancellation.
	stopContext func() bool
	// early guards the events of a client connection that came before their handler was set.
	early     sync.Mutex
	late      *lateEvents // a client's events that found no handler yet
	inStream  *InStream   // the binary message being received, reused from one to the next (loop or worker only)
	outStream atomic.Pointer[OutStream]
	executor  *Executor   // a client's ClientOptions.Executor
	member    *membership // the topics subscribed to; guarded by the shard's topicMu
	dial      *dialWatch  // the events' watch of a client opened by Dial (dial.go); nil from Connect

	logger *slog.Logger // a client's ClientOptions.Logger (logging.go)
	// base is the request's context of a connection mounted on net/http (ServeHTTP), without its
	// cancellation; ctx is the connection's context, made on first use (context.go).
	base context.Context
	ctx  atomic.Pointer[connContext]
	// afterClose, set by a Reconnector before the dial, runs after the close event, even when
	// the close handler panics or was replaced.
	afterClose func(code int, reason string)
}

// coldState returns the connection's cold part, allocating it on first use (from any goroutine).
func (c *Conn) coldState() *coldState {
	if k := c.cold.Load(); k != nil {
		return k
	}
	c.cold.CompareAndSwap(nil, &coldState{})
	return c.cold.Load()
}

// lockEarly locks a client connection's early-event guard and returns its cold part. It returns
// nil on the server side, where every event finds the server's handlers and nothing is kept late.
func (c *Conn) lockEarly() *coldState {
	if c.server != nil {
		return nil
	}
	k := c.cold.Load() // set by Connect
	k.early.Lock()
	return k
}

func (c *Conn) handlers() *handlers {
	if h := c.h.Load(); h != nil {
		return h
	}
	if c.server != nil {
		return c.server.h.Load()
	}
	return &handlers{}
}

func (c *Conn) set(edit func(*handlers)) {
	setHandler(&c.h, func() *handlers {
		if c.server != nil {
			return c.server.h.Load()
		}
		return nil
	}, edit)
	c.claimInput()
}

// OnText sets the handler of text messages. The text is a string of its own, kept as long as
// wanted.
func (c *Conn) OnText(fn func(c *Conn, text string)) { c.set(func(h *handlers) { h.text = fn }) }

// OnBinary sets the handler of binary messages: it runs at a message's first frame with an
// InStream that hands over each frame's payload as it arrives.
func (c *Conn) OnBinary(fn func(c *Conn, in *InStream)) {
	c.set(func(h *handlers) { h.binary = fn })
}

// OnMessage sets the zero-copy handler of whole messages, text and binary. When set, it receives
// every message instead of OnText and OnBinary. The payload is valid only during the call: copy
// what must outlive it.
func (c *Conn) OnMessage(fn func(c *Conn, typ MessageType, payload []byte)) {
	c.set(func(h *handlers) { h.message = fn })
}

// OnConnect sets the handler that runs when a client connection's handshake succeeded.
func (c *Conn) OnConnect(fn func(c *Conn)) { c.set(func(h *handlers) { h.connect = fn }) }

// OnDrain sets the handler that runs when the send queue is empty again after a send was refused
// with ErrQueueFull: the moment to resume sending to a slow reader.
func (c *Conn) OnDrain(fn func(c *Conn)) { c.set(func(h *handlers) { h.drain = fn }) }

// OnPong sets the handler of pong frames; data is valid only during the call.
func (c *Conn) OnPong(fn func(c *Conn, data []byte)) { c.set(func(h *handlers) { h.pong = fn }) }

// OnClose sets the handler that runs once, after the connection is closed, with the close code
// and reason the peer sent (1005 when its close frame had no code), the code we closed with after
// a protocol violation, or 1006 when the connection ended without a close frame. On a client
// connection that closed before the handler was set (a refused dial), it runs at once.
func (c *Conn) OnClose(fn func(c *Conn, code int, reason string)) {
	k := c.lockEarly()
	c.set(func(h *handlers) { h.close = fn })
	var late *closeEvent
	if k != nil {
		if k.late != nil {
			late, k.late.close = k.late.close, nil
		}
		k.early.Unlock()
	}
	if late != nil && fn != nil {
		fn(c, late.code, late.reason)
	}
}

// OnError sets the handler of errors that end the connection (protocol violations, socket errors,
// a refused handshake); OnClose follows. An error with no handler is dropped, never a panic. On a
// client connection whose error came before the handler was set, it runs at once.
func (c *Conn) OnError(fn func(c *Conn, err error)) {
	k := c.lockEarly()
	c.set(func(h *handlers) { h.err = fn })
	var late error
	if k != nil {
		if k.late != nil {
			late, k.late.err = k.late.err, nil
		}
		k.early.Unlock()
	}
	if late != nil && fn != nil {
		fn(c, late)
	}
}

// ReadyState returns the connection's state.
func (c *Conn) ReadyState() ReadyState { return ReadyState(c.ec.State()) }

// Path returns the request target: on the server, exactly as the client sent it (path and query,
// undecoded); on the client, the path and query of the URL.
func (c *Conn) Path() string { return c.path }

// Headers returns the request headers on the server, the response headers of the 101 on the client.
//
// A server connection has every header of the request during its handshake (the Handshake and
// SelectProtocol hooks) and its connection handler (OnConnection). When that handler returns, it
// keeps only those ServerOptions.KeepHeaders chooses (all by default): from then on Headers
// returns the kept ones, nil when none is kept. A client connection keeps every header.
//
// The map is built on first use from the header lines the connection keeps (a map per idle
// connection would cost several hundred bytes more); it is shared by every caller, so treat it
// as read-only.
func (c *Conn) Headers() http.Header {
	if l := c.head.Load(); l != nil {
		return l.header()
	}
	return nil
}

// headerLines are the header lines a connection keeps, "Name: value\n" each, and the map Headers
// builds from them on first use.
type headerLines struct {
	lines string
	m     atomic.Pointer[http.Header]
}

func (l *headerLines) header() http.Header {
	if h := l.m.Load(); h != nil {
		return *h
	}
	h := make(http.Header)
	for line := range strings.Lines(l.lines) {
		name, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
		h.Add(name, value)
	}
	l.m.CompareAndSwap(nil, &h)
	return *l.m.Load()
}

// keepHeaders records the handshake's header lines for Headers, in one string.
func (c *Conn) keepHeaders(lines []codec.HeaderLine) {
	n := 0
	for _, l := range lines {
		n += len(l.Name) + len(l.Value) + 3
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range lines {
		b.Write(l.Name)
		b.WriteString(": ")
		b.Write(l.Value)
		b.WriteByte('\n')
	}
	c.head.Store(&headerLines{lines: b.String()})
}

// trimHeaders drops the header lines whose name keep does not choose (nil keeps all), once the
// connection handler has returned. It runs on the loop.
func (c *Conn) trimHeaders(keep func(name string) bool) {
	l := c.head.Load()
	if keep == nil || l == nil {
		return
	}
	var b strings.Builder
	for line := range strings.Lines(l.lines) {
		name, _, _ := strings.Cut(line, ": ")
		if keep(http.CanonicalHeaderKey(name)) {
			b.WriteString(line)
		}
	}
	if b.Len() == 0 {
		c.head.Store(nil)
		return
	}
	c.head.Store(&headerLines{lines: b.String()})
}

// Protocols returns the subprotocols the client offered, in its order.
func (c *Conn) Protocols() []string {
	if k := c.cold.Load(); k != nil {
		return k.protocols
	}
	return nil
}

// Protocol returns the negotiated subprotocol, "" for none.
func (c *Conn) Protocol() string {
	if k := c.cold.Load(); k != nil {
		return k.protocol
	}
	return ""
}

// Server returns the server that accepted the connection, nil on the client side.
func (c *Conn) Server() *Server { return c.server }

// RemoteAddr returns the peer's address (nil while a client connection is being dialed).
func (c *Conn) RemoteAddr() net.Addr {
	remote, _ := c.addrsOf() // hosted.go
	return remote
}

// LocalAddr returns the local address (nil while a client connection is being dialed).
func (c *Conn) LocalAddr() net.Addr {
	_, local := c.addrsOf() // hosted.go
	return local
}

// TLS returns the state of a TLS connection (negotiated version, cipher suite, peer
// certificates), and false for a plain one.
func (c *Conn) TLS() (tls.ConnectionState, bool) { return c.ec.TLS() }

// OutStream returns the binary stream being sent (see BeginBinary), nil when none is.
func (c *Conn) OutStream() *OutStream {
	if k := c.cold.Load(); k != nil {
		return k.outStream.Load()
	}
	return nil
}

// events is a Conn seen as the engine's engine.Events; its methods run on the loop.
type events Conn

func (c *Conn) events() *events { return (*events)(c) }

// Handshake implements engine.Events.
func (e *events) Handshake(req *codec.Request) engine.Verdict {
	c := (*Conn)(e)
	return c.server.handshake(c, req)
}

// Opened implements engine.Events.
func (e *events) Opened() {
	c := (*Conn)(e)
	if c.server != nil {
		c.server.opened(c)
		return
	}
	c.handshakeOver()
	if fn := c.handlers().connect; fn != nil {
		fn(c)
	}
}

// Message implements engine.Events.
func (e *events) Message(op codec.Opcode, p []byte) {
	c := (*Conn)(e)
	h := c.handlers()
	switch {
	case h.message != nil:
		h.message(c, MessageType(op), p)
	case op == codec.OpText && h.text != nil:
		h.text(c, string(p))
	case op == codec.OpBinary && h.binary != nil:
		// Reached only when StreamBinary said no, which it does not while a binary handler is set;
		// kept for a handler set between the two.
		in := e.startStream(h)
		in.chunk(p)
		in.end(nil)
	}
}

// StreamBinary implements engine.Events.
func (e *events) StreamBinary() bool {
	c := (*Conn)(e)
	h := c.handlers()
	return h.message == nil && h.binary != nil
}

// StreamStart implements engine.Events.
func (e *events) StreamStart() { e.startStream((*Conn)(e).handlers()) }

func (e *events) startStream(h *handlers) *InStream {
	c := (*Conn)(e)
	k := c.coldState()
	if k.inStream == nil {
		k.inStream = &InStream{}
	}
	*k.inStream = InStream{conn: c, live: true}
	if h.binary != nil {
		h.binary(c, k.inStream)
	}
	return k.inStream
}

// StreamChunk implements engine.Events.
func (e *events) StreamChunk(p []byte) { e.cold.Load().inStream.chunk(p) }

// StreamEnd implements engine.Events.
func (e *events) StreamEnd(err error) { e.cold.Load().inStream.end(err) }

// Drained implements engine.Events.
func (e *events) Drained() {
	c := (*Conn)(e)
	c.outStreamDrained()
	c.drainHandler()
}

// outStreamDrained wakes an OutStream waiting for room in the send queue.
func (c *Conn) outStreamDrained() {
	if k := c.cold.Load(); k != nil {
		if os := k.outStream.Load(); os != nil {
			os.drained()
		}
	}
}

func (c *Conn) drainHandler() {
	if fn := c.handlers().drain; fn != nil {
		fn(c)
	}
}

// Pong implements engine.Events.
func (e *events) Pong(p []byte) {
	c := (*Conn)(e)
	if fn := c.handlers().pong; fn != nil {
		fn(c, p)
	}
}

// Error implements engine.Events.
func (e *events) Error(err error) {
	c := (*Conn)(e)
	c.logEnd(err) // logging.go
	err = eventError(err)
	k := c.lockEarly()
	fn := c.handlers().err
	if k != nil {
		if fn == nil {
			k.lateEvents().err = err // a client's caller may not have set its handler yet: keep it
		}
		k.early.Unlock()
	}
	if fn != nil {
		fn(c, err)
	}
}

// Closed implements engine.Events.
func (e *events) Closed(opened bool, code codec.CloseCode, reason []byte, err error) {
	c := (*Conn)(e)
	if k := c.cold.Load(); k != nil && k.afterClose != nil {
		defer k.afterClose(int(code), string(reason))
	}
	c.handshakeOver()
	c.abandonOutStream()
	c.cancelContext() // context.go
	if c.server != nil {
		// Out of Connections before the close handler runs, as in the original; the server's own
		// close event waits until the handler has run.
		c.server.unregister(c)
		defer c.server.socketDone()
	}
	if !opened && c.server != nil {
		c.logEnd(err) // the user never knew the connection: its end is only logged
		return
	}
	k := c.lockEarly()
	fn := c.handlers().close
	if k != nil {
		if fn == nil {
			k.lateEvents().close = &closeEvent{int(code), string(reason)} // kept for OnClose too
		}
		k.early.Unlock()
	}
	if fn != nil {
		fn(c, int(code), string(reason))
	}
}

// abandonOutStream cuts the OutStream being sent, if any: the connection closed.
func (c *Conn) abandonOutStream() {
	if k := c.cold.Load(); k != nil {
		if os := k.outStream.Swap(nil); os != nil {
			os.abandon()
		}
	}
}

// lateEvents are a client connection's events that came before their handler was set.
type lateEvents struct {
	err   error
	close *closeEvent
}

// lateEvents returns the client connection's late events, making them on first use. k.early is
// held.
func (k *coldState) lateEvents() *lateEvents {
	if k.late == nil {
		k.late = &lateEvents{}
	}
	return k.late
}

// closeEvent is a close event that found no handler yet.
type closeEvent struct {
	code   int
	reason string
}
