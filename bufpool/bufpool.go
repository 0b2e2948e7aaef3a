package bufpool

import (
	"errors"
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

var (
	pool bytebufferpool.Pool
	out  atomic.Int64
)

// Get lends an empty buffer. Give it back with Put once its bytes are no longer needed.
func Get() *Buffer {
	out.Add(1)
	return pool.Get()
}

// Put gives a buffer back to the pool. The caller must not touch it afterwards. Put(nil) does
// nothing.
func Put(b *Buffer) {
	if b == nil {
		return
	}
	out.Add(-1)
	pool.Put(b)
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
