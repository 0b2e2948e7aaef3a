package api

import (
	"errors"
	"strconv"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/poller"
)

// Close codes registered with IANA (RFC 6455 section 7.4 and its WebSocket Close Code Number
// Registry), as OnClose reports them and Close takes them. They are untyped, so they compare with
// OnClose's code and pass to Close as they are. 1005, 1006 and 1015 are for reporting only: they
// may never be sent in a close frame, so Close refuses them (ErrInvalidCloseCode) and a peer that
// sends one fails with 1002. Codes 3000-3999 (registered by libraries and frameworks) and
// 4000-4999 (private use) may be sent too.
const (
	// CloseNormalClosure: the purpose of the connection was fulfilled.
	CloseNormalClosure = 1000
	// CloseGoingAway: the endpoint is going away (a server shutting down, a page navigated away).
	CloseGoingAway = 1001
	// CloseProtocolError: the endpoint ends the connection for a protocol violation.
	CloseProtocolError = 1002
	// CloseUnsupportedData: the endpoint received a type of data it cannot accept.
	CloseUnsupportedData = 1003
	// CloseNoStatusReceived: the peer's close frame carried no code. Never sent.
	CloseNoStatusReceived = 1005
	// CloseAbnormalClosure: the connection ended without a close frame (a FIN, a reset, a
	// timeout). Never sent.
	CloseAbnormalClosure = 1006
	// CloseInvalidFramePayloadData: a message's data did not match its type (text that is not
	// UTF-8).
	CloseInvalidFramePayloadData = 1007
	// ClosePolicyViolation: a message violated the endpoint's policy (no more specific code fits).
	ClosePolicyViolation = 1008
	// CloseMessageTooBig: a message too big to process (over SetMaxBufferLength here).
	CloseMessageTooBig = 1009
	// CloseMandatoryExtension: the client expected an extension that the server did not
	// negotiate.
	CloseMandatoryExtension = 1010
	// CloseInternalError: the server met an unexpected condition (here: a handler panicked).
	CloseInternalError = 1011
	// CloseServiceRestart: the server is restarting; the client may reconnect after a delay.
	CloseServiceRestart = 1012
	// CloseTryAgainLater: the server is overloaded; the client may reconnect later.
	CloseTryAgainLater = 1013
	// CloseBadGateway: a gateway or proxy got an invalid response from the upstream server.
	CloseBadGateway = 1014
	// CloseTLSHandshake: the TLS handshake failed. Never sent.
	CloseTLSHandshake = 1015
)

// closeTexts are the registry's names of the close codes.
var closeTexts = map[int]string{
	CloseNormalClosure:           "normal closure",
	CloseGoingAway:               "going away",
	CloseProtocolError:           "protocol error",
	CloseUnsupportedData:         "unsupported data",
	CloseNoStatusReceived:        "no status received",
	CloseAbnormalClosure:         "abnormal closure",
	CloseInvalidFramePayloadData: "invalid frame payload data",
	ClosePolicyViolation:         "policy violation",
	CloseMessageTooBig:           "message too big",
	CloseMandatoryExtension:      "mandatory extension",
	CloseInternalError:           "internal error",
	CloseServiceRestart:          "service restart",
	CloseTryAgainLater:           "try again later",
	CloseBadGateway:              "bad gateway",
	CloseTLSHandshake:            "TLS handshake",
}

// CloseText returns the registry's name of a close code ("normal closure" for 1000), as
// http.StatusText does for HTTP statuses: "" for a code the registry does not name (3000-4999
// included).
func CloseText(code int) string { return closeTexts[code] }

// CloseError is a connection ended with a close code. The error event of a connection we failed
// for a protocol violation (1002), text that is not UTF-8 (1007) or a message over the size limit
// (1009) carries one, wrapping the violation itself: errors.As(err, &ce) finds it, and ce.Code is
// the code OnClose reports next, sent to the peer with ce.Reason unless our close frame went
// first. A close the peer starts is no error: OnClose alone reports its code and reason; a
// Reconnector gives such a close as a CloseError (without Err) to the next attempt's OnAttempt.
type CloseError struct {
	Code   int    // the close code
	Reason string // the reason sent with it
	Err    error  // the violation
}

// Error returns the code, its name and the reason.
func (e *CloseError) Error() string {
	s := "websocket: closed with " + strconv.Itoa(e.Code)
	if t := CloseText(e.Code); t != "" {
		s += " (" + t + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns the violation.
func (e *CloseError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrMessageTooBig) hold for every close with 1009: a frame that declares
// a length over the limit as well as a message that grows past it.
func (e *CloseError) Is(target error) bool {
	return target == ErrMessageTooBig && e.Code == CloseMessageTooBig
}

// eventError is the error the error event reports for err: a violation, which carries its close
// code, becomes a *CloseError; anything else is reported as it is.
func eventError(err error) error {
	var pe *codec.ProtocolError
	if errors.As(err, &pe) {
		return &CloseError{Code: int(pe.Code), Reason: pe.Msg, Err: err}
	}
	return err
}

// PanicError is what the error event reports when a handler of the connection panicked: the
// panic is recovered on the loop, the connection is closed with 1011, and the loop's other
// connections go on.
type PanicError = engine.PanicError

// Errors of the send methods (SendText, SendBinary, SendMessage, Send, SendPrepared, SendPing,
// Close, BeginBinary and OutStream), returned and handed to the send callback; compare with
// errors.Is. ErrNotOpen, ErrTextWhileStreaming and ErrBinaryWhileStreaming carry
// nodejs-websocket's messages.
var (
	// ErrNotOpen: the connection is not open (still connecting, closing or closed).
	ErrNotOpen = engine.ErrNotOpen
	// ErrTextWhileStreaming: a text message was sent while a binary stream is in progress.
	ErrTextWhileStreaming = engine.ErrTextStreaming
	// ErrBinaryWhileStreaming: a binary message or a second stream was started while a binary
	// stream is in progress.
	ErrBinaryWhileStreaming = engine.ErrBinStreaming
	// ErrInvalidText: a text message or close reason to send that is not valid UTF-8 (RFC 6455
	// requires it). Received text that is not UTF-8 ends the connection with a *CloseError of
	// code 1007.
	ErrInvalidText = engine.ErrInvalidText
	// ErrInvalidData: Send was given something other than a string or a []byte, or
	// NewPreparedMessage a type other than TextMessage and BinaryMessage.
	ErrInvalidData = errors.New("websocket: data should be either a string or a []byte")
	// ErrInvalidCloseCode: Close was given a code that may not be sent (RFC 6455 section 7.4 and
	// the IANA registry; Close lists the codes). A received close frame with such a code ends the
	// connection with a *CloseError of code 1002.
	ErrInvalidCloseCode = engine.ErrCloseCode
	// ErrReasonWithoutCode: Close was given a reason with code 0. A close frame carries a reason
	// only after a code (RFC 6455 section 5.5.1), so the reason would be lost; nothing is sent.
	ErrReasonWithoutCode = errors.New("websocket: close reason without a close code")
	// ErrPingTooLong: a ping payload longer than 125 bytes, the most a control frame carries. A
	// received control frame over 125 bytes ends the connection with a *CloseError of code 1002.
	ErrPingTooLong = engine.ErrControlSize
	// ErrClosed: the connection closed before the data reached the kernel (send callbacks).
	ErrClosed = engine.ErrClosed
	// ErrQueueFull: the connection's send queue (ServerOptions.MaxQueuedBytes) cannot take the
	// message; the peer reads too slowly. OnDrain tells when to resume.
	ErrQueueFull = engine.ErrQueueFull
	// ErrStreamClosed: a write to an OutStream that was already closed.
	ErrStreamClosed = errors.New("websocket: write to a closed binary stream")
)

// Errors that end a connection, reported by the error event before OnClose; compare with
// errors.Is.
var (
	// ErrMessageTooBig: a received frame or message over the size limit (SetMaxBufferLength,
	// MaxBufferLength). Its error event carries a *CloseError of code 1009, for which errors.Is
	// with ErrMessageTooBig holds. Sends have no size limit of their own: the send queue's cap
	// refuses them (ErrQueueFull).
	ErrMessageTooBig = codec.ErrMessageTooBig
	// ErrTruncated: the connection ended in the middle of a received binary message; the
	// InStream's end reports it.
	ErrTruncated = engine.ErrTruncated
	// ErrHandshakeTimeout: the opening handshake (TLS included) did not end within
	// HandshakeTimeout. A client's error event reports it; a server connection is not known to
	// the user before its handshake, so it is dropped silently there.
	ErrHandshakeTimeout = engine.ErrHandshakeTime
	// ErrCloseTimeout: a close we sent was not answered by the peer's close frame within
	// CloseTimeout; OnClose follows with 1006. A close exchanged in full whose TCP end is late
	// (a server that never closes TCP, as nodejs-websocket's does not) is no error.
	ErrCloseTimeout = engine.ErrCloseTime
	// ErrPongTimeout: nothing arrived from the peer within PongTimeout after a ping.
	ErrPongTimeout = engine.ErrPongTimeout
	// ErrIdleTimeout: nothing arrived from the peer within IdleTimeout.
	ErrIdleTimeout = engine.ErrIdleTimeout
	// ErrDrainTimeout: the output stayed over the send queue's cap (MaxQueuedBytes) for
	// CloseTimeout: control frames the peer made us queue (pongs to a ping flood) while it read
	// nothing. OnClose follows with 1006.
	ErrDrainTimeout = engine.ErrDrainTime
	// ErrInputOverflow: the peer kept sending while the input was paused (InStream.Pause, a busy
	// Executor) past what a TLS connection can hold unread.
	ErrInputOverflow = poller.ErrInputOverflow
)

// Errors of Server methods, also reported to the server's error event.
var (
	// ErrServerClosed: the server is closed: a second Close, a Listen or Serve after Close. A
	// mounted server answers 503 with this text once closed.
	ErrServerClosed = errors.New("websocket: server closed")
	// ErrServerListening: Listen or Serve on a server that is already listening.
	ErrServerListening = errors.New("websocket: server is already listening")
)

// Errors of Conn.SubscribeFrom, handed to its callback (see HistoryBroker).
var (
	// ErrHistoryGone: the topic's history no longer reaches back to the publication the
	// connection asked to recover from: some of what it missed may have been dropped. Nothing was
	// sent and the connection is not subscribed; SubscribeFrom(topic, 0, ...) sends all that the
	// history still holds.
	ErrHistoryGone = errors.New("websocket: the topic's history no longer reaches back that far")
	// ErrNoHistory: the server's broker keeps no history (see HistoryBroker).
	ErrNoHistory = errors.New("websocket: the server's broker keeps no history")
	// ErrSubscribed: the connection is subscribed to the topic already, or recovering it.
	ErrSubscribed = errors.New("websocket: already subscribed to the topic")
)
