package engine

import "github.com/wsloop/wsloop/codec"

// Events is what the layer above learns of a connection. Every method runs on the connection's
// loop, in wire order, never two at once for one connection, and must not block. Byte slices are
// valid only during the call.
type Events interface {
	// Handshake runs on the server side once a valid upgrade request arrived, before the answer.
	// It returns the verdict: accept (with the chosen subprotocol and extra headers) or refuse
	// with an HTTP response. To answer later, from another goroutine, it calls Conn.Defer.
	Handshake(req *codec.Request) Verdict
	// ServeHTTP runs on the server side for a well-formed HTTP request that is not a WebSocket
	// upgrade, once its body (Content-Length bytes, at most 64 KiB) arrived. It appends a whole
	// HTTP response to dst and returns it, or returns ok false to have the request refused with
	// 400. The connection closes once the response is out.
	ServeHTTP(req *codec.Request, body, dst []byte) (resp []byte, ok bool)
	// Upgraded runs on the client side once the server's 101 passed every check, before Opened.
	Upgraded(resp *codec.Response)
	// Opened runs once the handshake succeeded; the connection is open.
	Opened()
	// Message delivers a whole text or binary message. For text, the payload is valid UTF-8.
	Message(op codec.Opcode, payload []byte)
	// StreamBinary reports whether binary messages are to be streamed (StreamStart, StreamChunk,
	// StreamEnd) rather than delivered whole through Message. It is asked at each binary message.
	StreamBinary() bool
	// StreamStart runs at the first frame of a streamed binary message.
	StreamStart()
	// StreamChunk delivers the payload bytes of a streamed binary message as they arrive.
	StreamChunk(p []byte)
	// StreamEnd ends a streamed binary message: err is nil after its final frame, or says why the
	// message was cut off (the connection closed or failed).
	StreamEnd(err error)
	// Drained runs once the send queue is empty again after a send was refused with ErrQueueFull.
	Drained()
	// Pong delivers the payload of a pong frame.
	Pong(p []byte)
	// Error reports an error that ends the connection (a protocol violation, a socket error, a
	// rejected handshake). Closed follows.
	Error(err error)
	// Closed runs once, when the socket is closed, whether or not the handshake completed (opened
	// says whether Opened ran). code and reason are those of the close frame received, 1005 when it
	// had no code, the code we failed the connection with after a protocol violation, and 1006 when
	// no close frame was received. err is what ended the connection, nil for a close handshake or
	// an orderly end of stream: the error Error reported, or, for a server connection whose
	// handshake never succeeded (which gets no Error), the only word of it.
	Closed(opened bool, code codec.CloseCode, reason []byte, err error)
}

// Verdict is the answer of Events.Handshake.
type Verdict struct {
	// Refuse, when nonzero, is the HTTP status to answer instead of 101; Header and Body go with it.
	Refuse int
	// Protocol is the chosen subprotocol, empty for none. It must be one the client offered.
	Protocol string
	// Header holds extra response headers, as name and value pairs.
	Header []codec.HeaderField
	// Body is the body of a refusal.
	Body []byte
}
