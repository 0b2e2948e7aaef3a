package engine

import (
	"errors"
	"io"

	"github.com/wsloop/wsloop/codec"
)

// closing is the close handshake's state on the loop.
type closing struct {
	received        bool // a close frame arrived
	code            codec.CloseCode
	reason          []byte
	failed          codec.CloseCode // the code we failed the connection with
	err             error           // what ended the connection, reported by Error before Closed
	stopRead        bool            // nothing more is read
	tcpWhenDrained  bool            // close the socket once the output is in the kernel
	shutWhenDrained bool            // end our half of the stream once the output is in the kernel
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

func (s *closing) release() { s.reason = nil }

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
		enrolled := c.enrolled
		c.mu.Unlock()
		if enrolled {
			c.Wake()
		}
		return nil
	case c.state != Open || c.closeSent:
		c.mu.Unlock()
		return nil
	}
	c.sendCloseLocked(code, stringBytes(reason))
	c.unlockAndWake()
	return nil
}

// Cancel gives up a connection still in Connecting (its context was cancelled): the Error event
// reports err, then Closed. It does nothing once the connection is open.
func (c *Conn) Cancel(err error) {
	c.mu.Lock()
	if c.state != Connecting {
		c.mu.Unlock()
		return
	}
	c.state = Closing
	c.closeSent = true
	c.cancelErr = err
	enrolled := c.enrolled
	c.mu.Unlock()
	if enrolled {
		c.Wake()
	}
}

// Terminate closes the socket at once, from any goroutine, dropping whatever is still queued:
// for a shutdown whose grace period ran out. Closed reports 1006 unless a close frame arrived.
func (c *Conn) Terminate() {
	c.mu.Lock()
	c.terminated = true
	enrolled := c.enrolled
	c.mu.Unlock()
	if enrolled {
		c.Wake()
	}
}

// sendCloseLocked queues a close frame with code and reason. c.mu is held.
func (c *Conn) sendCloseLocked(code codec.CloseCode, reason []byte) {
	var buf [125]byte
	var p []byte
	if code != 0 && code != codec.CloseNoStatus {
		p = codec.AppendClosePayload(buf[:0], code, string(reason))
	}
	c.appendFrameLocked(true, codec.OpClose, p)
	c.closeSent = true
	c.state = Closing
	c.streaming = false
}

// closeReceived handles the peer's close frame (RFC 6455 section 7.1): echo it unless we sent one,
// then the server closes TCP once the echo is out; the client waits for the server to do so.
func (c *Conn) closeReceived(p []byte) {
	code, reason, err := codec.ParseClosePayload(p)
	if err != nil {
		c.fail(err)
		return
	}
	c.closing.received, c.closing.code = true, code
	c.closing.reason = append([]byte(nil), reason...)
	c.closing.stopRead = true
	c.mu.Lock()
	if !c.closeSent {
		c.sendCloseLocked(code, reason)
	}
	c.state = Closing
	c.mu.Unlock()
	c.closeWhenDone()
}

// fail ends the connection after a protocol violation: report it, send a close frame with its
// code (RFC 6455 section 7.1.7) and close the socket once that frame is out.
func (c *Conn) fail(err error) {
	code := codec.CloseProtocolError
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		code = pe.Code
	}
	c.closing.failed, c.closing.stopRead = code, true
	c.ev.Error(err)
	c.closing.err = err
	c.mu.Lock()
	if !c.closeSent {
		reason := ""
		if pe != nil {
			reason = pe.Msg
		}
		c.sendCloseLocked(code, stringBytes(reason))
	}
	c.mu.Unlock()
	c.closing.tcpWhenDrained = true
}

// closeWhenDone ends TCP once the close handshake is complete: the server closes it (after the
// output), as RFC 6455 section 7.1.1 asks; the client ends its half of the stream, so that a
// server that waits for the client (nodejs-websocket does) closes too, and waits for the server's
// FIN until CloseTimeout.
func (c *Conn) closeWhenDone() {
	if c.cfg.Role == codec.ServerRole {
		c.closing.tcpWhenDrained = true
		return
	}
	c.closing.shutWhenDrained = true
}

// abort ends the connection at once with err (a handshake that timed out or was refused).
func (c *Conn) abort(err error) {
	if err != nil && c.closing.err == nil {
		c.closing.err = err
		if c.visible() {
			c.ev.Error(err)
		}
	}
	c.closing.stopRead = true
	c.CloseSocket()
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
