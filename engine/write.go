package engine

import (
	"unsafe"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// WriteText sends one text frame; text that is not valid UTF-8 is refused with ErrInvalidText.
// cb, if not nil, runs once the frame was handed to the kernel, or with the error that stopped
// it; it also runs, with the returned error, when the send is refused.
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

// WriteShared sends a prepared frame without copying it; cb is as for WriteText. It is for
// server connections: a client must mask each frame.
func (c *Conn) WriteShared(s *Shared, cb func(error)) error {
	c.mu.Lock()
	return c.queuedLocked(c.appendSharedLocked(s), cb)
}

// appendSharedLocked queues the prepared frame s unless the send is refused. c.mu is held.
func (c *Conn) appendSharedLocked(s *Shared) error {
	err := c.sendable()
	if err == nil {
		err = c.streamingError(s.op)
	}
	if err == nil && c.cfg.Role != codec.ServerRole {
		err = ErrSharedClient
	}
	if err == nil {
		err = c.roomLocked(len(s.frame()))
	}
	if err == nil && !c.appendSharedDeflateLocked(s) {
		c.queue().appendShared(s)
	}
	return err
}

func (c *Conn) writeData(op codec.Opcode, payload []byte, cb func(error)) error {
	z := c.deflateAhead(payload) // compressed outside the lock, when no context is kept
	if z != nil {
		defer bufpool.Put(z)
	}
	c.mu.Lock()
	err := c.sendable()
	// RFC 6455 section 5.6: a peer fails invalid text. A text message echoed from its own handler
	// was validated when it arrived.
	if err == nil && op == codec.OpText && !c.lend.isText(payload) && !codec.ValidUTF8(payload) {
		err = ErrInvalidText
	}
	if err == nil {
		err = c.streamingError(op)
	}
	if err == nil {
		err = c.roomLocked(len(payload) + codec.MaxHeaderLen)
	}
	switch {
	case err != nil:
	case z != nil:
		c.queue().appendCompressed(c.cfg.Role, op, z.B)
	case c.compresses(len(payload)):
		c.appendDeflatedLocked(op, payload)
	default:
		c.appendDataLocked(true, op, payload)
	}
	return c.queuedLocked(err, cb)
}

// streamingError refuses a data message while a streamed binary message is being sent. c.mu is
// held.
func (c *Conn) streamingError(op codec.Opcode) error {
	switch {
	case !c.streaming:
		return nil
	case op == codec.OpText:
		return ErrTextStreaming
	default:
		return ErrBinStreaming
	}
}

// appendDataLocked queues a data frame. When it is the message being delivered to a server
// handler, it is lent: framed in place when there is room before it, else beside its header when
// it is large; it is copied otherwise. c.mu is held.
func (c *Conn) appendDataLocked(fin bool, op codec.Opcode, payload []byte) {
	if c.cfg.Role == codec.ServerRole && c.lend.isCurrent(payload) {
		var h [codec.MaxHeaderLen]byte
		hdr := codec.AppendHeader(h[:0], codec.Header{Fin: fin, Opcode: op, Length: int64(len(payload))})
		if frame := c.lend.frameInPlace(payload, hdr); frame != nil {
			c.queue().appendPiece(frame)
			return
		}
		if c.lend.lend(payload) {
			c.queue().appendBorrowed(fin, op, payload)
			return
		}
	}
	c.queue().appendFrame(c.cfg.Role, fin, op, payload)
}

// Room returns how many more bytes the send queue takes before a data send is refused.
func (c *Conn) Room() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(0, int(c.cfg.maxQueue())-c.heldLocked())
}

// Buffered returns the bytes queued for sending and not yet taken by the kernel: those not handed
// to the transport yet and those it still holds (as of the loop's last look).
func (c *Conn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.q == nil {
		return 0
	}
	return c.q.queued() + c.q.backlog
}

// heldLocked returns the memory the output holds. c.mu is held.
func (c *Conn) heldLocked() int {
	if c.q == nil {
		return 0
	}
	return c.q.held()
}

// fitsLocked reports whether n more bytes fit the send queue. c.mu is held.
func (c *Conn) fitsLocked(n int) bool { return int64(c.heldLocked()+n) <= c.cfg.maxQueue() }

// roomLocked checks that n more bytes fit the send queue. When they do not, the send is refused,
// or under CloseSlow the connection is given up. c.mu is held.
func (c *Conn) roomLocked(n int) error {
	if c.fitsLocked(n) {
		return nil
	}
	c.refused = true
	c.cfg.Counters.refused()
	if c.cfg.CloseSlow && !c.terminated {
		c.terminated, c.cancelErr = true, ErrQueueFull
		c.cfg.Counters.slowClosed()
	}
	if c.enrolled && !c.inTurn {
		// The loop closes the connection under CloseSlow; otherwise it watches the queue drain, so
		// Drained follows even when nothing was queued (a message larger than the whole cap).
		c.t.Wake()
	}
	return ErrQueueFull
}

// queue returns the output queue, taking one from the pool when there is none. c.mu is held.
func (c *Conn) queue() *outq {
	if c.q == nil {
		c.q = queues.Get().(*outq)
	}
	return c.q
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
// frame, later ones as continuations; final ends the message and releases the stream lock. first
// says whether this is the message's first fragment. A fragment the queue cannot take is refused
// with ErrQueueFull and the stream stays open, so the caller may wait for room (Room, Drained)
// and send it again; any other refusal releases the stream lock.
func (c *Conn) WriteStream(payload []byte, first, final bool, cb func(error)) error {
	c.mu.Lock()
	err := c.sendable()
	if err == nil && !c.streaming {
		err = ErrNoStream
	}
	if err == nil {
		err = c.roomLocked(len(payload) + codec.MaxHeaderLen)
	}
	if err != ErrQueueFull && (final || err != nil) {
		c.streaming = false
	}
	if err == nil {
		op := codec.OpContinuation
		if first {
			op = codec.OpBinary
		}
		c.queue().appendFrame(c.cfg.Role, final, op, payload)
	}
	return c.queuedLocked(err, cb)
}

// ReleaseStream drops the stream lock without sending (the connection is no longer open).
func (c *Conn) ReleaseStream() {
	c.mu.Lock()
	c.streaming = false
	c.mu.Unlock()
}

// WritePing sends a ping frame. Pings may be sent between the fragments of a streamed message,
// and are never refused for a full queue: a connection whose control frames pile up stops reading
// instead (see Config.MaxQueue).
func (c *Conn) WritePing(payload []byte) error {
	if len(payload) > 125 {
		return ErrControlSize
	}
	c.mu.Lock()
	err := c.sendable()
	if err == nil {
		c.queue().appendFrame(c.cfg.Role, true, codec.OpPing, payload)
		c.cfg.Counters.pingSent()
	}
	return c.queuedLocked(err, nil)
}

// sendable says whether data and pings may be sent. c.mu is held.
func (c *Conn) sendable() error {
	if c.state != Open || c.closeSent {
		return ErrNotOpen
	}
	return nil
}

// queuedLocked ends a send: it records cb for a queued frame, releases c.mu, wakes the loop
// unless it is inside a turn and flushes when it ends, and reports a refusal to cb.
func (c *Conn) queuedLocked(err error, cb func(error)) error {
	if err != nil {
		c.mu.Unlock()
		if cb != nil {
			cb(err)
		}
		return err
	}
	if cb != nil {
		c.q.addCallback(cb)
	}
	c.unlockAndWake()
	return nil
}

// unlockAndWake releases c.mu and, unless the loop is inside a turn and will flush when it ends,
// asks the loop to flush.
func (c *Conn) unlockAndWake() {
	wake := !c.inTurn && c.enrolled
	t := c.t
	c.mu.Unlock()
	if wake {
		t.Wake()
	}
}

// stringBytes views s as bytes without copying; the bytes are only read.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
