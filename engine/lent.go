package engine

import (
	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// lendMin is the payload size from which a message echoed from inside its own handler goes out
// beside its header (writev) instead of being copied into the output. Below it a copy is cheaper
// than the extra pieces of a vectored write.
const lendMin = 16 << 10

// lentOutput holds payloads that go out without a copy. A payload may be lent only while its
// bytes cannot change before the turn's flush: the message being delivered, whose bytes sit in
// the transport's buffer or in an assembled buffer the reader keeps until the flush.
type lentOutput struct {
	current []byte    // the payload of the message being delivered, nil outside a delivery
	text    bool      // current is a text message, valid UTF-8
	used    bool      // current was lent
	pieces  []lentSeg // in output order
	bytes   int       // total length of pieces
}

// lentSeg is one lent payload, to be written after out.B[:at].
type lentSeg struct {
	at int
	p  []byte
}

// lend reports whether payload is the message being delivered, big enough to be worth lending.
func (l *lentOutput) lend(payload []byte) bool {
	return len(payload) >= lendMin && l.isCurrent(payload)
}

// isCurrent reports whether payload is the message being delivered.
func (l *lentOutput) isCurrent(payload []byte) bool {
	return len(payload) > 0 && len(payload) == len(l.current) && &payload[0] == &l.current[0]
}

// isText reports whether payload is the text message being delivered, known to be valid UTF-8.
func (l *lentOutput) isText(payload []byte) bool { return l.text && l.isCurrent(payload) }

func (l *lentOutput) reset() {
	clear(l.pieces)
	*l = lentOutput{pieces: l.pieces[:0]}
}

// appendLentLocked queues a frame whose payload is the message being delivered: its header goes
// into the output, the payload beside it. c.mu is held.
func (c *Conn) appendLentLocked(fin bool, op codec.Opcode, payload []byte) {
	c.out = c.outBuffer()
	c.out.B = codec.AppendHeader(c.out.B, codec.Header{Fin: fin, Opcode: op, Length: int64(len(payload))})
	c.lent.pieces = append(c.lent.pieces, lentSeg{len(c.out.B), payload})
	c.lent.bytes += len(payload)
	c.lent.used = true
}

// writeLent writes out with the lent pieces between its parts, in one vectored write.
func (c *Conn) writeLent(out []byte, pieces []lentSeg) {
	iov := c.iov[:0]
	from := 0
	for _, s := range pieces {
		iov = append(iov, out[from:s.at], s.p)
		from = s.at
	}
	if from < len(out) {
		iov = append(iov, out[from:])
	}
	_ = c.Writev(iov) // a failed write closes the connection; OnClose reports it
	clear(iov)
	c.iov = iov[:0]
}

// lendDelivery marks p as the message being delivered, which a send from its handler may lend.
// c.mu is held.
func (c *Conn) lendDelivery(op codec.Opcode, p []byte) {
	c.lent.current, c.lent.text, c.lent.used = p, op == codec.OpText, false
}

// retire keeps an assembled message's buffer until the flush if its bytes were lent, and gives it
// back at once otherwise.
func (c *Conn) retire(msg *bufpool.Buffer) {
	c.mu.Lock()
	used := c.lent.used
	c.lent.current, c.lent.text, c.lent.used = nil, false, false
	c.mu.Unlock()
	if used {
		c.retired = append(c.retired, msg)
		return
	}
	bufpool.Put(msg)
}

// releaseRetired gives back the buffers whose lent bytes were written.
func (c *Conn) releaseRetired() {
	for i, b := range c.retired {
		bufpool.Put(b)
		c.retired[i] = nil
	}
	c.retired = c.retired[:0]
}
