package limit

// Broadcasts: a burst is framed once into one buffer, and each loop gets one task that writes it
// to each of its subscribers in one write. The benchmarks burst from outside the loops (Burst);
// a connection on BroadcastPath relays from its loop the data frames of each read, the same way,
// without waiting for the tasks.

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// Burst frames msg n times as binary messages into one buffer, has each loop write it to each of
// its subscribers in one write, and returns once they did.
func (s *Server) Burst(msg []byte, n int) {
	batch := bytes.Repeat(binaryFrame(msg), n)
	var wg sync.WaitGroup
	s.send(batch, &wg)
	wg.Wait()
}

// send queues on each loop one task that writes batch to each of the loop's subscribers; with wg
// set, each task is counted in it.
func (s *Server) send(batch []byte, wg *sync.WaitGroup) {
	s.mu.Lock()
	loops := make([]*loop, 0, len(s.loops))
	for _, l := range s.loops {
		loops = append(loops, l)
	}
	s.mu.Unlock()
	for _, l := range loops {
		if wg != nil {
			wg.Add(1)
		}
		l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			if wg != nil {
				defer wg.Done()
			}
			for c := range l.conns {
				c.Write(batch)
			}
			return nil
		}))
	}
}

// relay sends the whole data frames in holds, unmasked in place and copied into one batch, to
// every subscriber, and consumes them; a partial frame stays with gnet until it is whole. A ping
// is answered with a pong, a close with a close, and then the connection is closed.
func (s *Server) relay(c gnet.Conn, in []byte) gnet.Action {
	var batch []byte
	n := 0
	action := gnet.None
	for action == gnet.None {
		hlen, length, ok := frameHeader(in[n:])
		size := hlen + 4 + length
		if !ok || len(in)-n < size {
			break
		}
		f := unmaskWhole(in[n:], hlen, length)
		n += size
		switch f[0] & 0x0f {
		case opClose:
			c.Write(f)
			action = gnet.Close // gnet writes what is left of the close before it closes
		case opPing:
			f[0] ^= opPing ^ opPong
			c.Write(f)
		case opPong:
		default:
			batch = append(batch, f...)
		}
	}
	c.Discard(n)
	if batch != nil {
		s.send(batch, nil)
	}
	return action
}

// binaryFrame is msg as one unmasked binary frame.
func binaryFrame(msg []byte) []byte {
	var f []byte
	switch n := len(msg); {
	case n <= 125:
		f = append(f, 0x80|opBinary, byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|opBinary, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|opBinary, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, msg...)
}
