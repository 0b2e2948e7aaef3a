package api

import (
	"errors"
	"fmt"
	"sync"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// InStream is a binary message being received. The binary handler gets it at the message's first
// frame and sets OnData and OnEnd (or ReadAll) before returning; each frame's payload is then
// handed to OnData as it arrives, and OnEnd runs once, with nil after the final frame or with
// ErrTruncated when the connection ended first. Everything runs on the connection's loop (on a
// worker with an Executor).
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

// Pause stops reading from the connection until Resume: no more of the peer's input is handled
// meanwhile (no OnData, nor any other message, ping or close frame), and the peer is throttled
// once the buffers on the way fill. Called from OnData, it takes effect before the next chunk;
// from another goroutine, soon after. It lets a slow consumer (a disk, a database) hold back a
// fast sender without buffering the message. It pauses the connection, not only this message,
// and is safe from any goroutine. With an Executor, the chunks already handed to the workers
// (at most its backlog bound) still arrive after Pause.
//
// The connection stops reading its socket, plain TCP and TLS alike, so TCP holds the peer back for
// as long as the pause lasts; the peer can only fill the kernel's buffers.
func (s *InStream) Pause() { s.conn.ec.PauseInput() }

// Resume reads from the connection again after Pause: what arrived meanwhile is handed over first,
// in order. It is safe from any goroutine.
func (s *InStream) Resume() { s.conn.ec.ResumeInput() }

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
// io.WriteCloser that keeps the io contract: Write returns once its bytes are queued (or buffered
// toward the next fragment), waiting for room when the send queue is full, and a message that
// cannot be sent whole fails visibly. One goroutine at a time may use it.
//
// Write and Close may block until the peer has read enough: call them from a goroutine of your
// own, never from a handler, which runs on the connection's loop and would stop the very loop
// that drains the queue. To give up on a stream whose peer does not read, close the connection:
// the wait ends with an error.
type OutStream struct {
	mu       sync.Mutex
	room     sync.Cond // with mu: signalled when the send queue drained or the connection closed
	conn     *Conn
	fragment int
	buf      *bufpool.Buffer // bytes written and not sent yet: fewer than a fragment between calls
	first    bool
	closed   bool
	drains   int   // Drained events seen while the stream was open
	bound    int   // the largest room the send queue was seen to have: at most its cap
	err      error // why the message was cut; nil while it is whole
}

// Write adds p to the message. Once at least the fragmentation size (SetBinaryFragmentation) is
// pending, it is sent: the bytes held from earlier writes joined with p into one fragment when
// they fit the send queue, else in fragments that fit it (fragments are joined, and split only to
// fit). When the queue is full, Write waits until it drained. p is not retained.
//
// If the message cannot be sent whole, Write returns 0 and an error, and the message is cut: every
// later Write and Close returns the same error, and no final fragment is ever sent, so the peer
// never takes what it received for a complete message. The error matches ErrStreamClosed and its
// cause (errors.Is): ErrClosed when the connection closed, ErrNotOpen when it began closing, or
// ErrQueueFull when the queue cap (MaxQueuedBytes) is too small for any fragment.
func (s *OutStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	n := len(p)
	for s.buffered()+len(p) >= s.least() {
		var err error
		if p, _, err = s.sendFragment(p, false, nil); err != nil {
			return 0, err
		}
	}
	if len(p) > 0 {
		if s.buf == nil {
			s.buf = bufpool.Get()
		}
		s.buf.B = append(s.buf.B, p...)
	}
	return n, nil
}

// Close sends what is pending as the final fragment (an empty one if nothing is; in fragments
// that fit the send queue, waiting for room as Write does) and releases the binary stream, so the
// next send may follow at once. It returns the error that cut the message, if one did; then no
// final fragment is sent.
func (s *OutStream) Close() error {
	return s.CloseWith(nil)
}

// CloseWith is Close with a completion callback, which runs exactly once: once the final fragment
// reached the kernel, or with the error that stopped it (also when the message was cut, before
// CloseWith returns).
func (s *OutStream) CloseWith(cb func(error)) error {
	err := s.closeStream(cb)
	if err != nil && cb != nil {
		cb(err)
	}
	return err
}

func (s *OutStream) closeStream(cb func(error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		s.closed = true
		return err
	}
	s.closed = true
	var done func(error)
	if cb != nil {
		// Refusals are returned and reported by CloseWith; the queue reports only completions.
		done = func(err error) {
			if err == nil || errors.Is(err, ErrClosed) {
				cb(err)
			}
		}
	}
	for final := false; !final; {
		var err error
		if _, final, err = s.sendFragment(nil, true, done); err != nil {
			return err
		}
	}
	s.conn.cold.Load().outStream.CompareAndSwap(s, nil) // cold was made by BeginBinary
	bufpool.Put(s.buf)
	s.buf = nil
	return nil
}

// usable returns the error a write to the stream meets: the one that cut the message, or
// ErrStreamClosed once it was closed. s.mu is held.
func (s *OutStream) usable() error {
	switch {
	case s.err != nil:
		return s.err
	case s.closed:
		return ErrStreamClosed
	}
	return nil
}

func (s *OutStream) buffered() int {
	if s.buf == nil {
		return 0
	}
	return len(s.buf.B)
}

// least is the smallest fragment Write sends: the fragmentation size, or less when the send
// queue cannot take that much (bound is at most its cap). s.mu is held.
func (s *OutStream) least() int {
	if s.bound == 0 {
		s.bound = s.conn.ec.Room()
	}
	return max(1, min(s.fragment, s.bound-codec.MaxHeaderLen))
}

// sendFragment sends one fragment of what is pending (the buffered bytes, then p), waiting for
// room while the send queue is full, and returns what of p is left. With final, the fragment that
// takes everything pending is the message's last, and last says so. s.mu is held.
//
// A fragment is at most the room the queue has, or at most least bytes, which the queue takes
// once it is empty: so a refused fragment always leaves output queued, and Drained follows.
func (s *OutStream) sendFragment(p []byte, final bool, cb func(error)) (rest []byte, last bool, err error) {
	for {
		room := s.conn.ec.Room()
		s.bound = max(s.bound, room)
		if s.bound <= codec.MaxHeaderLen {
			// No fragment can ever fit. Nothing was sent yet (a fragment did fit before, else), so
			// the stream lock can go without leaving the peer inside a message.
			s.conn.ec.ReleaseStream()
			return p, false, s.cut(ErrQueueFull)
		}
		least := s.least()
		var piece []byte
		piece, p = s.next(p, max(room-codec.MaxHeaderLen, least), least)
		fromBuf := s.buffered() > 0
		left := len(p) - len(piece)
		if fromBuf {
			left = s.buffered() - len(piece) + len(p)
		}
		last = final && left == 0
		var fin func(error)
		if last {
			fin = cb
		}
		switch err := s.conn.ec.WriteStream(piece, s.first, last, fin); {
		case err == nil:
			s.first = false
			if !fromBuf {
				return p[len(piece):], last, nil
			}
			s.buf.B = s.buf.B[:copy(s.buf.B, s.buf.B[len(piece):])]
			return p, last, nil
		case errors.Is(err, ErrQueueFull):
			if err := s.waitDrain(); err != nil {
				return p, false, err
			}
		default:
			return p, false, s.cut(err) // the engine released the stream lock
		}
	}
}

// next returns the next fragment, of at most limit bytes, and what of p is left. When bytes are
// buffered, the fragment starts with them: p joins them, all of it when the whole fits, else only
// up to least bytes, so that the buffer never holds much more than a fragment; the rest of p goes
// in fragments of its own, without a copy. When nothing is buffered, the fragment is the head of
// p, which is left as it is. s.mu is held.
func (s *OutStream) next(p []byte, limit, least int) (piece, rest []byte) {
	n := s.buffered()
	if n == 0 {
		return p[:min(len(p), limit)], p
	}
	k := 0
	switch {
	case n+len(p) <= limit:
		k = len(p)
	case n < least:
		k = min(len(p), least-n)
	}
	s.buf.B = append(s.buf.B, p[:k]...)
	return s.buf.B[:min(len(s.buf.B), limit)], p[k:]
}

// waitDrain waits until the send queue drained after a refusal, and returns the error that cut
// the message if the connection closed meanwhile. s.mu is held; the wait releases it.
func (s *OutStream) waitDrain() error {
	s.room.L = &s.mu
	seen := s.drains
	for s.drains == seen && s.err == nil {
		s.room.Wait()
	}
	return s.err
}

// cut fails the message because of cause, unless it was already cut: the error, which matches
// both ErrStreamClosed and cause, stays for every later Write and Close, and no final fragment is
// ever sent. s.mu is held.
func (s *OutStream) cut(cause error) error {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %w", ErrStreamClosed, cause)
	}
	s.conn.cold.Load().outStream.CompareAndSwap(s, nil) // cold was made by BeginBinary
	bufpool.Put(s.buf)
	s.buf = nil
	return s.err
}

// drained wakes a Write or Close waiting for room: the send queue is empty again. Loop only.
func (s *OutStream) drained() {
	s.mu.Lock()
	s.drains++
	s.mu.Unlock()
	s.room.Broadcast()
}

// abandon cuts a stream whose connection closed, waking a Write or Close waiting for room.
func (s *OutStream) abandon() {
	s.mu.Lock()
	s.cut(ErrClosed)
	s.mu.Unlock()
	s.room.Broadcast()
	s.conn.ec.ReleaseStream()
}
