package api

import (
	"context"
	"crypto/tls"
	"errors"
	"iter"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/poller"
)

// Server accepts WebSocket connections. Create it with CreateServer.
type Server struct {
	opts     ServerOptions
	origins  originPolicy // from opts (origin.go)
	cfg      engine.Config
	counters engine.Counters // see Stats
	h        atomic.Pointer[handlers]

	onListening atomic.Pointer[func(*Server)]
	onClose     atomic.Pointer[func(*Server)]
	onError     atomic.Pointer[func(*Server, error)]
	onConn      atomic.Pointer[func(*Conn)]

	link      *brokerLink // to opts.Broker, nil without one (brokerlink.go)
	brokerErr error       // what opts.Broker's Open returned: the server serves nothing

	mu       sync.Mutex
	ln       *poller.Listener
	sockets  int  // accepted sockets not closed yet, handshake or not
	closing  bool // Close was called
	closeCbs []func(*Server)
	fired    bool          // the close event fired
	ended    chan struct{} // closed once the close event has run

	// The registry of accepted sockets: each is in handshakes from accept until its handshake
	// succeeds, then in the shard of its loop until its close is reported.
	regMu      sync.RWMutex
	shards     []*shard           // open connections, in Connections: one part per loop (shard.go)
	handshakes map[*Conn]net.Conn // connections in their handshake, with their raw socket
	handPeak   int                // the most handshakes at once since handshakes was made
	stopping   bool               // Shutdown swept the registry: a socket taken on later ends at once
}

// CreateServer returns a server with opts (nil for the defaults) whose connection event runs
// onConnection (nil for none). Call Listen to start it.
func CreateServer(opts *ServerOptions, onConnection func(c *Conn)) *Server {
	s := &Server{ended: make(chan struct{})}
	if opts != nil {
		s.opts = *opts
	}
	s.origins = newOriginPolicy(&s.opts)
	s.cfg = engine.Config{
		Role:             codec.ServerRole,
		MaxHead:          s.opts.MaxHeaderBytes,
		MaxMessage:       int64(s.opts.MaxBufferLength),
		HandshakeTimeout: s.opts.HandshakeTimeout,
		CloseTimeout:     s.opts.CloseTimeout,
		MaxQueue:         int64(s.opts.MaxQueuedBytes),
		CloseSlow:        s.opts.CloseSlowConnections,
		Counters:         &s.counters,
		PingInterval:     s.opts.PingInterval,
		PongTimeout:      s.opts.PongTimeout,
		IdleTimeout:      s.opts.IdleTimeout,
		Deflate:          s.opts.Deflate.engineConfig(),
		AnswerOnAccept: s.opts.Handshake == nil && s.opts.HandshakeLater == nil && s.opts.SelectProtocol == nil &&
			s.opts.CheckOrigin == nil,
	}
	if s.cfg.MaxMessage <= 0 {
		s.cfg.MaxMessage = maxBufferLength.Load()
	}
	s.h.Store(&handlers{})
	if onConnection != nil {
		s.OnConnection(onConnection)
	}
	s.link, s.brokerErr = openBroker(s, s.opts.Broker)
	return s
}

// OnListening sets the handler of the listening event.
func (s *Server) OnListening(fn func(s *Server)) { s.onListening.Store(&fn) }

// OnClose sets the handler of the close event: the server stopped listening and every connection
// it accepted has ended.
func (s *Server) OnClose(fn func(s *Server)) { s.onClose.Store(&fn) }

// OnError sets the handler of server errors: a failed Listen, and on a secure server each failed
// TLS handshake (a *poller.TLSHandshakeError), which runs on that connection's goroutine.
func (s *Server) OnError(fn func(s *Server, err error)) { s.onError.Store(&fn) }

// OnConnection sets the handler that runs when a client's handshake succeeded. Handlers the
// connection sets here apply to it alone; see also the OnText family on Server.
func (s *Server) OnConnection(fn func(c *Conn)) { s.onConn.Store(&fn) }

func (s *Server) set(edit func(*handlers)) { setHandler(&s.h, func() *handlers { return nil }, edit) }

// OnText sets the text handler of every connection that does not set its own.
func (s *Server) OnText(fn func(c *Conn, text string)) { s.set(func(h *handlers) { h.text = fn }) }

// OnBinary sets the binary handler of every connection that does not set its own.
func (s *Server) OnBinary(fn func(c *Conn, in *InStream)) {
	s.set(func(h *handlers) { h.binary = fn })
}

// OnMessage sets the zero-copy message handler of every connection that does not set its own.
func (s *Server) OnMessage(fn func(c *Conn, typ MessageType, payload []byte)) {
	s.set(func(h *handlers) { h.message = fn })
}

// OnPong sets the pong handler of every connection that does not set its own.
func (s *Server) OnPong(fn func(c *Conn, data []byte)) { s.set(func(h *handlers) { h.pong = fn }) }

// OnDrain sets the drain handler of every connection that does not set its own.
func (s *Server) OnDrain(fn func(c *Conn)) { s.set(func(h *handlers) { h.drain = fn }) }

// OnConnClose sets the close handler of every connection that does not set its own.
func (s *Server) OnConnClose(fn func(c *Conn, code int, reason string)) {
	s.set(func(h *handlers) { h.close = fn })
}

// OnConnError sets the error handler of every connection that does not set its own.
func (s *Server) OnConnError(fn func(c *Conn, err error)) { s.set(func(h *handlers) { h.err = fn }) }

// Listen binds host:port (host "" for every address, port 0 for a free port) and starts
// accepting. onListening, if not nil, runs once bound, after the listening event. A failure is
// returned and reported to the error event.
func (s *Server) Listen(port int, host string, onListening func(s *Server)) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return s.fail(err)
	}
	return s.Serve(ln, onListening)
}

// Serve accepts connections on ln, a TCP listener, like Listen.
func (s *Server) Serve(ln net.Listener, onListening func(s *Server)) error {
	if s.brokerErr != nil {
		ln.Close()
		return s.fail(s.brokerErr)
	}
	p, err := poller.Default()
	if err != nil {
		ln.Close()
		return s.fail(err)
	}
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		ln.Close()
		return s.fail(ErrServerClosed)
	case s.ln != nil:
		s.mu.Unlock()
		ln.Close()
		return s.fail(ErrServerListening)
	}
	s.ln = p.Serve(ln, s.newSession, s.serveOptions()) // logging.go
	s.mu.Unlock()
	if fn := s.onListening.Load(); fn != nil && *fn != nil {
		(*fn)(s)
	}
	if onListening != nil {
		onListening(s)
	}
	return nil
}

func (s *Server) handshakeTimeout() time.Duration {
	if s.opts.HandshakeTimeout > 0 {
		return s.opts.HandshakeTimeout
	}
	return engine.DefaultHandshakeTimeout
}

func (s *Server) fail(err error) error {
	if fn := s.onError.Load(); fn != nil && *fn != nil {
		(*fn)(s, err)
	}
	return err
}

// Addr returns the address the server listens on, nil before Listen. This is the original's
// server.socket.address().
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops accepting new connections (they are refused) and leaves open ones alone. The close
// event, and onClose if not nil, run once the last accepted connection has ended (at once when
// there is none). It closes ServerOptions.Broker, once the calls to it in flight are done. A
// second Close returns ErrServerClosed.
func (s *Server) Close(onClose func(s *Server)) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closing = true
	if onClose != nil {
		s.closeCbs = append(s.closeCbs, onClose)
	}
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.link.close()
	s.maybeFireClose()
	return nil
}

// Shutdown stops the server gracefully: it stops accepting (as Close), sends every open
// connection a close frame with 1001 "server shutting down", ends every connection still in its
// handshake (TLS or WebSocket) at once, and waits until every socket has ended and the close event
// has run; then it returns nil. Each closing handshake is itself bounded by CloseTimeout, so with
// a ctx longer than that Shutdown returns nil against any peer, over TLS too, reading or not. If
// ctx ends first, the connections still open are closed at once, without waiting for their
// closing handshakes, and ctx's error is returned without waiting for them to end. It may follow
// a Close.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.Close(nil); err != nil && !errors.Is(err, ErrServerClosed) {
		return err
	}
	open, handshakes := s.stopRegistry()
	for _, c := range open {
		c.Close(int(codec.CloseGoingAway), "server shutting down")
	}
	for c, raw := range handshakes {
		c.endHandshake(raw)
	}
	select {
	case <-s.ended:
		return nil
	case <-ctx.Done():
	}
	for c := range s.Connections() {
		c.ec.Terminate()
	}
	return ctx.Err()
}

// stopRegistry marks the registry as swept by Shutdown and returns what it holds: the open
// connections and those in their handshake. Sockets taken on from now on end at once (newConn),
// so that none escapes Shutdown.
func (s *Server) stopRegistry() ([]*Conn, map[*Conn]net.Conn) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.stopping = true
	var open []*Conn
	for _, sh := range s.shards {
		sh.each(func(c *Conn) bool { open = append(open, c); return true })
	}
	return open, maps.Clone(s.handshakes)
}

// endHandshake ends a connection still in its handshake, at once and from any goroutine, whether
// or not its loop has taken it yet: Terminate is honoured before enrollment, during the request's
// parse and after, and closing raw, its TCP socket, ends a TLS handshake, which runs before the
// engine sees the connection.
func (c *Conn) endHandshake(raw net.Conn) {
	c.ec.Terminate()
	raw.Close()
}

// maybeFireClose fires the close event once the server is closing and no socket is left.
func (s *Server) maybeFireClose() {
	s.mu.Lock()
	if !s.closing || s.sockets > 0 || s.fired {
		s.mu.Unlock()
		return
	}
	s.fired = true
	cbs := s.closeCbs
	s.closeCbs = nil
	s.mu.Unlock()
	if fn := s.onClose.Load(); fn != nil && *fn != nil {
		(*fn)(s)
	}
	for _, cb := range cbs {
		cb(s)
	}
	close(s.ended)
}

// Connections returns the open connections (handshake done, close not yet reported). It
// allocates nothing; slices.Collect makes a snapshot. The iteration holds a read lock: the loop
// body must not block, and must not call Connections again.
func (s *Server) Connections() iter.Seq[*Conn] {
	return s.eachConn
}

func (s *Server) eachConn(yield func(*Conn) bool) {
	for _, sh := range s.shardList() {
		if !sh.each(yield) {
			return
		}
	}
}

// shardList returns the parts of the registry. Parts are only ever added.
func (s *Server) shardList() []*shard {
	s.regMu.RLock()
	defer s.regMu.RUnlock()
	return s.shards
}

// shardOf returns the part of the registry for the connections of loop l (nil: without a loop),
// making it on first use. s.regMu is held.
func (s *Server) shardOf(l *poller.Loop) *shard {
	for _, sh := range s.shards {
		if sh.loop == l {
			return sh
		}
	}
	sh := newShard(l, s.link)
	s.shards = append(s.shards, sh)
	return sh
}

// newSession makes the connection object of an accepted socket (on the accept goroutine).
func (s *Server) newSession(nc net.Conn) poller.Session { return &s.newConn(nc).ec }

// newConn makes the connection object of a socket the server takes on (nc, a TCP connection or a
// TLS connection over one), counts the socket in and registers it as in its handshake; after
// Shutdown swept the registry, it ends it at once instead.
func (s *Server) newConn(nc net.Conn) *Conn {
	c := newConnFor(nc) // hosted.go
	c.server, c.regIndex = s, -1
	c.ec.Init(&s.cfg, c.engineEvents(s.opts.Executor))
	s.mu.Lock()
	s.sockets++
	s.mu.Unlock()
	raw := nc
	if tc, ok := nc.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	s.regMu.Lock()
	stopping := s.stopping
	if !stopping {
		if s.handshakes == nil {
			s.handshakes = make(map[*Conn]net.Conn)
		}
		s.handshakes[c] = raw
		s.handPeak = max(s.handPeak, len(s.handshakes))
	}
	s.regMu.Unlock()
	if stopping {
		c.endHandshake(raw)
	}
	return c
}

// handshake decides on an upgrade request: Origin, subprotocol, then the user's hook.
func (s *Server) handshake(c *Conn, req *codec.Request) engine.Verdict {
	c.path = string(req.Target)
	c.keepHeaders(req.Headers())
	if !s.origins.allows(c, req) {
		return refuseOrigin()
	}
	var protocols []string
	for p := range req.Protocols {
		protocols = append(protocols, string(p))
	}
	var v engine.Verdict
	if len(protocols) > 0 {
		k := c.coldState()
		k.protocols = protocols
		k.protocol = s.selectProtocol(c, protocols)
		v.Protocol = k.protocol
	}
	switch {
	case s.opts.Handshake == nil && s.opts.HandshakeLater == nil:
		return v
	case s.opts.HandshakeLater != nil || s.opts.Executor != nil:
		return s.handshakeLater(c, v)
	}
	hdr, err := s.opts.Handshake(c)
	return verdict(v, hdr, err)
}

// verdict adds to v the answer of a handshake hook: refuse with err, or accept with hdr.
func verdict(v engine.Verdict, hdr http.Header, err error) engine.Verdict {
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) {
			he = &HTTPError{Status: http.StatusForbidden, Body: http.StatusText(http.StatusForbidden) + "\n"}
		}
		v.Refuse, v.Header, v.Body = he.Status, fields(he.Header), []byte(he.Body)
		return v
	}
	v.Header = fields(hdr)
	return v
}

// selectProtocol chooses among the protocols c's client offered.
func (s *Server) selectProtocol(c *Conn, protocols []string) string {
	var chosen string
	switch {
	case s.opts.SelectProtocol != nil:
		chosen = s.opts.SelectProtocol(c, protocols)
	case s.opts.ValidProtocols != nil:
		for _, p := range protocols {
			for _, v := range s.opts.ValidProtocols {
				if p == v {
					return p
				}
			}
		}
	}
	for _, p := range protocols {
		if p == chosen {
			return chosen
		}
	}
	return ""
}

// fields flattens a header map into the codec's name and value pairs, names in sorted order so
// that what goes on the wire does not depend on map order.
func fields(h http.Header) []codec.HeaderField {
	var out []codec.HeaderField
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			out = append(out, codec.HeaderField{Name: name, Value: v})
		}
	}
	return out
}

// opened registers a connection whose handshake succeeded as open and fires the connection event;
// then the connection keeps only the headers KeepHeaders chooses.
func (s *Server) opened(c *Conn) {
	s.regMu.Lock()
	s.forgetHandshakeLocked(c)
	sh := s.shardOf(c.ec.Loop())
	s.regMu.Unlock()
	c.shard.Store(sh)
	sh.add(c)
	if fn := s.onConn.Load(); fn != nil && *fn != nil {
		(*fn)(c)
	}
	c.trimHeaders(s.opts.KeepHeaders)
}

// handshakesKept is how many handshakes at once a drained handshakes map may have held and still
// be kept: one that grew past it in a burst is dropped once empty, since a Go map never gives its
// buckets back.
const handshakesKept = 256

// forgetHandshakeLocked takes c out of the handshakes in progress. s.regMu is held.
func (s *Server) forgetHandshakeLocked(c *Conn) {
	delete(s.handshakes, c)
	if len(s.handshakes) == 0 && s.handPeak > handshakesKept {
		s.handshakes, s.handPeak = nil, 0
	}
}

// unregister takes a connection out of the registry (and so out of Connections), and out of its
// topics.
func (s *Server) unregister(c *Conn) {
	s.regMu.Lock()
	s.forgetHandshakeLocked(c)
	s.regMu.Unlock()
	if sh := c.shard.Load(); sh != nil {
		sh.remove(c)
	}
}

// socketDone counts an accepted socket out, once its connection's close event has run.
func (s *Server) socketDone() {
	s.mu.Lock()
	s.sockets--
	s.mu.Unlock()
	s.maybeFireClose()
}
