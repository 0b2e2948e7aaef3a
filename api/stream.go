package api

import (
	"sync"

	"github.com/wsloop/wsloop/bufpool"
)

// InStream is a binary message being received. The binary handler gets it at the message's first
// frame and sets OnData and OnEnd (or ReadAll) before returning; each frame's payload is then
// handed to OnData as it arrives, and OnEnd runs once, with nil after the final frame or with
// ErrTruncated when the connection ended first. Everything runs on the connection's loop.
type InStream struct {
	conn   *Conn
	live   bool
	onData func(chunk []byte)
	onEnd  func(err error)
}

// Conn returns the connection the message arrives on.
func (s *InStream) Conn() *Conn { return s.conn }

// OnData sets the handler of the message's chunks. A chunk is valid only during the call.
func (s *InStream) OnData(fn func(chunk []byte)) { s.onData = fn }

// OnEnd sets the handler that runs when the message ends.
func (s *InStream) OnEnd(fn func(err error)) { s.onEnd = fn }

// ReadAll collects the whole message and calls fn with it once it ended (data is then the
// caller's to keep), or with what had arrived and ErrTruncated.
func (s *InStream) ReadAll(fn func(data []byte, err error)) {
	var data []byte
	s.onData = func(chunk []byte) { data = append(data, chunk...) }
	s.onEnd = func(err error) { fn(data, err) }
}

func (s *InStream) chunk(p []byte) {
	if s.live && s.onData != nil {
		s.onData(p)
	}
}

func (s *InStream) end(err error) {
	if !s.live {
		return
	}
	s.live = false
	if s.onEnd != nil {
		s.onEnd(err)
	}
	s.onData, s.onEnd = nil, nil
}

// OutStream is a binary message being sent in fragments, begun with Conn.BeginBinary. It is an
// io.WriteCloser; one goroutine at a time may use it.
type OutStream struct {
	mu       sync.Mutex
	conn     *Conn
	fragment int
	buf      *bufpool.Buffer
	first    bool
	closed   bool
}

// Write adds p to the message. Once at least the fragmentation size has accumulated, all of it is
// sent as one fragment (so fragments are never split, only joined). p is copied.
func (s *OutStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrStreamClosed
	}
	if s.buf == nil {
		s.buf = bufpool.Get()
	}
	s.buf.B = append(s.buf.B, p...)
	if len(s.buf.B) < s.fragment {
		return len(p), nil
	}
	err := s.conn.ec.WriteStream(s.buf.B, s.first, false, nil)
	s.first = false
	s.buf.B = s.buf.B[:0]
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends what has accumulated as the final fragment (an empty one if nothing has) and
// releases the binary stream at once, so the next send may follow immediately.
func (s *OutStream) Close() error {
	return s.CloseWith(nil)
}

// CloseWith is Close with a completion callback, which runs once the final fragment reached the
// kernel, or with the error that stopped it.
func (s *OutStream) CloseWith(cb func(error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if cb != nil {
			cb(ErrStreamClosed)
		}
		return ErrStreamClosed
	}
	s.closed = true
	var rest []byte
	if s.buf != nil {
		rest = s.buf.B
	}
	s.conn.cold.Load().outStream.CompareAndSwap(s, nil) // set by BeginBinary
	err := s.conn.ec.WriteStream(rest, s.first, true, cb)
	bufpool.Put(s.buf)
	s.buf = nil
	return err
}

// abandon ends a stream whose connection closed.
func (s *OutStream) abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.conn.ec.ReleaseStream()
	bufpool.Put(s.buf)
	s.buf = nil
}
