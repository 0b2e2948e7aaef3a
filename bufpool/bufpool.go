package bufpool

import (
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"
)

// DefaultCap is the cap of a buffer when the caller has no other: 2 MiB, the default
// maxBufferLength of nodejs-websocket.
const DefaultCap = 2 << 20

// ErrTooBig is returned when an append would grow a buffer past its cap.
var ErrTooBig = errors.New("bufpool: buffer would grow past its cap")

// Buffer is a pooled, growable byte slice. Its bytes are B.
type Buffer = bytebufferpool.ByteBuffer

const (
	// minClassBits: class 0 holds every buffer smaller than 1 KiB, and Get makes new buffers of
	// 512 B, room for a handshake answer or a few small frames.
	minClassBits = 9

	// classes is the number of size classes: class i holds the buffers whose capacity is at least
	// 512<<i bytes (class 0: any), from 512 B to 64 KiB. Buffers of 128 KiB and more are dropped by
	// Put. 64 KiB is the most one read of gnet delivers (its default read buffer), so a message
	// that arrives in one read, and a turn's output of such messages, stays pooled. A bigger buffer
	// holds a message assembled from several reads, whose copies cost more than one allocation, and
	// keeping it would pin up to DefaultCap for each buffer in circulation long after the one huge
	// message, since a pooled buffer is lent again for any smaller need.
	classes = 8
)

var (
	pools [classes]sync.Pool // *Buffer by size class
	// nonEmpty has bit i set while class i may hold buffers, so that Get skips empty classes
	// without searching them (an empty sync.Pool is searched on every P). It is a hint both ways:
	// the collector may empty a class behind its bit, and a buffer put while a Get on another P
	// finds the class empty may stay unseen until the next Put to its class (as a buffer in
	// another P's private slot of a sync.Pool is anyway).
	nonEmpty atomic.Uint32
	out      atomic.Int64
)

// classOf returns the class of a buffer of capacity n: classes or more when it is too big to keep.
func classOf(n int) int {
	return max(bits.Len(uint(n>>minClassBits))-1, 0)
}

// Get lends an empty buffer: the smallest pooled one, or a new one of 512 B when none is pooled.
// Give it back with Put once its bytes are no longer needed.
//
// A buffer only grows while it is lent and Put keeps it at its grown size, so in any steady mix of
// sizes up to 64 KiB the buffers in circulation settle at sizes that fit, and lending allocates
// nothing, whether the buffer grows through Append or a plain append to B.
func Get() *Buffer {
	out.Add(1)
	for m := nonEmpty.Load(); m != 0; m &= m - 1 {
		i := bits.TrailingZeros32(m)
		if b, _ := pools[i].Get().(*Buffer); b != nil {
			return b
		}
		nonEmpty.And(^uint32(1 << i)) // taken by other Gets, or emptied by the collector
	}
	return &Buffer{B: make([]byte, 0, 1<<minClassBits)}
}

// Put gives a buffer back to the pool. The caller must not touch it afterwards. Put(nil) does
// nothing.
func Put(b *Buffer) {
	if b == nil {
		return
	}
	out.Add(-1)
	i := classOf(cap(b.B))
	if i >= classes {
		return
	}
	b.B = b.B[:0]
	pools[i].Put(b)
	if nonEmpty.Load()&(1<<i) == 0 { // a load is cheaper than an atomic write on every Put
		nonEmpty.Or(1 << i)
	}
}

// Append appends p to b unless that would make b longer than limit bytes, in which case b is left
// as it was and ErrTooBig is returned.
func Append(b *Buffer, p []byte, limit int) error {
	if len(p) > limit-len(b.B) {
		return ErrTooBig
	}
	b.B = append(b.B, p...)
	return nil
}

// Out returns the number of buffers lent by Get and not yet given back by Put.
func Out() int64 { return out.Load() }
