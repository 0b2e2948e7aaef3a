package engine

import (
	"unsafe"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// sendCallback is a completion callback waiting for the bytes up to end to reach the kernel.
type sendCallback struct {
	end uint64
	fn  func(error)
}

// WriteText sends one text frame; text that is not valid UTF-8 is refused with ErrInvalidText.
// cb, if not nil, runs once the frame was handed to the kernel, or
// with the error that stopped it; it also runs, with the returned error, when the send is refused.
func (c *Conn) WriteText(text string, cb func(error)) error {
	return c.writeData(codec.OpText, stringBytes(text), cb)
}

// WriteTextBytes is WriteText for text held in a byte slice, which is copied.
func (c *Conn) WriteTextBytes(text []byte, cb func(error)) error {
	return c.writeData(codec.OpText, text, cb)
}

// WriteBinary sends one binary frame, copying payload; cb is as for WriteText.
func (c *Conn) WriteBinary(payload []byte, cb func(error)) error {
	return c.writeData(codec.OpBinary, payload, cb)
}

func (c *Conn) writeData(op codec.Opcode, payload []byte, cb func(error)) error {
	c.mu.Lock()
	err := c.sendable()
	// RFC 6455 section 5.6: a peer fails invalid text. A text message echoed from its own handler
	// was validated when it arrived.
	if err == nil && op == codec.OpText && !c.lent.isText(payload) && !codec.ValidUTF8(payload) {
		err = ErrInvalidText
	}
	if err == nil && c.streaming {
		err = ErrBinStreaming
		if op == codec.OpText {
			err = ErrTextStreaming
		}
	}
	if err == nil {
		err = c.roomLocked(len(payload))
	}
	return c.queueLocked(err, true, op, payload, cb)
}

// roomLocked checks that a data frame of n payload bytes fits the send queue. When it does not,
// the send is refused, or under CloseSlow the connection is given up. c.mu is held.
func (c *Conn) roomLocked(n int) error {
	queued := c.backlog + int64(len(c.outBytes())+c.lent.bytes)
	if queued+int64(n)+codec.MaxHeaderLen <= c.cfg.maxQueue() {
		return nil
	}
	c.refused = true
	if c.cfg.CloseSlow && !c.terminated {
		c.terminated, c.cancelErr = true, ErrQueueFull
		if c.enrolled {
			c.Wake() // the loop closes the connection
		}
	}
	return ErrQueueFull
}

// outBytes returns what the output buffer holds. c.mu is held.
func (c *Conn) outBytes() []byte {
	if c.out == nil {
		return nil
	}
	return c.out.B
}

// BeginStream takes the binary stream lock: until EndStream, WriteStream sends the fragments of
// one binary message and other data sends are refused.
func (c *Conn) BeginStream() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sendable(); err != nil {
		return err
	}
	if c.streaming {
		return ErrBinStreaming
	}
	c.streaming = true
	return nil
}

// WriteStream sends one fragment of the streamed binary message: the first fragment as a binary
// frame, later ones as continuations; final ends the message and releases the stream lock, whether
// or not the send succeeds. first says whether this is the message's first fragment.
func (c *Conn) WriteStream(payload []byte, first, final bool, cb func(error)) error {
	c.mu.Lock()
	err := c.sendable()
	if err == nil && !c.streaming {
		err = ErrNoStream
	}
	if err == nil {
		err = c.roomLocked(len(payload))
	}
	if final {
		c.streaming = false
	}
	op := codec.OpContinuation
	if first {
		op = codec.OpBinary
	}
	return c.queueLocked(err, final, op, payload, cb)
}

// ReleaseStream drops the stream lock without sending (the connection is no longer open).
func (c *Conn) ReleaseStream() {
	c.mu.Lock()
	c.streaming = false
	c.mu.Unlock()
}

// Streaming reports whether a streamed binary message is being sent.
func (c *Conn) Streaming() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streaming
}

// WritePing sends a ping frame. Pings may be sent between the fragments of a streamed message.
func (c *Conn) WritePing(payload []byte) error {
	if len(payload) > 125 {
		return ErrControlSize
	}
	c.mu.Lock()
	return c.queueLocked(c.sendable(), true, codec.OpPing, payload, nil)
}

// sendable says whether data and pings may be sent. c.mu is held.
func (c *Conn) sendable() error {
	if c.state != Open || c.closeSent {
		return ErrNotOpen
	}
	return nil
}

// queueLocked appends a frame to the output unless err refuses it, releases c.mu, wakes the loop
// when it is not inside a turn, and reports err to cb when the send was refused.
func (c *Conn) queueLocked(err error, fin bool, op codec.Opcode, payload []byte, cb func(error)) error {
	if err != nil {
		c.mu.Unlock()
		if cb != nil {
			cb(err)
		}
		return err
	}
	if c.cfg.Role == codec.ServerRole && c.lent.lend(payload) {
		c.appendLentLocked(fin, op, payload)
	} else {
		c.appendFrameLocked(fin, op, payload)
	}
	if cb != nil {
		// Everything queued so far, this frame included, must reach the kernel first.
		c.callbacks = append(c.callbacks, sendCallback{c.handed + uint64(len(c.out.B)+c.lent.bytes), cb})
	}
	c.unlockAndWake()
	return nil
}

// unlockAndWake releases c.mu and, unless the loop is inside a turn and will flush when it ends,
// asks the loop to flush.
func (c *Conn) unlockAndWake() {
	wake := !c.inTurn
	c.mu.Unlock()
	if wake {
		c.Wake()
	}
}

// appendFrameLocked encodes one frame into the output buffer. c.mu is held.
func (c *Conn) appendFrameLocked(fin bool, op codec.Opcode, payload []byte) {
	c.out = c.outBuffer()
	var key [4]byte
	if c.cfg.Role == codec.ClientRole {
		key = maskKey()
	}
	c.out.B = codec.AppendFrame(c.out.B, fin, op, payload, c.cfg.Role, key)
}

// outBuffer returns the output buffer, borrowing one when there is none. c.mu is held.
func (c *Conn) outBuffer() *bufpool.Buffer {
	if c.out == nil {
		return bufpool.Get()
	}
	return c.out
}

// flush hands the queued output to the transport and ends the turn. Loop only.
func (c *Conn) flush() {
	c.mu.Lock()
	out := c.out
	c.out = nil
	c.inTurn = false
	pieces, lentBytes := c.lent.pieces, c.lent.bytes
	c.lent = lentOutput{pieces: c.spare} // the two slices take turns: no allocation per turn
	if out != nil {
		c.handed += uint64(len(out.B) + lentBytes)
	}
	c.mu.Unlock()
	if out != nil && len(out.B) > 0 && !c.SocketClosed() {
		if len(pieces) > 0 {
			c.writeLent(out.B, pieces)
		} else {
			_ = c.Write(out.B) // a failed write closes the connection; OnClose reports it
		}
	}
	bufpool.Put(out)
	clear(pieces)
	c.spare = pieces[:0]
	c.releaseRetired()
}

// afterFlush runs the callbacks whose bytes reached the kernel, closes the socket once a close is
// waiting for the output to drain, and keeps a timer armed while anything waits on the output.
func (c *Conn) afterFlush() {
	if c.SocketClosed() {
		return
	}
	buffered := uint64(c.Buffered())
	c.mu.Lock()
	c.backlog = int64(buffered)
	inKernel := c.handed - buffered
	drainedAfterRefusal := c.refused && buffered == 0 && len(c.outBytes()) == 0
	if drainedAfterRefusal {
		c.refused = false
	}
	refused := c.refused
	i := 0
	for i < len(c.callbacks) && c.callbacks[i].end <= inKernel {
		i++
	}
	ready := c.callbacks[:i:i]
	if i > 0 {
		c.callbacks = c.callbacks[i:]
		if len(c.callbacks) == 0 {
			c.callbacks = nil
		}
	}
	waiting := len(c.callbacks) > 0
	closeSent := c.closeSent
	c.mu.Unlock()
	for _, cb := range ready {
		cb.fn(nil)
	}
	if drainedAfterRefusal {
		c.ev.Drained()
	}
	if closeSent && c.deadline.close == 0 {
		c.deadline.close = nowNano() + int64(c.cfg.closeTimeout())
	}
	drained := c.Buffered() == 0
	if c.closing.tcpWhenDrained && drained {
		c.CloseSocket()
		return
	}
	if c.closing.shutWhenDrained && drained {
		c.closing.shutWhenDrained = false
		c.CloseWrite()
	}
	c.deadline.drain = 0
	if waiting || refused || (c.closing.tcpWhenDrained || c.closing.shutWhenDrained) && !drained {
		c.deadline.drain = nowNano() + 1
	}
	c.armTimer()
}

// stringBytes views s as bytes without copying; the bytes are only read.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
