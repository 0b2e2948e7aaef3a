package bench

// The limit row's echo (limit_test.go), the least a server on gnet can do per echoed byte: each
// byte is unmasked once, in place, in gnet's read buffer (with gobwas's ws.Cipher, the fastest
// unmasking in the field), and handed to gnet's write from there, with the frame's header
// rewritten in place before its payload. Every read is answered with one write (writev when it
// holds several frames). A frame whose payload is still arriving is echoed as it arrives: its
// header and the payload so far at once, the rest with the reads that bring it, so that no byte
// waits in a buffer to be copied. A partial header stays with gnet until it is whole.

import (
	"encoding/binary"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// gnetEcho is a loop's scratch for its echoes: the pieces of one write, and spare frame states.
type gnetEcho struct {
	iov  [][]byte
	free []*gnetFrame
}

// gnetFrame is an upgraded connection's frame whose payload is still arriving; it is the
// connection's context until the frame's last byte was echoed, then the loop is again.
type gnetFrame struct {
	loop      *gnetLoop
	remaining int // payload bytes still to come
	mask      [4]byte
	pos       int // payload bytes unmasked so far
}

// echoTraffic echoes what in holds, in one write, and consumes it but for a partial header. A
// close frame closes the connection.
func echoTraffic(c gnet.Conn, in []byte) gnet.Action {
	var l *gnetLoop
	n := 0
	switch ctx := c.Context().(type) {
	case *gnetLoop:
		l = ctx
	case *gnetFrame:
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
		if in[n]&0x0f == opClose {
			return gnet.Close
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
func (e *gnetEcho) payload(c gnet.Conn, f *gnetFrame, in []byte) int {
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
func (e *gnetEcho) frame(l *gnetLoop, length int, mask [4]byte) *gnetFrame {
	var f *gnetFrame
	if k := len(e.free); k > 0 {
		f, e.free = e.free[k-1], e.free[:k-1]
	} else {
		f = new(gnetFrame)
	}
	*f = gnetFrame{loop: l, remaining: length, mask: mask}
	return f
}

// write hands the queued pieces to gnet in one write (gnet copies what the kernel does not take
// at once) and consumes n bytes of input.
func (e *gnetEcho) write(c gnet.Conn, n int) gnet.Action {
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
