package engine

import (
	"unsafe"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// lendMin is the payload size from which a message echoed from inside its own handler, when it
// cannot be framed in place, goes out beside its header (writev) instead of being copied into the
// output. Below it a copy is cheaper than the extra pieces of a vectored write.
const lendMin = 16 << 10

// msgRoom is the room an assembled message's buffer keeps before the payload, for the header of
// its echo: the largest server header.
const msgRoom = codec.MaxHeaderLen - 4

// lending says which payload a send may borrow instead of copying: the message being delivered,
// whose bytes sit in the transport's buffer or in an assembled buffer the reader keeps until the
// turn's flush. Before the payload, in the same buffer, there may be room the reader no longer
// needs (the client's header of a frame read in place, or the room an assembled message keeps):
// one send of the payload writes its header there and goes out as one piece, framed in place.
// Guarded by the connection's mutex.
type lending struct {
	first  *byte // the first byte of the payload being delivered, nil outside a delivery
	size   int   // its length
	text   bool  // it is a text message, valid UTF-8
	used   bool  // it was lent
	framed bool  // a send took the room before it: a second one cannot
	room   uint8 // bytes free just before the payload
}

// notLent, as the room of a payload being delivered, says it may not be lent at all.
const notLent = -1

// lendingOf describes payload, a message of op being delivered, with room bytes free just before
// it in its buffer. An empty payload, or one whose room is negative, is never lent.
func lendingOf(op codec.Opcode, payload []byte, room int) lending {
	if len(payload) == 0 || room < 0 {
		return lending{}
	}
	return lending{first: &payload[0], size: len(payload), text: op == codec.OpText, room: uint8(min(room, msgRoom))}
}

// frameInPlace returns payload framed in place, when it is the message being delivered and the
// room before it is free and large enough for hdr: hdr is written into the room and the frame is
// the one piece from there to the payload's end. It returns nil otherwise, and records the lending.
func (l *lending) frameInPlace(payload, hdr []byte) []byte {
	if l.framed || int(l.room) < len(hdr) || !l.isCurrent(payload) {
		return nil
	}
	l.used, l.framed = true, true
	frame := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(l.first), -len(hdr))), len(hdr)+l.size)
	copy(frame, hdr)
	return frame
}

// lend reports whether payload is the message being delivered, big enough to be worth lending
// beside its header, and records that it was lent.
func (l *lending) lend(payload []byte) bool {
	ok := len(payload) >= lendMin && l.isCurrent(payload)
	l.used = l.used || ok
	return ok
}

// isCurrent reports whether payload is the message being delivered.
func (l *lending) isCurrent(payload []byte) bool {
	return len(payload) > 0 && len(payload) == l.size && &payload[0] == l.first
}

// isText reports whether payload is the text message being delivered, known to be valid UTF-8.
func (l *lending) isText(payload []byte) bool { return l.text && l.isCurrent(payload) }

// retire keeps an assembled message's buffer until the flush if its bytes were lent, and gives it
// back at once otherwise.
func (c *Conn) retire(msg *bufpool.Buffer, lent bool) {
	if lent {
		r := c.side()
		r.retired = append(r.retired, msg)
		return
	}
	bufpool.Put(msg)
}

// releaseRetired gives back the buffers whose lent bytes were written.
func (c *Conn) releaseRetired() {
	r := c.rare
	if r == nil {
		return
	}
	for i, b := range r.retired {
		bufpool.Put(b)
		r.retired[i] = nil
	}
	r.retired = r.retired[:0]
}
