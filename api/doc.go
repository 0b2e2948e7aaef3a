// Package api is the nodejs-websocket surface in Go: a WebSocket server (CreateServer) and client
// (Connect) whose connections run on a shared event loop instead of a goroutine each. Import it as
//
//	ws "github.com/wsloop/wsloop/api"
//
// so that programs read like their Node originals:
//
//	server := ws.CreateServer(nil, func(c *ws.Conn) {
//		c.OnText(func(c *ws.Conn, text string) {
//			c.SendText(strings.ToUpper(text)+"!!!", nil)
//		})
//	})
//	server.Listen(8001, "", nil)
//
// For Go programs, Server.ListenAndServe blocks as net/http's does, and Dial returns an open
// client connection or the error (a *HandshakeError for a refused upgrade); Connect is the
// asynchronous form. ClientOptions.Proxy goes through an HTTP proxy, and ConnectReconnecting
// redials with backoff. ServerOptions.Logger logs what a server drops or refuses, never per
// message, and Conn.Context carries a mounted request's values until the connection closes.
//
// # Events and goroutines
//
// Handlers run on the connection's event loop, in wire order, never two at once for one
// connection; they must not block (hand blocking work to a goroutine). Every method of Server and
// Conn is safe from any goroutine. Handlers set on the Server (OnText, OnMessage...) apply to every
// connection that does not set its own, so one function value serves all connections.
//
// # Handlers that block
//
// A handler that blocks on the loop stalls every connection of that loop. A server (or client)
// whose handlers must block sets an Executor (ServerOptions.Executor, ClientOptions.Executor): each
// connection's handlers then run on a bounded pool of worker goroutines, still one at a time and
// in wire order per connection, and the Handshake hook runs there too. It costs a copy of each
// payload handed to a worker; a connection whose events wait on busy workers beyond a bound stops
// reading, so TCP holds back a peer that outruns its handler. Without an executor, a Handshake
// hook that must wait on something (an asynchronous authentication) uses
// ServerOptions.HandshakeLater, which answers later from any goroutine without holding the loop.
//
// Messages arrive whole through OnText (a string), as a stream of frames through OnBinary (an
// InStream), or, for hot paths, whole and without a copy through OnMessage, whose payload is
// valid only during the call. Sends are queued and written once per loop turn; SendMessage echoes
// a payload without converting it. With OnMessage and SendMessage, a message costs no allocation.
//
// # Fan-out
//
// A PreparedMessage is framed once and sent to any number of connections without a copy:
// Conn.SendPrepared, Server.Broadcast (every connection; BroadcastFunc for those a filter keeps),
// and topics as in uWebSockets (Conn.Subscribe, Server.Publish, Server.PublishPrepared,
// Server.Subscribers). Each event loop delivers with one task per batch of fan-outs and writes
// each connection once; a slow connection gets the send-queue policy alone. Conn.BufferedAmount
// tells what a connection has queued, and Server.Stats the server's counters (refused sends, slow
// and keepalive closes, pings, closes by code) for the user to export.
//
// # Errors
//
// Every error and close code a program meets is declared in this package, in errors.go; nothing
// needs importing from codec or engine. Compare errors with errors.Is and errors.As:
//
//   - The send methods return (and hand their callback) ErrNotOpen, ErrQueueFull,
//     ErrTextWhileStreaming, ErrBinaryWhileStreaming, ErrInvalidText, ErrInvalidData,
//     ErrPingTooLong, ErrClosed or ErrStreamClosed; Close returns ErrInvalidCloseCode or
//     ErrReasonWithoutCode. The first three keep nodejs-websocket's texts.
//   - The error event, before OnClose, reports what ends a connection: a *CloseError for the
//     peer's violation (1002, 1007, or 1009 for ErrMessageTooBig), wrapping the violation;
//     ErrHandshakeTimeout, ErrCloseTimeout, ErrPongTimeout, ErrIdleTimeout, ErrDrainTimeout,
//     ErrQueueFull (CloseSlowConnections) or ErrInputOverflow; a *PanicError; a socket error. A
//     close the peer starts is no error: OnClose alone reports its code and reason.
//   - OnClose reports an int code: the constants CloseNormalClosure to CloseTLSHandshake are
//     IANA's registry, and CloseText gives their names. 1005, 1006 and 1015 are only reported,
//     never sent.
//   - Server methods return ErrServerClosed and ErrServerListening.
//
// # Differences from nodejs-websocket
//
// Where the original breaks RFC 6455 this package follows the RFC; where its behaviour is a
// choice users rely on, it is kept. The differences:
//
//   - close fires exactly once per connection, after the connection is really closed (not when
//     Close is called), with the code and reason the peer sent, 1005 when its close frame had no
//     code, our code after a protocol violation, or 1006 when there was no close frame.
//     ReadyState ends at Closed, never undefined.
//   - Text messages and close reasons are validated as UTF-8: invalid text closes with 1007 at
//     the first bad byte, even across fragments. Characters split across fragments arrive intact.
//   - Pong payloads are the ping's bytes, untouched, and OnPong receives bytes.
//   - Control frames over 125 bytes, fragmented control frames, reserved bits, unknown opcodes,
//     64-bit lengths with the top bit set, invalid close codes and one-byte close payloads close
//     with 1002; SendPing refuses more than 125 bytes. Close refuses codes that may not be sent
//     (its doc comment lists those it takes, the IANA-registered 1012-1014 included) and a reason
//     without a code (ErrReasonWithoutCode) rather than dropping the reason.
//   - The size limit (SetMaxBufferLength, 2 MiB) applies to each frame's declared length and to
//     the running size of a message, whatever the TCP segmentation: past it the connection
//     closes with 1009, once.
//   - A protocol error fires error then close, and the bytes after the bad frame are not parsed;
//     the server closes TCP after the close handshake, and a close we start waits a bounded time
//     (CloseTimeout) for the reply.
//   - The handshake follows RFC 7230 and 6455: header names are case-insensitive and values
//     trimmed, Connection and Upgrade are token lists, the request must be GET over HTTP/1.1 or
//     later with a Host and a Sec-WebSocket-Key of 16 bytes; an unsupported version gets 426 with
//     Sec-WebSocket-Version: 13; the request head is limited (MaxHeaderBytes, 8 KiB, then 431) and
//     must arrive within HandshakeTimeout. Other failures get 400 Bad Request, as in the original.
//   - A browser's upgrade from a page of another origin is refused with 403 (see OriginPatterns);
//     the original took any Origin.
//   - SelectProtocol may only choose a protocol the client offered; another answer sends none.
//   - A Handshake hook can refuse a request with an HTTP status (authentication, Origin checks)
//     or add response headers; plain HTTP requests on the server's port can be served by an
//     http.Handler (HTTPHandler); and a Server is itself an http.Handler, to be mounted on an
//     existing net/http server.
//   - Errors are returned as Go errors and reported to OnError; an error without a handler is
//     dropped, never a panic. Send callbacks are called exactly once, also when the send is
//     refused. Send returns an error like SendText and SendBinary.
//   - An InStream cut off by the connection's end reports ErrTruncated instead of ending normally.
//   - The binary-stream lock is released as soon as OutStream.Close returns, so a SendText right
//     after it succeeds.
//   - Server.Close twice returns ErrServerClosed instead of firing close twice; Server.Shutdown
//     closes every connection with 1001 and waits, within a context.
//   - A connection's output is capped (MaxQueuedBytes, 16 MiB, counted as memory held, control
//     frames included): a data send past it is refused with ErrQueueFull and OnDrain says when to
//     resume, or, with CloseSlowConnections, the connection ends; a peer that makes us queue
//     control frames without reading them is throttled, then closed. The original buffered
//     without limit.
//   - A handler that panics ends its own connection (1011, PanicError), not the process.
//   - SetBinaryFragmentation and SetMaxBufferLength are defaults that ServerOptions and
//     ClientOptions can override per server or client; their doc comments say when a change
//     takes effect.
//
// # Differences from gorilla/websocket's defaults
//
// For someone coming from gorilla/websocket (v1.5.3, its Upgrader and Dialer with zero fields,
// unless named), every default that differs, and the two that are the same but easy to assume
// otherwise:
//
//   - Origin: the same in both. A request whose Origin header's host is not the request's Host
//     (compared in any case; "null" is no host) is refused with 403, and one with no Origin is
//     let in. gorilla opens it up with CheckOrigin, which replaces the rule; here
//     ServerOptions.OriginPatterns (host globs, as coder/websocket's) and CheckOrigin only add to
//     it. gorilla's deprecated package-level Upgrade checks nothing; nothing here does that.
//   - Message size: gorilla reads messages of any size unless SetReadLimit; here a received
//     message (and a frame's declared length) is limited to 2 MiB (SetMaxBufferLength,
//     MaxBufferLength), past which the connection closes with 1009, as gorilla does past its
//     limit.
//   - Text: gorilla does not check received text messages for UTF-8 (only close reasons); here
//     invalid text closes with 1007.
//   - Writes: gorilla allows one concurrent writer (the application serializes its writes; only
//     Close and WriteControl are safe alongside) and a write blocks until the kernel takes it, with
//     no deadline unless SetWriteDeadline. Here any goroutine sends at any time and a send never
//     blocks: it is queued and written by the loop, the queue is capped at 16 MiB
//     (MaxQueuedBytes), and a send past the cap is refused with ErrQueueFull (OnDrain tells when
//     to resume) or, with CloseSlowConnections, ends the connection.
//   - Reads: gorilla allows one concurrent reader, which calls ReadMessage or NextReader, and
//     control frames are handled only while it reads. Here there is no read call: messages come
//     to handlers on the connection's loop, one at a time per connection, which must not block
//     (or set an Executor), and control frames are handled as they arrive.
//   - Pings: both answer a ping with a pong of the same payload by default; here always, as the
//     loop reads, where gorilla's does it inside the application's read. Received pongs do nothing
//     by default in both (OnPong here, SetPongHandler there).
//   - Close: gorilla's default close handler echoes the peer's code without its reason, during
//     a read, and Conn.Close closes TCP without a close frame, so the closing handshake is the
//     application's. Here the peer's close is echoed with its code and reason and the server
//     then closes TCP; Close(code, reason) sends the close frame and waits for the peer's at most
//     5 s (CloseTimeout), queued output included, before closing TCP. gorilla has no close
//     timeout.
//   - Handshake timeout: gorilla's server has none unless HandshakeTimeout is set, and that one
//     bounds only the write of the 101 (reading the request is net/http's, with no timeout by
//     default); its zero Dialer has none, DefaultDialer 45 s. Here the whole opening handshake,
//     TLS included, is bounded by 10 s on both sides (HandshakeTimeout).
//   - Header size: gorilla's server gets the request from net/http, whose limit is 1 MiB
//     (http.Server.MaxHeaderBytes, 431 past it); its client reads a 101 head of any size. Here
//     both are 8 KiB (MaxHeaderBytes in ServerOptions and ClientOptions; 431 on the server). A
//     server mounted on net/http gets net/http's limit first, then its own.
//   - Subprotocols: gorilla's Upgrader.Subprotocols are tried in the server's order of
//     preference; ValidProtocols here takes the first protocol in the client's order that the
//     server lists (SelectProtocol chooses otherwise). gorilla without Subprotocols sends
//     whatever the responseHeader names; here a protocol the client did not offer is never sent.
//   - Compression: off in both; gorilla can negotiate permessage-deflate (EnableCompression,
//     experimental), this package does not implement it yet and declines it when offered.
//   - Keepalive: off in both. gorilla leaves pings and read deadlines to the application; here
//     PingInterval, PongTimeout and IdleTimeout do it without a timer or goroutine per
//     connection.
//   - Buffers: gorilla gives each connection a 4 KiB read buffer and a 4 KiB write buffer (or
//     reuses net/http's); here a plain connection holds none while idle (about 1.7 KB in all, see
//     the README) and borrows pooled ones while it reads or writes; a TLS one keeps a 1 KiB read
//     buffer.
package api
