package api

import (
	"bytes"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// A large message echoed from its own handler goes out beside its header without a copy. The bytes
// must survive until they are written: whole messages in the read buffer and assembled fragments
// alike, sent twice, between other sends.
func TestLentEchoKeepsItsBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, nil, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) {
		c.SendMessage(typ, p, nil)
		c.SendText("between", nil)
		c.SendMessage(typ, p, nil)
	})
	p := wstest.Dial(t, addr, "/")
	whole := bytes.Repeat([]byte("whole-"), 6000) // 36,000 bytes in one frame
	frag := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 5000)
	var both []byte
	both = append(both, wstest.FrameBytes(true, codec.OpBinary, whole)...)
	both = append(both, wstest.FrameBytes(false, codec.OpBinary, frag[:20000])...)
	both = append(both, wstest.FrameBytes(true, codec.OpContinuation, frag[20000:])...)
	p.Write(both) // one write: both messages are read and echoed in the same turns
	for _, want := range [][]byte{whole, frag} {
		p.ExpectFrame(codec.OpBinary, want)
		p.ExpectFrame(codec.OpText, []byte("between"))
		p.ExpectFrame(codec.OpBinary, want)
	}
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
}
