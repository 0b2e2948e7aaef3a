package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/poller"
)

// The messages of the records a Logger (ServerOptions.Logger, ClientOptions.Logger) receives,
// one stable text per kind, so that a log pipeline can match on them.
const (
	// LogHandlerPanic (Error): a handler panicked; the connection was closed with 1011. The
	// record has the panic value and the stack.
	LogHandlerPanic = "websocket: handler panic"
	// LogSlowClosed (Info): the slow-connection policy closed a connection, for a send past
	// MaxQueuedBytes under CloseSlowConnections ("queue full") or an output over the cap that did
	// not drain within CloseTimeout ("drain timeout").
	LogSlowClosed = "websocket: slow connection closed"
	// LogKeepaliveClosed (Debug): keepalive closed a connection, for no pong within PongTimeout
	// ("pong timeout") or nothing received within IdleTimeout ("idle timeout").
	LogKeepaliveClosed = "websocket: keepalive closed connection"
	// LogHandshakeTimeout (Debug): a client connection's opening handshake did not finish within
	// HandshakeTimeout. (A server connection's handshake timeout is not logged: the engine does
	// not report errors of connections the user does not know yet.)
	LogHandshakeTimeout = "websocket: handshake timed out"
	// LogTLSHandshakeFailed (Debug, at most 10 a second): a TLS handshake of an accepted
	// connection failed.
	LogTLSHandshakeFailed = "websocket: TLS handshake failed"
	// LogAcceptFailed (Warn, at most 10 a second): accepting a connection failed (EMFILE,
	// ENFILE...); the record has the pause before the next attempt.
	LogAcceptFailed = "websocket: accept failed"
	// LogConnCap (Warn, at most 10 a second): an accepted connection was closed at once,
	// the process being at its connection cap (its descriptor limit less a reserve).
	LogConnCap = "websocket: connection refused at the descriptor cap"
)

// The attribute keys of the records: a connection's records have remote (its peer's address)
// and path (its request target), then error, reason (a short stable text: "queue full", "idle
// timeout"...) and close_code (the code the connection is closed with, 1006 for none sent), or
// panic and stack; the listener's have remote and error, backoff (the pause before the next
// accept) and suppressed (the records the limit dropped before this one).
const (
	logKeyRemote    = "remote"
	logKeyPath      = "path"
	logKeyError     = "error"
	logKeyCloseCode = "close_code"
	logKeyReason    = "reason"
	logKeyPanic     = "panic"
	logKeyStack     = "stack"
	logKeyBackoff   = "backoff"
	logKeyDropped   = "suppressed"
)

// connEnd is how a kind of error that ends a connection is logged.
type connEnd struct {
	err    error
	level  slog.Level
	msg    string
	reason string
	code   int // the close code the connection ends with
}

// connEnds are the policy closes that are logged, with their level: the slow-connection policy at
// Info (the server gave up on a peer), keepalive and handshake timeouts at Debug (peers that
// vanish are routine on any public server). Other errors that end a connection (protocol
// violations, socket errors) are the peer's doing and are not logged.
var connEnds = [...]connEnd{
	{engine.ErrQueueFull, slog.LevelInfo, LogSlowClosed, "queue full", 1006},
	{engine.ErrDrainTime, slog.LevelInfo, LogSlowClosed, "drain timeout", 1006},
	{engine.ErrPongTimeout, slog.LevelDebug, LogKeepaliveClosed, "pong timeout", 1006},
	{engine.ErrIdleTimeout, slog.LevelDebug, LogKeepaliveClosed, "idle timeout", 1001},
	{engine.ErrHandshakeTime, slog.LevelDebug, LogHandshakeTimeout, "handshake timeout", 1006},
}

// logger returns the Logger of c's server or client, nil for none.
func (c *Conn) logger() *slog.Logger {
	if c.server != nil {
		return c.server.opts.Logger
	}
	if k := c.cold.Load(); k != nil {
		return k.logger
	}
	return nil
}

// logEnd logs err, the error that ends c, when it is a handler's panic or a policy close. It runs
// once per connection at most, never per message, and costs a nil check without a Logger.
func (c *Conn) logEnd(err error) {
	l := c.logger()
	if l == nil {
		return
	}
	var pe *engine.PanicError
	if errors.As(err, &pe) {
		c.log(l, slog.LevelError, LogHandlerPanic, slog.String(logKeyPanic, fmt.Sprint(pe.Value)),
			slog.Int(logKeyCloseCode, 1011), slog.String(logKeyStack, string(pe.Stack)))
		return
	}
	for _, e := range connEnds {
		if errors.Is(err, e.err) {
			c.log(l, e.level, e.msg, slog.String(logKeyReason, e.reason), slog.Int(logKeyCloseCode, e.code),
				slog.String(logKeyError, err.Error()))
			return
		}
	}
}

// log writes one record about c: its remote address and path, then attrs.
func (c *Conn) log(l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	ctx := c.logContext()
	if !l.Enabled(ctx, level) {
		return
	}
	remote := ""
	if a := c.RemoteAddr(); a != nil {
		remote = a.String()
	}
	attrs = append([]slog.Attr{slog.String(logKeyRemote, remote), slog.String(logKeyPath, c.path)}, attrs...)
	l.LogAttrs(ctx, level, msg, attrs...)
}

// logBurst is how many records of one listener-level kind (failed TLS handshakes, failed
// accepts, connections past the cap) a second may log: a flood of them, which a scanner or a
// descriptor shortage makes, is not a flood of records. The first record after a second that
// dropped some says how many, in "suppressed".
const logBurst = 10

// logLimit lets through at most logBurst records a second.
type logLimit struct {
	mu      sync.Mutex
	window  time.Time // the start of the current second
	n       int       // records let through in it
	dropped int       // records dropped since the last one let through
}

// allow reports whether a record may be logged now, and how many were dropped before it.
func (r *logLimit) allow(now time.Time) (ok bool, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n == logBurst {
		r.dropped++
		return false, 0
	}
	r.n++
	dropped, r.dropped = r.dropped, 0
	return true, dropped
}

// listenerLog logs what a server's listener reports, each kind under its own limit.
type listenerLog struct {
	l                 *slog.Logger
	tls, accept, capd logLimit
}

// serveOptions returns the options of s's accept loop: TLS, the handshake bound, and the hooks
// that report to the error event and to the Logger.
func (s *Server) serveOptions() poller.ServeOptions {
	o := poller.ServeOptions{TLS: s.opts.TLSConfig, HandshakeTimeout: s.handshakeTimeout(), DeferAccept: s.opts.DeferAccept,
		NewSlot: newSlot} // hosted.go
	ll := &listenerLog{l: s.opts.Logger}
	o.OnTLSError = func(err error) {
		if ll.l != nil {
			ll.tlsFailed(err)
		}
		_ = s.fail(err)
	}
	if ll.l != nil {
		o.OnAcceptError = ll.acceptFailed
	}
	return o
}

// tlsFailed logs a failed TLS handshake, a *poller.TLSHandshakeError.
func (ll *listenerLog) tlsFailed(err error) {
	remote := ""
	var he *poller.TLSHandshakeError
	if errors.As(err, &he) {
		remote, err = he.Remote.String(), he.Err
	}
	ll.log(&ll.tls, slog.LevelDebug, LogTLSHandshakeFailed, slog.String(logKeyRemote, remote),
		slog.String(logKeyError, err.Error()))
}

// acceptFailed logs a failed accept, or a connection closed past the cap.
func (ll *listenerLog) acceptFailed(err error, backoff time.Duration) {
	if errors.Is(err, poller.ErrConnCap) {
		ll.log(&ll.capd, slog.LevelWarn, LogConnCap)
		return
	}
	ll.log(&ll.accept, slog.LevelWarn, LogAcceptFailed, slog.String(logKeyError, err.Error()),
		slog.Duration(logKeyBackoff, backoff))
}

// log writes a record under limit r.
func (ll *listenerLog) log(r *logLimit, level slog.Level, msg string, attrs ...slog.Attr) {
	if !ll.l.Enabled(context.Background(), level) {
		return
	}
	ok, dropped := r.allow(time.Now())
	if !ok {
		return
	}
	if dropped > 0 {
		attrs = append(attrs, slog.Int(logKeyDropped, dropped))
	}
	ll.l.LogAttrs(context.Background(), level, msg, attrs...)
}
