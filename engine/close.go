package engine

import (
	"errors"
	"io"

	"github.com/wsloop/wsloop/codec"
)

// The close state machine. A connection is open until a close frame is sent or received
// (closing: we sent, they sent, or both), then drains its output, then is closed. Every way a
// connection ends goes through here: a close handshake (closeReceived, WriteClose), a failure
// (fail: protocol violations, handler panics, refused handshakes, a slow peer), an abort (abort:
// timeouts, Cancel, Terminate). One function, settle, closes or half-closes the socket, and only
// once the output is drained, unless the end is immediate. Closed fires exactly once, from
// OnClose, after the socket is really closed; Error fires before it when an error caused it.

// ErrCloseTime ends a connection whose close we sent was not answered by a close frame within
// CloseTimeout. A close exchanged in full whose TCP end is late (a server that never sends its
// FIN) is no error: Closed reports the peer's code.
var ErrCloseTime = errors.New("websocket: closing handshake timed out: the peer did not answer our close")

// socketEnd is what the close state machine does with the socket.
type socketEnd uint8

const (
	keepSocket   socketEnd = iota
	closeDrained           // close once the output is in the kernel (the server's end, a failure)
	shutDrained            // half-close once the output is in the kernel (the client's end)
	shutDone               // half-closed: wait for the peer's FIN, within the close timeout
	closeNow               // close at once, dropping what is queued
)

// closing is the close handshake's state on the loop.
type closing struct {
	received bool // a close frame arrived
	code     codec.CloseCode
	reason   []byte
	failed   codec.CloseCode // the code we failed the connection with
	err      error           // what ended the connection, reported by Error before Closed
	stopRead bool            // nothing more is read
	socket   socketEnd
}

// done reports whether the connection ended deliberately: a socket error after that is no news.
func (s *closing) done() bool { return s.received || s.failed != 0 || s.err != nil }

// result is the code and reason the Closed event reports.
func (s *closing) result() (codec.CloseCode, []byte) {
	switch {
	case s.failed != 0:
		return s.failed, nil
	case s.received:
		return s.code, s.reason
	default:
		return codec.CloseAbnormal, nil
	}
}

// isZero reports whether nothing has started to close.
func (s *closing) isZero() bool {
	return !s.received && s.code == 0 && s.reason == nil && s.failed == 0 && s.err == nil && !s.stopRead &&
		s.socket == keepSocket
}

// end records what to do with the socket; a later, more final decision wins.
func (s *closing) end(e socketEnd) {
	if e > s.socket {
		s.socket = e
	}
}

// settle is the one place that closes or half-closes the socket: at once for closeNow, once
// drained otherwise. It reports whether the socket was closed. Loop only.
func (c *Conn) settle(drained bool) bool {
	switch end := c.closingState().socket; {
	case end == closeNow, end == closeDrained && drained:
		c.t.CloseSocket()
		return true
	case end == shutDrained && drained:
		c.rare.closing.socket = shutDone
		c.t.CloseWrite()
	}
	return false
}

// WriteClose starts the closing handshake with code and reason (code 0 sends a close frame with no
// code, reported as 1005). In Connecting it abandons the handshake; once a close was sent it does
// nothing. The connection stays open until the peer answers or CloseTimeout passes.
func (c *Conn) WriteClose(code codec.CloseCode, reason string) error {
	if code != 0 && !codec.ValidCloseCode(code) {
		return ErrCloseCode
	}
	if !codec.ValidUTF8(stringBytes(reason)) {
		return ErrInvalidText
	}
	c.mu.Lock()
	switch {
	case c.state == Connecting:
		c.state = Closing
		c.closeSent = true // nothing may be sent any more; the loop closes the socket
	case c.state == Open && !c.closeSent:
		c.sendCloseLocked(code, stringBytes(reason))
	}
	c.unlockAndWake()
	return nil
}

// Cancel gives up a connection still in Connecting (its context was cancelled): the Error event
// reports err, then Closed. It does nothing once the connection is open.
func (c *Conn) Cancel(err error) {
	c.mu.Lock()
	if c.state == Connecting {
		c.state = Closing
		c.closeSent = true
		c.cancelErr = err
	}
	c.unlockAndWake()
}

// Terminate closes the socket at once, from any goroutine and in any state, dropping whatever is
// still queued: for a shutdown whose grace period ran out, or a connection still in its handshake.
// Closed reports 1006 unless a close frame arrived.
func (c *Conn) Terminate() {
	c.mu.Lock()
	c.terminated = true
	enrolled, t := c.enrolled, c.t
	c.mu.Unlock()
	if enrolled {
		t.Wake()
	}
}

// sendCloseLocked queues a close frame with code and reason. c.mu is held.
func (c *Conn) sendCloseLocked(code codec.CloseCode, reason []byte) {
	var buf [125]byte
	var p []byte
	if code != 0 && code != codec.CloseNoStatus {
		p = codec.AppendClosePayload(buf[:0], code, string(reason))
	}
	c.queue().appendFrame(c.cfg.Role, true, codec.OpClose, p)
	c.closeSent = true
	c.state = Closing
	c.streaming = false
}

// closeReceived handles the peer's close frame (RFC 6455 section 7.1): echo it unless we sent one,
// then the server closes TCP once the echo is out; the client half-closes and waits for the
// server's FIN, so that a server that waits for the client (nodejs-websocket does) closes too.
func (c *Conn) closeReceived(p []byte) {
	code, reason, err := codec.ParseClosePayload(p)
	if err != nil {
		c.failProtocol(err)
		return
	}
	cl := &c.side().closing
	cl.received, cl.code = true, code
	cl.reason = append([]byte(nil), reason...)
	cl.stopRead = true
	c.mu.Lock()
	if !c.closeSent {
		c.sendCloseLocked(code, reason)
	}
	c.state = Closing
	c.mu.Unlock()
	if c.cfg.Role == codec.ServerRole {
		cl.end(closeDrained)
	} else {
		cl.end(shutDrained)
	}
}

// failProtocol fails the connection after a protocol violation with the violation's close code
// (RFC 6455 section 7.1.7).
func (c *Conn) failProtocol(err error) {
	code, reason := codec.CloseProtocolError, ""
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		code, reason = pe.Code, pe.Msg
	}
	c.fail(code, reason, err)
}

// fail ends the connection because of err: report it (Error, then Closed), send a close frame
// with code and reason unless one was sent, and close the socket once that frame is out. Only the
// first failure is reported.
func (c *Conn) fail(code codec.CloseCode, reason string, err error) {
	cl := &c.side().closing
	cl.stopRead = true
	cl.end(closeDrained)
	if cl.err != nil {
		return
	}
	cl.failed, cl.err = code, err
	c.mu.Lock()
	if c.state == Open && !c.closeSent {
		c.sendCloseLocked(code, stringBytes(reason))
	}
	c.mu.Unlock()
	c.report(err)
}

// report hands err to the Error event if the user knows the connection; a panic of the error
// handler itself is dropped, since the connection is ending anyway.
func (c *Conn) report(err error) {
	defer func() { _ = recover() }()
	if c.visible() {
		c.ev.Error(err)
	}
}

// abort ends the connection at once with err (nil for none): a handshake that timed out, a
// connection given up, a peer that does not read.
func (c *Conn) abort(err error) {
	cl := &c.side().closing
	if err != nil {
		c.endsBecause(err)
	}
	cl.stopRead = true
	cl.end(closeNow)
	c.settle(false)
}

// endsBecause records err as what ends the connection and reports it, unless an earlier error
// did: Closed follows, by whatever path ends the connection.
func (c *Conn) endsBecause(err error) {
	if cl := &c.side().closing; cl.err == nil {
		cl.err = err
		c.report(err)
	}
}

// visible reports whether the user knows the connection: a server connection only once its
// handshake succeeded, a client connection from the start.
func (c *Conn) visible() bool { return c.opened || c.cfg.Role == codec.ClientRole }

// closedError says what a socket error means to the user: nothing for an orderly end of stream
// or a close of our own, the error otherwise.
func closedError(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
