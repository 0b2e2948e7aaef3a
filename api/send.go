package api

import "github.com/wsloop/wsloop/codec"

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

// SendPing sends a ping with data (at most 125 bytes, else ErrPingTooLong). The peer's pong
// arrives through OnPong.
// Pings may be sent while a binary stream is in progress.
func (c *Conn) SendPing(data []byte) error { return c.ec.WritePing(data) }

// Close starts the closing handshake with code and reason; code 0 with an empty reason sends a
// close frame without a code, and code 0 with a reason is ErrReasonWithoutCode (nothing is sent).
// Codes must be 1000-1003, 1007-1011, 1012-1014 (registered with IANA: service restart, try again
// later, bad gateway) or 3000-4999, else ErrInvalidCloseCode; the reason is cut to 123 bytes.
// OnClose runs once the connection is really closed; a peer that does not answer within
// CloseTimeout is cut off, with ErrCloseTimeout to OnError and 1006 to OnClose. Closing a
// connection that is closing or closed does nothing.
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
