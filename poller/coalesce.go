package poller

import (
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// coalesceMax is the most output that a gnet write of several pieces copies into one buffer
// instead of handing gnet a vectored write: gnet's writev (x/sys unix.Writev) allocates its
// iovecs on every call, and copying a few small frames (a turn's broadcasts to one subscriber)
// costs less than that allocation and no more than the system call.
const coalesceMax = 16 << 10

var coalesced = sync.Pool{New: func() any { b := make([]byte, 0, coalesceMax); return &b }}

// writeCoalesced writes bufs to gc as one buffer when they hold at most coalesceMax bytes, and
// reports whether it did. gnet copies what the kernel does not take, so the buffer is free again
// once Write returns. Loop only.
func writeCoalesced(gc gnet.Conn, bufs [][]byte) (bool, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	if n > coalesceMax {
		return false, nil
	}
	p := coalesced.Get().(*[]byte)
	b := (*p)[:0]
	for _, piece := range bufs {
		b = append(b, piece...)
	}
	_, err := gc.Write(b)
	*p = b[:0]
	coalesced.Put(p)
	return true, err
}
