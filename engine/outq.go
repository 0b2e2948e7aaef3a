package engine

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// flushChunk is how much output the queue gathers before it hands more to a transport that still
// holds a backlog: gnet keeps each write it could not send as a node of its own, so many small
// writes to a slow peer would cost far more memory than their bytes.
const flushChunk = 16 << 10

// nodeOverhead is what the transport spends on one write it holds beside the bytes: a buffer
// node and the rounding of its size class.
const nodeOverhead = 64

// outq is a connection's output not yet taken by the kernel: the frames queued and not handed to
// the transport (owned bytes, borrowed payloads, shared prepared frames), the completion
// callbacks at their offsets, and what the transport still holds. Its fields are guarded by the
// connection's mutex, except where a method says it runs on the loop.
type outq struct {
	owned     *bufpool.Buffer // frames copied in; nil when none
	segs      []segment       // borrowed and shared pieces, in order, each after owned.B[:at]
	segBytes  int             // bytes in segs
	spare     []segment       // the other slice of segs, while one is being written
	callbacks []sendCallback  // in order of end
	handed    uint64          // bytes ever handed to the transport
	backlog   int             // bytes the transport held at the last look
	nodes     int             // writes handed to the transport while it held a backlog
}

// segment is a payload that goes out without being copied into the owned buffer.
type segment struct {
	at     int     // where in owned.B it goes
	p      []byte  // borrowed bytes, or the shared frame's
	shared *Shared // non-nil for a shared frame, released once written
}

// sendCallback is a completion callback waiting for the bytes up to end to reach the kernel.
type sendCallback struct {
	end uint64
	fn  func(error)
}

var queues = sync.Pool{New: func() any { return new(outq) }}

// callbackScratch holds, for a moment on a loop, the callbacks whose bytes reached the kernel.
var callbackScratch = sync.Pool{New: func() any { return new([]sendCallback) }}

// iovScratch holds, for a moment on a loop, the pieces of one vectored write.
var iovScratch = sync.Pool{New: func() any { return new([][]byte) }}

// queued returns the bytes queued and not handed to the transport.
func (q *outq) queued() int {
	n := q.segBytes
	if q.owned != nil {
		n += len(q.owned.B)
	}
	return n
}

// held returns the memory the output holds: the owned buffer with its growth slack, the pieces,
// and what the transport holds with its overhead. The slack counted is at most the buffer's
// length (append doubles): a pooled buffer may come with more capacity from an earlier use, which
// is the pool's memory, not this connection's doing.
func (q *outq) held() int {
	n := q.segBytes + q.backlog + q.nodes*nodeOverhead
	if q.owned != nil {
		n += min(cap(q.owned.B), 2*len(q.owned.B))
	}
	return n
}

// idle reports whether the queue holds nothing and waits for nothing, so it can be given back.
func (q *outq) idle() bool {
	return q.queued() == 0 && q.backlog == 0 && len(q.callbacks) == 0
}

func (q *outq) buffer() *bufpool.Buffer {
	if q.owned == nil {
		q.owned = bufpool.Get()
	}
	return q.owned
}

// appendFrame encodes one frame into the owned buffer, masked with a fresh key for a client.
func (q *outq) appendFrame(role codec.Role, fin bool, op codec.Opcode, payload []byte) {
	b := q.buffer()
	var key [4]byte
	if role == codec.ClientRole {
		key = maskKey()
	}
	b.B = codec.AppendFrame(b.B, fin, op, payload, role, key)
}

// appendBorrowed queues a server frame whose payload is written from where it lies: its header
// goes into the owned buffer, the payload beside it. The bytes must stay valid until the flush.
func (q *outq) appendBorrowed(fin bool, op codec.Opcode, payload []byte) {
	b := q.buffer()
	b.B = codec.AppendHeader(b.B, codec.Header{Fin: fin, Opcode: op, Length: int64(len(payload))})
	q.appendPiece(payload)
}

// appendPiece queues borrowed bytes, written from where they lie after what is queued: a payload
// beside its header, or a whole frame framed in place. They must stay valid until the flush. No
// owned buffer is taken for them.
func (q *outq) appendPiece(p []byte) {
	at := 0
	if q.owned != nil {
		at = len(q.owned.B)
	}
	q.segs = append(q.segs, segment{at: at, p: p})
	q.segBytes += len(p)
}

// appendShared queues a prepared frame, taking a reference that the flush gives back.
func (q *outq) appendShared(s *Shared) {
	s.retain()
	q.segs = append(q.segs, segment{at: len(q.buffer().B), p: s.frame(), shared: s})
	q.segBytes += len(s.frame())
}

// keepBorrowed copies the borrowed pieces into the owned buffer, each where it goes in the output,
// so that the queue can wait past the turn whose flush their bytes were lent until. Shared pieces
// stay as they are. c.mu is held.
func (q *outq) keepBorrowed() {
	if !slices.ContainsFunc(q.segs, func(s segment) bool { return s.shared == nil }) {
		return
	}
	old, b := q.owned, bufpool.Get()
	var from []byte
	if old != nil {
		from = old.B
	}
	at, kept := 0, q.segs[:0]
	for _, s := range q.segs {
		b.B = append(b.B, from[at:s.at]...)
		at = s.at
		if s.shared != nil {
			kept = append(kept, segment{at: len(b.B), p: s.p, shared: s.shared})
			continue
		}
		b.B = append(b.B, s.p...)
		q.segBytes -= len(s.p)
	}
	b.B = append(b.B, from[at:]...)
	clear(q.segs[len(kept):])
	q.segs, q.owned = kept, b
	bufpool.Put(old)
}

// addCallback makes fn run once everything queued so far has reached the kernel.
func (q *outq) addCallback(fn func(error)) {
	q.callbacks = append(q.callbacks, sendCallback{q.handed + uint64(q.queued()), fn})
}

// take hands the queued output over for writing: the owned buffer and the pieces. The queue is
// empty afterwards and takes new frames at once; what it handed counts as the transport's backlog
// until the next look. The caller gives both back with written.
func (q *outq) take() (*bufpool.Buffer, []segment) {
	owned, segs := q.owned, q.segs
	n := q.queued()
	q.handed += uint64(n)
	// Until the loop looks at the transport again (afterFlush), count what it is handed as its
	// backlog: a send checked against the cap meanwhile, from another goroutine while the write
	// runs, must not find those bytes counted nowhere.
	q.backlog += n
	q.owned, q.segs, q.segBytes = nil, q.spare[:0], 0
	q.spare = nil
	return owned, segs
}

// written gives back what take handed over, once written, keeping segs for the next take. Loop
// only; q's mutex is not needed for owned and segs, but is held for spare.
func (q *outq) written(owned *bufpool.Buffer, segs []segment) {
	giveBack(owned, segs)
	if q.spare == nil {
		q.spare = segs[:0]
	}
}

// giveBack returns the owned buffer to its pool and the shared frames' references. It is all
// that is left to do with what take handed over when the queue itself is gone: the connection
// closed during the write, and its queue went back to the pool.
func giveBack(owned *bufpool.Buffer, segs []segment) {
	bufpool.Put(owned)
	for i := range segs {
		if segs[i].shared != nil {
			segs[i].shared.release()
		}
		segs[i] = segment{}
	}
}

// write hands owned and segs to t in one vectored write. Loop only.
func write(t interface{ Writev([][]byte) error }, owned *bufpool.Buffer, segs []segment) {
	var b []byte
	if owned != nil {
		b = owned.B
	}
	if len(segs) == 0 && len(b) == 0 {
		return
	}
	iovp := iovScratch.Get().(*[][]byte)
	iov := (*iovp)[:0]
	from := 0
	for _, s := range segs {
		if s.at > from {
			iov = append(iov, b[from:s.at])
		}
		iov = append(iov, s.p)
		from = s.at
	}
	if from < len(b) {
		iov = append(iov, b[from:])
	}
	_ = t.Writev(iov) // a failed write closes the connection; OnClose reports it
	clear(iov)
	*iovp = iov[:0]
	iovScratch.Put(iovp)
}

// reached takes out the callbacks whose bytes are in the kernel (inKernel bytes ever handed and
// taken), in order, into scratch. q's mutex is held.
func (q *outq) reached(inKernel uint64, scratch *[]sendCallback) {
	i := 0
	for i < len(q.callbacks) && q.callbacks[i].end <= inKernel {
		i++
	}
	if i == 0 {
		return
	}
	*scratch = append((*scratch)[:0], q.callbacks[:i]...)
	n := copy(q.callbacks, q.callbacks[i:])
	clear(q.callbacks[n:])
	q.callbacks = q.callbacks[:n]
}

// drop empties the queue of a closed connection and returns its callbacks, to be told ErrClosed.
func (q *outq) drop() []sendCallback {
	owned, segs := q.take()
	q.written(owned, segs)
	cbs := q.callbacks
	q.callbacks = nil
	q.backlog, q.nodes = 0, 0
	return cbs
}

// Shared is a frame prepared once and written to any number of server connections without a copy
// (a prepared message): a pooled buffer with a reference count. It is given back to its pool
// when the last connection has written it and its creator has called Release.
type Shared struct {
	buf  *bufpool.Buffer
	op   codec.Opcode
	refs atomic.Int32
	z    atomic.Pointer[Shared] // the compressed variant, built on first use (deflate.go)
}

// NewShared prepares an unmasked server frame of one whole message. The caller holds one
// reference, given back with Release.
func NewShared(op codec.Opcode, payload []byte) *Shared {
	s := &Shared{buf: bufpool.Get(), op: op}
	s.buf.B = codec.AppendFrame(s.buf.B, true, op, payload, codec.ServerRole, [4]byte{})
	s.refs.Store(1)
	return s
}

// JoinShared prepares one piece holding the frames of ss, in order: a batch of prepared messages
// for the same connections then costs each connection one reference and one piece of its write
// instead of one per message. The caller holds one reference; ss are left as they are.
func JoinShared(ss []*Shared) *Shared {
	n := 0
	for _, s := range ss {
		n += len(s.frame())
	}
	j := &Shared{buf: bufpool.Get(), op: ss[0].op}
	j.buf.B = slices.Grow(j.buf.B[:0], n)
	for _, s := range ss {
		j.buf.B = append(j.buf.B, s.frame()...)
	}
	j.refs.Store(1)
	return j
}

// Release gives back the creator's reference.
func (s *Shared) Release() { s.release() }

func (s *Shared) frame() []byte { return s.buf.B }

func (s *Shared) retain() { s.refs.Add(1) }

func (s *Shared) release() {
	if s.refs.Add(-1) == 0 {
		if z := s.z.Load(); z != nil {
			z.release()
		}
		bufpool.Put(s.buf)
		s.buf = nil
	}
}
