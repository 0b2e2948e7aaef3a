package poller

import (
	"crypto/tls"
	"net"
	"sync/atomic"
)

// Memory is an in-memory transport for tests of the layers above, without sockets. The test plays
// the loop and the peer: Feed delivers the peer's bytes, Read takes what the "kernel" accepted,
// SetKernelRoom makes the peer slow, SetNow moves the clock and fires a passed deadline, RunWakes
// runs a pending OnWake. Like gnet, it cannot stop reading: while paused it keeps what the peer
// sends, and closes with ErrInputOverflow past MaxHeldInput. Only Wake is safe from other
// goroutines; everything else runs on the test's goroutine.
type Memory struct {
	session  Session
	now      int64
	deadline int64
	room     int    // how many more bytes the kernel takes; negative for no limit
	wire     []byte // what the kernel took and the peer has not read
	pending  []byte // what Writev took and the kernel has not
	in       []byte // what the peer sent and the session has not consumed
	paused   bool
	resumed  bool // ResumeRead was called: RunWakes offers the kept input
	closed   bool
	shut     bool // CloseWrite was called
	closeErr error
	woken    atomic.Bool
	writes   int
	failWith error // the next write fails with it, closing the connection inside the write
}

// NewMemory opens s on an in-memory transport whose clock reads now, with no limit on what the
// kernel takes.
func NewMemory(s Session, now int64) *Memory { return NewMemoryWithRoom(s, now, -1) }

// NewMemoryWithRoom is NewMemory with a kernel that takes room bytes (see SetKernelRoom) from the
// start, OnOpen's turn included.
func NewMemoryWithRoom(s Session, now int64, room int) *Memory {
	m := &Memory{session: s, now: now, room: room}
	s.OnOpen(m, now)
	return m
}

// Feed delivers b from the peer, and offers the session every byte not consumed yet.
func (m *Memory) Feed(b []byte) {
	if m.closed {
		return
	}
	m.in = append(m.in, b...)
	m.offer()
}

func (m *Memory) offer() {
	if m.paused {
		if len(m.in) > MaxHeldInput {
			m.end(ErrInputOverflow)
		}
		return
	}
	if len(m.in) == 0 {
		return
	}
	n := m.session.OnTraffic(m.in)
	if !m.closed {
		m.in = append(m.in[:0], m.in[n:]...)
	}
}

// Held returns how many received bytes the session has not consumed.
func (m *Memory) Held() int { return len(m.in) }

// Read returns and forgets what the kernel took; the room it frees takes buffered bytes.
func (m *Memory) Read() []byte {
	out := m.wire
	m.wire = nil
	if m.room >= 0 {
		m.room += len(out)
	}
	m.move()
	return out
}

// SetKernelRoom sets how many more bytes the kernel takes before the peer reads (negative: no
// limit), and moves what fits out of the transport's buffer.
func (m *Memory) SetKernelRoom(n int) { m.room = n; m.move() }

func (m *Memory) move() {
	n := len(m.pending)
	if m.room >= 0 {
		n = min(n, m.room)
		m.room -= n
	}
	m.wire = append(m.wire, m.pending[:n]...)
	m.pending = append(m.pending[:0], m.pending[n:]...)
}

// SetNow sets the clock and runs OnTimer if the deadline has passed.
func (m *Memory) SetNow(now int64) {
	m.now = now
	if m.deadline != 0 && now >= m.deadline && !m.closed {
		m.deadline = 0
		m.session.OnTimer(now)
	}
}

// RunWakes runs OnWake if Wake was called since the last run, and offers the input kept while
// paused if the session resumed it since; it reports whether it ran anything.
func (m *Memory) RunWakes() bool {
	ran := false
	if m.woken.CompareAndSwap(true, false) && !m.closed {
		m.session.OnWake()
		ran = true
	}
	if m.resumed && !m.closed {
		m.resumed = false
		m.offer()
		ran = true
	}
	return ran
}

// PeerGone ends the connection as a vanished peer or a socket error would, with err.
func (m *Memory) PeerGone(err error) { m.end(err) }

// Writes returns how many times Writev was called.
func (m *Memory) Writes() int { return m.writes }

// Deadline returns the deadline set, 0 for none.
func (m *Memory) Deadline() int64 { return m.deadline }

// WriteClosed reports whether CloseWrite was called.
func (m *Memory) WriteClosed() bool { return m.shut }

// CloseError returns the error the connection was closed with, nil for a close of its own.
func (m *Memory) CloseError() error { return m.closeErr }

// Paused reports whether the session paused its input.
func (m *Memory) Paused() bool { return m.paused }

func (m *Memory) end(err error) {
	if m.closed {
		return
	}
	m.closed, m.closeErr = true, err
	m.session.OnClose(err)
}

// FailWrites makes the next write fail with err, and close the connection (OnClose runs) before
// Writev returns, as a gnet write that fails does.
func (m *Memory) FailWrites(err error) { m.failWith = err }

// Writev implements Transport.
func (m *Memory) Writev(bufs [][]byte) error {
	if m.closed {
		return net.ErrClosed
	}
	if err := m.failWith; err != nil {
		m.end(err)
		return err
	}
	m.writes++
	for _, b := range bufs {
		m.pending = append(m.pending, b...)
	}
	m.move()
	return nil
}

// Buffered implements Transport.
func (m *Memory) Buffered() int { return len(m.pending) }

// PauseRead implements Transport.
func (m *Memory) PauseRead() { m.paused = true }

// ResumeRead implements Transport.
func (m *Memory) ResumeRead() {
	if m.paused {
		m.paused, m.resumed = false, true // offered by RunWakes, as gnet offers it on a wake
	}
}

// CloseSocket implements Transport: what is still buffered is dropped, as gnet drops it.
func (m *Memory) CloseSocket() {
	m.pending = nil
	m.end(nil)
}

// CloseWrite implements Transport.
func (m *Memory) CloseWrite() { m.shut = true }

// Closed implements Transport.
func (m *Memory) Closed() bool { return m.closed }

// Wake implements Transport.
func (m *Memory) Wake() { m.woken.Store(true) }

// SetDeadline implements Transport.
func (m *Memory) SetDeadline(at int64) { m.deadline = at }

// Now implements Transport.
func (m *Memory) Now() int64 { return m.now }

// RemoteAddr implements Transport.
func (m *Memory) RemoteAddr() net.Addr { return memoryAddr{} }

// LocalAddr implements Transport.
func (m *Memory) LocalAddr() net.Addr { return memoryAddr{} }

// TLS implements Transport.
func (m *Memory) TLS() (tls.ConnectionState, bool) { return tls.ConnectionState{}, false }

type memoryAddr struct{}

func (memoryAddr) Network() string { return "memory" }
func (memoryAddr) String() string  { return "memory" }
