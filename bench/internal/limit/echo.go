package limit

// The echo, the least a server on gnet can do per echoed byte: each byte is unmasked once, in
// place, in gnet's read buffer (with gobwas's ws.Cipher, the fastest unmasking in the field), and
// handed to gnet's write from there, with the frame's header rewritten in place before its
// payload. Every read is answered with one write (writev when it holds several frames). A frame
// whose payload is still arriving is echoed as it arrives: its header and the payload so far at
// once, the rest with the reads that bring it, so that no byte waits in a buffer to be copied. A
// partial header stays with gnet until it is whole, and so does a partial control frame: a ping
// is answered with a pong, a close with a close, and then the connection is closed.

import (
	"encoding/binary"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// The opcodes the server looks at.
const (
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// echo is a loop's scratch for its echoes: the pieces of one write, and spare frame states.
type echo struct {
	iov  [][]byte
	free []*frame
}

// frame is an echoing connection's frame whose payload is still arriving; it is the
// connection's context until the frame's last byte was echoed, then the loop is again.
type frame struct {
	loop      *loop
	remaining int // payload bytes still to come
	mask      [4]byte
	pos       int // payload bytes unmasked so far
}

// echoTraffic echoes what in holds, in one write, and consumes it but for a partial header or
// control frame.
func echoTraffic(c gnet.Conn, in []byte) gnet.Action {
	var l *loop
	n := 0
	switch ctx := c.Context().(type) {
	case *loop:
		l = ctx
	case *frame:
		l = ctx.loop
		n = l.echo.payload(c, ctx, in)
		if ctx.remaining > 0 {
			return l.echo.write(c, n)
		}
	}
	for {
		hlen, length, ok := frameHeader(in[n:])
		if !ok {
			break
		}
		if op := in[n] & 0x0f; op >= opClose { // a control frame: answered whole
			size := hlen + 4 + length
			if len(in)-n < size {
				break
			}
			if op == opClose {
				l.echo.iov = append(l.echo.iov, unmaskWhole(in[n:], hlen, length))
				l.echo.write(c, n+size)
				return gnet.Close // gnet writes what is left of the echo before it closes
			}
			if op == opPing {
				in[n] ^= opPing ^ opPong
			}
		}
		var mask [4]byte
		copy(mask[:], in[n+hlen:])
		in[n+1] &^= 0x80 // the echo is unmasked: its header is the client's without the mask
		copy(in[n+4:], in[n:n+hlen])
		start := n + 4
		n += hlen + 4
		if avail := len(in) - n; avail < length {
			f := l.echo.frame(l, length, mask)
			c.SetContext(f)
			l.echo.iov = append(l.echo.iov, in[start:n])
			n += l.echo.payload(c, f, in[n:])
			break
		}
		ws.Cipher(in[n:n+length], mask, 0)
		n += length
		l.echo.iov = append(l.echo.iov, in[start:n])
	}
	return l.echo.write(c, n)
}

// payload unmasks and queues what in holds of f's payload, and returns how much that is; once the
// frame is whole, the connection's context is its loop again.
func (e *echo) payload(c gnet.Conn, f *frame, in []byte) int {
	p := in[:min(len(in), f.remaining)]
	ws.Cipher(p, f.mask, f.pos)
	f.pos += len(p)
	f.remaining -= len(p)
	if len(p) > 0 {
		e.iov = append(e.iov, p)
	}
	if f.remaining == 0 {
		c.SetContext(f.loop)
		e.free = append(e.free, f)
	}
	return len(p)
}

// frame returns a state for a frame of length payload bytes still to come.
func (e *echo) frame(l *loop, length int, mask [4]byte) *frame {
	var f *frame
	if k := len(e.free); k > 0 {
		f, e.free = e.free[k-1], e.free[:k-1]
	} else {
		f = new(frame)
	}
	*f = frame{loop: l, remaining: length, mask: mask}
	return f
}

// write hands the queued pieces to gnet in one write (gnet copies what the kernel does not take
// at once) and consumes n bytes of input.
func (e *echo) write(c gnet.Conn, n int) gnet.Action {
	switch len(e.iov) {
	case 0:
	case 1:
		c.Write(e.iov[0])
	default:
		c.Writev(e.iov)
	}
	clear(e.iov)
	e.iov = e.iov[:0]
	c.Discard(n)
	return gnet.None
}

// frameHeader parses the masked client frame header at the start of in: its length without the
// mask, and the payload's length; ok is false until the header and its mask are whole.
func frameHeader(in []byte) (hlen, length int, ok bool) {
	if len(in) < 2 {
		return 0, 0, false
	}
	hlen, length = 2, int(in[1]&0x7f)
	switch length {
	case 126:
		hlen = 4
		if len(in) >= hlen {
			length = int(binary.BigEndian.Uint16(in[2:4]))
		}
	case 127:
		hlen = 10
		if len(in) >= hlen {
			length = int(binary.BigEndian.Uint64(in[2:10]))
		}
	}
	return hlen, length, len(in) >= hlen+4
}

// unmaskWhole turns the whole masked client frame at the start of in (a header of hlen bytes
// without the mask, length bytes of payload) into the unmasked server frame with the same header,
// in place, and returns it: it starts 4 bytes in, where the mask was.
func unmaskWhole(in []byte, hlen, length int) []byte {
	var mask [4]byte
	copy(mask[:], in[hlen:])
	in[1] &^= 0x80
	copy(in[4:], in[:hlen])
	out := in[4 : hlen+4+length]
	ws.Cipher(out[hlen:], mask, 0)
	return out
}
