package api

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

var (
	binaryFragmentation atomic.Int64
	maxBufferLength     atomic.Int64
)

func init() {
	binaryFragmentation.Store(512 << 10)
	maxBufferLength.Store(2 << 20)
}

// SetBinaryFragmentation sets the default minimum size of one fragment of a binary message sent
// with BeginBinary: an OutStream accumulates written bytes until it holds at least this many, then
// sends them as one frame. It applies to streams begun afterwards; options can override it per
// server. The default is 512 KiB.
func SetBinaryFragmentation(bytes int) { binaryFragmentation.Store(int64(bytes)) }

// SetMaxBufferLength sets the default limit on a received message (and on a frame's declared
// length): past it the connection is closed with 1009. The value is read when a server is
// created (CreateServer) or a client connects (Connect), so a change applies to servers and
// clients created afterwards; a server created before keeps its limit for all its connections,
// new ones included. ServerOptions.MaxBufferLength and ClientOptions.MaxBufferLength override it.
// The default is 2 MiB.
func SetMaxBufferLength(bytes int) { maxBufferLength.Store(int64(bytes)) }

// ServerOptions configures a server. The zero value (or a nil pointer) means the defaults.
type ServerOptions struct {
	// ValidProtocols lists the subprotocols the server accepts. The server picks the first
	// protocol of the client's list that appears here (the client's order decides). Ignored when
	// SelectProtocol is set.
	ValidProtocols []string
	// SelectProtocol chooses the subprotocol from those the client offered, in the client's order;
	// it returns "" for none. It runs only when the client offered protocols. A choice the client
	// did not offer is not sent (RFC 6455 section 4.2.2). It runs on the connection's loop: while
	// it blocks, no other connection of that loop makes progress.
	SelectProtocol func(c *Conn, protocols []string) string
	// Handshake, when set, runs before the server answers an upgrade request, with the Path,
	// Headers, Protocols and remote address of c filled in. It returns headers to add to the 101
	// response, or an error to refuse: an *HTTPError answers with its status, headers and body, any
	// other error with 403 Forbidden. It runs on the connection's loop: while it blocks (a
	// database look-up, say), no other connection of that loop makes progress, so hand slow checks
	// to a cache, answer from memory, use HandshakeLater, or set an Executor, which runs it on a
	// worker.
	Handshake func(c *Conn) (http.Header, error)
	// HandshakeLater, when set, decides on an upgrade request as Handshake does, but may answer
	// later, from any goroutine (an asynchronous authentication, say): it runs on the loop and
	// must return at once, and the request is answered once reply is called with what Handshake
	// would have returned. Meanwhile the connection reads nothing and HandshakeTimeout still
	// counts: without a reply by then, the connection ends as a handshake that timed out. A second
	// reply, or one after the connection ended, is ignored. It replaces Handshake when both are set.
	HandshakeLater func(c *Conn, reply func(header http.Header, err error))
	// OriginPatterns lets browsers on other sites open connections. By default an upgrade request
	// whose Origin header names a host other than the request's Host is refused with 403
	// Forbidden, as gorilla/websocket and coder/websocket do, against cross-site WebSocket
	// hijacking (a page elsewhere connecting with the user's cookies); a request with no Origin,
	// as from most non-browser clients, is let in. Each pattern is matched with path.Match against
	// the Origin's host (with its port, if the Origin has one), in any case: "example.com",
	// "*.example.com", "localhost:*". An Origin without a host ("null", sent by sandboxed frames
	// and file: pages) matches no pattern. A malformed pattern makes CreateServer panic. The check
	// runs before SelectProtocol and the Handshake hooks, which see only allowed requests.
	OriginPatterns []string
	// CheckOrigin, when set, is asked about each request whose Origin the same-host rule and
	// OriginPatterns refuse, with the Origin header's value as sent ("null" included); true lets
	// the request go on. c has its Path, Headers (Host among them) and remote address. It runs on
	// the connection's loop even with an Executor, so it must not block. A CheckOrigin that always
	// returns true turns the check off: do that only for a server that authenticates nothing by
	// cookies or other ambient credentials.
	CheckOrigin func(c *Conn, origin string) bool
	// Executor, when set, runs the connections' handlers (Handshake and HandshakeLater included) on
	// its workers instead of the loop, so that they may block; see Executor for what it
	// guarantees and costs.
	Executor *Executor
	// HTTPHandler, when set, serves plain HTTP requests that reach the server's port (requests that
	// are not WebSocket upgrades); without it they are answered 400 Bad Request. A request body
	// may be at most 64 KiB, with a Content-Length. The handler runs on the connection's loop and
	// its response is buffered: while it blocks, no other connection of that loop makes progress,
	// so serve anything slow from a net/http server of its own (see Server.ServeHTTP for mounting).
	HTTPHandler http.Handler
	// DeferAccept, on a plain TCP listener on Linux, has the kernel hand over a connection only
	// once its upgrade request has come (TCP_DEFER_ACCEPT), and, when no handshake hook of yours
	// runs (Handshake, HandshakeLater, SelectProtocol and CheckOrigin are nil), answers the
	// request on the accepting goroutine before the connection goes to its loop: the 101 does not
	// wait for a loop, a busy one included, and an upgrade costs less CPU (bench/RESULTS.md, the
	// upgrade section). A request head over 4 KiB, or one that comes in pieces, is answered on its
	// loop as usual. The connection event still runs on the loop, first. The price: a client
	// that connects and sends nothing is handed over only after about a second (one SYN-ACK
	// retransmission), when HandshakeTimeout starts; until then the server does not know of it, so
	// Shutdown cannot close it (the kernel drops it with the listener, without telling the
	// client). Off by default; TLS listeners ignore it, and a build with -tags wsloop_nolinkname
	// defers the accept but answers on the loop.
	DeferAccept bool
	// TLSConfig, when set, makes a secure server (the original's secure: true): connections speak
	// TLS with this configuration, its certificate hooks (GetCertificate, GetConfigForClient)
	// included, and the TLS handshake counts against HandshakeTimeout. TLS connections run on a
	// reader goroutine each (gnet has no TLS), plus a writer while output is pending, so they cost
	// more memory than plain ones.
	TLSConfig *tls.Config
	// MaxBufferLength overrides SetMaxBufferLength for this server.
	MaxBufferLength int
	// BinaryFragmentation overrides SetBinaryFragmentation for this server.
	BinaryFragmentation int
	// HandshakeTimeout bounds the opening handshake (default 10 s).
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the upgrade request's head: its request line, header lines and the
	// empty line that ends them (default 8 KiB). A longer head is refused with 431 Request Header
	// Fields Too Large, as is one of more than 64 header lines. Raise it for sites with large
	// cookies. Mounted on net/http (ServeHTTP), net/http's own limit (http.Server.MaxHeaderBytes)
	// applies first, then this one to the head as net/http read it.
	MaxHeaderBytes int
	// CloseTimeout bounds the closing handshake and the drain of queued output (default 5 s).
	CloseTimeout time.Duration
	// MaxQueuedBytes caps the memory a connection's output may hold: frames queued and not yet
	// taken by the kernel, control frames included, with the transport's buffers (default 16
	// MiB). A data message that would pass it is refused with ErrQueueFull (OnDrain tells when to
	// resume). Control frames (pongs, close) are never dropped: while they keep the output over
	// the cap, the connection stops reading, so a peer that sends pings and reads nothing is
	// throttled by TCP, and a connection whose output does not get back under the cap within
	// CloseTimeout is closed (OnError with a drain timeout, then OnClose). So no peer can make a
	// connection hold more than the cap plus about one read buffer. A single message larger than
	// the cap can never be sent.
	MaxQueuedBytes int
	// CloseSlowConnections makes a send past MaxQueuedBytes end the connection (OnError with
	// ErrQueueFull, then OnClose with 1006) instead of refusing the message. What counts is what
	// the kernel has not taken yet, so a burst of broadcasts or publications larger than the cap
	// plus the socket's buffers ends even a peer that reads as fast as it can: size the cap for
	// the largest burst.
	CloseSlowConnections bool
	// PingInterval, when nonzero, sends a ping (with no payload) once nothing was received from
	// the peer for that long; the first ping of a connection comes at a point of the first
	// interval chosen per connection, so that connections accepted together do not ping together.
	// The peer's answers reach OnPong. Off by default. Pings cost no timer or goroutine per
	// connection: a coarse wheel per loop checks a timestamp, so they may come up to a wheel tick
	// (100 ms) late.
	PingInterval time.Duration
	// PongTimeout, when nonzero with PingInterval, ends a connection from which nothing arrived
	// (a pong, or any other byte: all of it proves the peer alive) within that long after a ping:
	// OnError with ErrPongTimeout, then OnClose with 1006, at once, as Node's ws terminates it. So
	// a peer that vanished without a FIN is closed within PingInterval + PongTimeout of its last
	// byte, plus the wheel's lateness (under one tick of 100 ms). The timeout counts from when the
	// ping was due, so a late ping leaves the peer up to a tick less: keep it well above 100 ms.
	// Off by default.
	PongTimeout time.Duration
	// IdleTimeout, when nonzero, closes a connection from which nothing arrived for that long:
	// OnError with ErrIdleTimeout, then a close handshake with 1001 (going away), bounded by
	// CloseTimeout. Only what the peer sends counts, pongs included (what the server sends
	// reaches the kernel even when the peer is gone), so a peer that answers PingInterval's pings
	// is never idle. While the input is paused (PauseInput) the peer counts as heard. Off by
	// default.
	IdleTimeout time.Duration
	// KeepHeaders chooses which request headers a connection keeps for Headers once its
	// connection handler (OnConnection) has returned; before that, in the Handshake and
	// SelectProtocol hooks and in the handler, every header is there. It is called on the loop
	// with each header's canonical name (http.CanonicalHeaderKey) and keeps those it returns true
	// for. nil keeps every header, as the original's conn.headers does; KeepNoHeaders keeps none,
	// KeepHeaderNames the ones it names. Keeping a browser's headers (a head of about 500 bytes)
	// costs about 470 bytes of RSS per idle connection for its whole life (bench/RESULTS.md, the
	// idle section, measured with loadgen idle -head-bytes).
	KeepHeaders func(name string) bool
	// Logger, when set, receives a record of what the server otherwise drops or only counts:
	// failed accepts and connections past the descriptor cap (Warn), a handler's panic with its
	// stack (Error), a connection closed by the slow-connection policy (Info) or by keepalive
	// (Debug), failed TLS handshakes (Debug, since scanners make them all day on a public
	// port), and the Broker's refusals (Warn). The listener's and the broker's records are limited
	// to 10 a second per kind; nothing else is logged per message. Each kind has a stable message
	// (LogHandlerPanic and the other Log constants) and attributes: remote, path, error,
	// close_code, reason, topic. nil, the default, logs nothing and costs nothing.
	Logger *slog.Logger
	// Deflate, when set, accepts permessage-deflate from clients that offer it (see
	// DeflateOptions); nil, the default, declines it.
	Deflate *DeflateOptions
	// Broker, when set, carries the server's topics across the nodes of a service (see Broker):
	// what Publish and PublishPrepared send also reaches the subscribers on the other nodes, and
	// what those publish reaches the subscribers here. CreateServer opens it; if Open fails, the
	// server serves nothing: Listen, Serve and ListenAndServe return Open's error (and report it to
	// the error event), and ServeHTTP answers 503 Service Unavailable. Close closes it, and from
	// then on the topics stay in the process. A publication the broker refuses is counted
	// (Stats.BrokerPublishErrors) and logged (LogBrokerPublishFailed). nil, the default, keeps
	// topics in the process.
	Broker Broker
	// OnBrokerGap, when set, is told of the publications that Broker reports may have been lost on
	// their way to this node (see BrokerGap). It runs on the broker's goroutine, under no lock of
	// the server, and must not block for long.
	OnBrokerGap func(BrokerGap)
	// SequencedPayload, when set, makes what the subscribers receive of a publication that a
	// HistoryBroker numbered (BrokerMessage.TopicSeq), so that a client learns the number to
	// recover from (Conn.SubscribeFrom): it returns the payload to send, of the publication's
	// type, for one publication of topic numbered seq. It runs once per publication per node
	// (and once per publication a recovering connection replays), from any goroutine; what it
	// returns is copied, so it may reuse its buffer only if it is safe for concurrent use. nil
	// sends the payload as published.
	SequencedPayload func(topic string, seq uint64, payload []byte) []byte
}

// KeepNoHeaders is a ServerOptions.KeepHeaders that keeps no header: Headers returns nil once the
// connection handler has returned.
func KeepNoHeaders(string) bool { return false }

// KeepHeaderNames returns a ServerOptions.KeepHeaders that keeps the headers named, in any case.
func KeepHeaderNames(names ...string) func(name string) bool {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[http.CanonicalHeaderKey(n)] = true
	}
	return func(name string) bool { return keep[name] }
}

// HTTPError refuses a handshake with an HTTP response. Return it from ServerOptions.Handshake.
type HTTPError struct {
	Status int
	Header http.Header
	Body   string
}

// Error describes the refusal.
func (e *HTTPError) Error() string {
	return "websocket: handshake refused: " + http.StatusText(e.Status)
}
