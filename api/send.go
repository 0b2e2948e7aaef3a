package api

import (
	"errors"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// Errors of the send methods; compare with errors.Is. The first three carry nodejs-websocket's
// messages.
var (
	// ErrNotOpen: the connection is not open (still connecting, closing or closed).
	ErrNotOpen = engine.ErrNotOpen
	// ErrTextWhileStreaming: a text message was sent while a binary stream is in progress.
	ErrTextWhileStreaming = engine.ErrTextStreaming
	// ErrBinaryWhileStreaming: a binary message or a second stream was started while a binary
	// stream is in progress.
	ErrBinaryWhileStreaming = engine.ErrBinStreaming
	// ErrInvalidText: a text message or close reason that is not valid UTF-8 (RFC 6455 requires it).
	ErrInvalidText = engine.ErrInvalidText
	// ErrInvalidData: Send was given something other than a string or a []byte.
	ErrInvalidData = errors.New("websocket: data should be either a string or a []byte")
	// ErrInvalidCloseCode: Close was given a code that may not be sent (RFC 6455 section 7.4 and
	// the IANA registry; Close lists the codes).
	ErrInvalidCloseCode = engine.ErrCloseCode
	// ErrReasonWithoutCode: Close was given a reason with code 0. A close frame carries a reason
	// only after a code (RFC 6455 section 5.5.1), so the reason would be lost; nothing is sent.
	ErrReasonWithoutCode = errors.New("websocket: close reason without a close code")
	// ErrControlTooLong: a ping payload longer than 125 bytes.
	ErrControlTooLong = engine.ErrControlSize
	// ErrClosed: the connection closed before the data reached the kernel (send callbacks).
	ErrClosed = engine.ErrClosed
	// ErrQueueFull: the connection's send queue (ServerOptions.MaxQueuedBytes) cannot take the
	// message; the peer reads too slowly. OnDrain tells when to resume.
	ErrQueueFull = engine.ErrQueueFull
	// ErrTruncated: the connection ended in the middle of a received binary message (InStream).
	ErrTruncated = engine.ErrTruncated
	// ErrStreamClosed: a write to an OutStream that was already closed.
	ErrStreamClosed = errors.New("websocket: write to a closed binary stream")
)

// PanicError is what the error event reports when a handler of the connection panicked: the
// panic is recovered on the loop, the connection is closed with 1011, and the loop's other
// connections go on.
type PanicError = engine.PanicError

// SendText sends text as one text frame. cb, if not nil, runs exactly once: with nil once the
// frame was handed to the kernel, or with the error that stopped it (also when the send is
// refused, before SendText returns, on the caller's goroutine). Otherwise it runs on the
// connection's loop, so it must not block. It fails with ErrNotOpen when the connection is not open and
// with ErrTextWhileStreaming while a binary stream is in progress.
func (c *Conn) SendText(text string, cb func(error)) error { return c.ec.WriteText(text, cb) }

// SendBinary sends data as one binary frame; data is copied, so the caller may reuse it at once.
// cb is as for SendText. It fails with ErrNotOpen, or ErrBinaryWhileStreaming while a binary
// stream is in progress.
func (c *Conn) SendBinary(data []byte, cb func(error)) error { return c.ec.WriteBinary(data, cb) }

// SendMessage sends payload as one frame of the given type without converting it: the zero-copy
// counterpart of OnMessage (echoing a message is SendMessage(typ, payload, nil)). cb is as for
// SendText.
func (c *Conn) SendMessage(typ MessageType, payload []byte, cb func(error)) error {
	if typ == TextMessage {
		return c.ec.WriteTextBytes(payload, cb)
	}
	return c.ec.WriteBinary(payload, cb)
}

// Send sends a string as text and a []byte as binary; anything else is ErrInvalidData (reported
// to cb too).
func (c *Conn) Send(data any, cb func(error)) error {
	switch d := data.(type) {
	case string:
		return c.SendText(d, cb)
	case []byte:
		return c.SendBinary(d, cb)
	default:
		if cb != nil {
			cb(ErrInvalidData)
		}
		return ErrInvalidData
	}
}

// SendPing sends a ping with data (at most 125 bytes). The peer's pong arrives through OnPong.
// Pings may be sent while a binary stream is in progress.
func (c *Conn) SendPing(data []byte) error { return c.ec.WritePing(data) }

// Close starts the closing handshake with code and reason; code 0 with an empty reason sends a
// close frame without a code, and code 0 with a reason is ErrReasonWithoutCode (nothing is sent).
// Codes must be 1000-1003, 1007-1011, 1012-1014 (registered with IANA: service restart, try again
// later, bad gateway) or 3000-4999, else ErrInvalidCloseCode; the reason is cut to 123 bytes.
// OnClose runs once the connection is really closed. Closing a connection that is closing or
// closed does nothing.
func (c *Conn) Close(code int, reason string) error {
	if code < 0 || code > 0xFFFF {
		return ErrInvalidCloseCode
	}
	if code == 0 && reason != "" {
		return ErrReasonWithoutCode
	}
	return c.ec.WriteClose(codec.CloseCode(code), reason)
}

// BeginBinary starts a binary message sent in fragments: bytes written to the returned OutStream
// are sent as a fragment each time at least the binary fragmentation size (SetBinaryFragmentation)
// has accumulated, and the final fragment when it is closed. Until then other data sends fail
// with ErrTextWhileStreaming or ErrBinaryWhileStreaming.
func (c *Conn) BeginBinary() (*OutStream, error) {
	if err := c.ec.BeginStream(); err != nil {
		return nil, err
	}
	s := &OutStream{conn: c, fragment: c.binaryFragmentation(), first: true}
	c.coldState().outStream.Store(s)
	return s, nil
}

func (c *Conn) binaryFragmentation() int {
	if k := c.cold.Load(); k != nil && k.fragment > 0 {
		return k.fragment
	}
	if c.server != nil && c.server.opts.BinaryFragmentation > 0 {
		return c.server.opts.BinaryFragmentation
	}
	return int(binaryFragmentation.Load())
}
