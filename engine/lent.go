package engine

import (
	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// lendMin is the payload size from which a message echoed from inside its own handler goes out
// beside its header (writev) instead of being copied into the output. Below it a copy is cheaper
// than the extra pieces of a vectored write.
const lendMin = 16 << 10

// lending says which payload a send may borrow instead of copying: the message being delivered,
// whose bytes sit in the transport's buffer or in an assembled buffer the reader keeps until the
// turn's flush. Guarded by the connection's mutex.
type lending struct {
	first *byte // the first byte of the payload being delivered, nil outside a delivery
	size  int   // its length
	text  bool  // it is a text message, valid UTF-8
	used  bool  // it was lent
}

// lendingOf describes payload, a message of op being delivered. An empty payload is never lent.
func lendingOf(op codec.Opcode, payload []byte) lending {
	if len(payload) == 0 {
		return lending{}
	}
	return lending{first: &payload[0], size: len(payload), text: op == codec.OpText}
}

// lend reports whether payload is the message being delivered, big enough to be worth lending,
// and records that it was lent.
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
