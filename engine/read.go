package engine

import (
	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// reader is the read side's state between reads: the frame whose payload is still arriving and
// the message being assembled. An idle connection holds no buffer.
type reader struct {
	// The frame in progress.
	inFrame  bool
	frameFin bool
	masked   bool
	maskPos  uint8 // where in the mask the next payload byte starts
	mask     [4]byte

	// The message in progress: msgOp is 0 when none is.
	msgOp  codec.Opcode
	stream bool // a binary message delivered by StreamChunk
	utf8   codec.UTF8Validator

	// permessage-deflate, in the struct's padding: what was negotiated (0: nothing), and whether
	// the message in progress is compressed.
	inflating bool
	pmd       pmd

	remaining int64           // payload bytes of the frame in progress still to come
	msg       *bufpool.Buffer // the assembled payload of a text or whole binary message
	msgLen    int64           // bytes of the message declared so far
}

// readFrames parses and handles every complete frame in in, and the available part of a frame
// whose payload is still arriving. It returns how many bytes it consumed; a partial header stays.
// A message whole in in is delivered in place, with its frame's header as the room for its echo
// (see lending), unless in is the connection's kept bytes: those are moved up before the turn's
// flush, so nothing read from them is lent.
func (c *Conn) readFrames(in []byte) int {
	lendable := c.pendingBytes() == nil
	n := 0
	for !c.readStopped() && !c.inputStopped() {
		if c.rd.inFrame {
			c.beginTurnOnce()
			n += c.readPayload(in[n:])
			if c.rd.inFrame {
				break
			}
			continue
		}
		h, hn, err := c.parseHeader(in[n:])
		if err != nil {
			c.failProtocol(err)
			break
		}
		if hn == 0 {
			break
		}
		if h.Opcode.IsControl() {
			end := hn + int(h.Length)
			if len(in)-n < end {
				break // control frames are at most 125 bytes: wait for the whole frame
			}
			p := in[n+hn : n+end]
			if h.Masked {
				codec.Mask(h.Mask, 0, p)
			}
			n += end
			c.beginTurnOnce()
			c.control(h.Opcode, p)
			continue
		}
		if err := c.rd.checkSequence(h, c.cfg.maxMessage()); err != nil {
			c.failProtocol(err)
			break
		}
		if h.Opcode != codec.OpContinuation {
			c.rd.inflating = h.Rsv != 0 // ParseHeaderDeflate allows RSV1 alone, on first frames
		}
		if c.wholeMessage(h, in[n+hn:]) {
			p := in[n+hn : n+hn+int(h.Length)]
			n += hn + len(p)
			if h.Masked {
				codec.Mask(h.Mask, 0, p)
			}
			if c.rd.inflating {
				c.beginTurnOnce()
				if !c.inflateMessage(h.Opcode, p) {
					break
				}
				continue
			}
			if h.Opcode == codec.OpText && !codec.ValidUTF8(p) {
				c.failProtocol(codec.ErrInvalidUTF8)
				break
			}
			room := hn // the client's header, read: the room for the echo's
			if !lendable {
				room = notLent
			}
			c.deliverInPlace(h.Opcode, p, room)
			continue
		}
		n += hn
		c.beginTurnOnce()
		c.startFrame(h)
	}
	if c.readStopped() {
		return len(in) // nothing after a close frame or a failure is read
	}
	if c.inputStopped() {
		c.holdInput()
	}
	return n
}

// inputStopped reports whether messages are to stay unread for now: the input is paused.
func (c *Conn) inputStopped() bool { return c.paused || c.pausedBy() }

// holdInput pauses the transport as soon as a pause stops the reading of what arrived, so that
// the turn that finds the pause withdrawn resumes it (throttle) and the bytes left behind are
// read then: a pause withdrawn before the turn ends, by a send's callback or by another goroutine
// while the turn runs, would otherwise leave them where nothing reads them until more arrive.
// Loop only.
func (c *Conn) holdInput() {
	if !c.paused {
		c.paused = true
		c.t.PauseRead()
	}
}

// wholeMessage reports whether the frame is an unfragmented message whose payload sits whole in
// rest, to be handed over in place, without a copy.
func (c *Conn) wholeMessage(h codec.Header, rest []byte) bool {
	return h.Fin && h.Opcode != codec.OpContinuation && int64(len(rest)) >= h.Length &&
		(h.Opcode == codec.OpText || h.Rsv != 0 || !c.ev.StreamBinary())
}

// checkSequence applies the fragmentation rules of RFC 6455 section 5.4 and the message cap.
func (r *reader) checkSequence(h codec.Header, max int64) error {
	if h.Opcode == codec.OpContinuation {
		if r.msgOp == 0 {
			return codec.ErrUnexpectedCont
		}
	} else if r.msgOp != 0 {
		return codec.ErrExpectedCont
	}
	if h.Opcode == codec.OpContinuation && h.Length > max-r.msgLen {
		return codec.ErrMessageTooBig
	}
	return nil
}

// startFrame records a data frame whose payload is to be read, and the message it starts.
func (c *Conn) startFrame(h codec.Header) {
	r := &c.rd
	r.inFrame, r.frameFin, r.masked, r.mask, r.maskPos, r.remaining = true, h.Fin, h.Masked, h.Mask, 0, h.Length
	if h.Opcode == codec.OpContinuation {
		r.msgLen += h.Length
		return
	}
	r.msgOp, r.msgLen = h.Opcode, h.Length
	r.stream = h.Opcode == codec.OpBinary && !r.inflating && c.ev.StreamBinary()
	if r.stream {
		if c.deliverable() {
			c.ev.StreamStart()
		}
		return
	}
	r.msg = bufpool.Get()
	r.msg.B = append(r.msg.B[:0], make([]byte, msgRoom)...) // the room for the echo's header
}

// readPayload consumes what in holds of the frame in progress and finishes the frame, and the
// message, when the last byte arrived.
func (c *Conn) readPayload(in []byte) int {
	r := &c.rd
	p := in[:min(int64(len(in)), r.remaining)]
	r.remaining -= int64(len(p))
	if r.masked {
		r.maskPos = uint8(codec.Mask(r.mask, int(r.maskPos), p))
	}
	switch {
	case r.stream:
		if len(p) > 0 && c.deliverable() {
			c.ev.StreamChunk(p)
		}
	default:
		if r.msgOp == codec.OpText && !r.inflating {
			if _, ok := r.utf8.Feed(p); !ok {
				c.failProtocol(codec.ErrInvalidUTF8)
				return len(p)
			}
		}
		if err := bufpool.Append(r.msg, p, msgRoom+int(c.cfg.maxMessage())); err != nil {
			c.failProtocol(codec.ErrMessageTooBig)
			return len(p)
		}
	}
	if r.remaining > 0 {
		return len(p)
	}
	r.inFrame = false
	if r.frameFin {
		c.finishMessage()
	}
	return len(p)
}

// finishMessage delivers the message whose final frame was read.
func (c *Conn) finishMessage() {
	r := &c.rd
	op := r.msgOp
	r.msgOp, r.msgLen = 0, 0
	if r.stream {
		r.stream = false
		if c.deliverable() {
			c.ev.StreamEnd(nil)
		}
		return
	}
	msg := r.msg
	r.msg = nil
	if r.inflating {
		c.inflateMessage(op, msg.B[msgRoom:])
		bufpool.Put(msg)
		return
	}
	if op == codec.OpText {
		complete := r.utf8.Complete()
		r.utf8.Reset()
		if !complete {
			bufpool.Put(msg)
			c.failProtocol(codec.ErrInvalidUTF8)
			return
		}
	}
	c.retire(msg, c.deliverWithRoom(op, msg.B[msgRoom:], msgRoom))
}

// deliver hands a whole message over, unless a close was sent: data after it is dropped. While the
// handler runs, a send of this very payload from it goes out without a copy (see lending); deliver
// reports whether one did, so that the payload's bytes are kept until the turn's flush.
func (c *Conn) deliver(op codec.Opcode, p []byte) (lent bool) { return c.deliverWithRoom(op, p, 0) }

// deliverWithRoom is deliver of a payload that has room bytes free just before it, in its buffer,
// where the header of its echo may go; a negative room says the payload may not be lent at all.
func (c *Conn) deliverWithRoom(op codec.Opcode, p []byte, room int) (lent bool) {
	if !c.lendForDelivery(op, p, room) {
		return false
	}
	defer func() { // also after a panic of the handler: the payload is no longer lendable
		c.mu.Lock()
		lent = c.lend.used
		c.lend = lending{}
		c.mu.Unlock()
	}()
	c.ev.Message(op, p)
	return false
}

// deliverInPlace is deliverWithRoom for a payload read in place, in the transport's buffer, which
// stays valid until the turn's flush: the lending is ended by the turn's end (takeLocked), not
// when the handler returns, so that a message costs one lock before its handler.
func (c *Conn) deliverInPlace(op codec.Opcode, p []byte, room int) {
	if c.lendForDelivery(op, p, room) {
		c.ev.Message(op, p)
	}
}

// lendForDelivery reports whether p may be delivered (not once a close was sent) and, if so,
// lends it for the delivery. It begins the turn under the same lock: the turn of an open
// connection begins with its first frame (see OnTraffic, beginTurnOnce), and a message delivered
// in place begins it here.
func (c *Conn) lendForDelivery(op codec.Opcode, p []byte, room int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inTurn = true
	ok := c.state == Open && !c.closeSent
	if ok {
		c.lend = lendingOf(op, p, room)
	}
	return ok
}

// deliverable reports whether data may still be handed to the user: not once we sent a close.
func (c *Conn) deliverable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == Open && !c.closeSent
}

// control handles a ping, pong or close frame.
func (c *Conn) control(op codec.Opcode, p []byte) {
	switch op {
	case codec.OpPing:
		c.mu.Lock()
		if c.state == Open && !c.closeSent {
			c.queue().appendFrame(c.cfg.Role, true, codec.OpPong, p)
		}
		c.mu.Unlock()
	case codec.OpPong:
		c.ev.Pong(p)
	case codec.OpClose:
		c.closeReceived(p)
	}
}

// release ends what the reader holds when the connection closes: a streamed message is cut off,
// an assembled one is dropped.
func (r *reader) release(ev Events, opened bool) {
	if r.stream && opened {
		ev.StreamEnd(ErrTruncated)
	}
	r.stream = false
	bufpool.Put(r.msg)
	r.msg = nil
	r.msgOp = 0
}
