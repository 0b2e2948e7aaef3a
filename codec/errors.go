package codec

import "strconv"

// CloseCode is a WebSocket close status code (RFC 6455 section 7.4).
type CloseCode uint16

// Close codes defined by RFC 6455 section 7.4.1.
const (
	CloseNormal           CloseCode = 1000 // normal closure
	CloseGoingAway        CloseCode = 1001 // an endpoint is going away
	CloseProtocolError    CloseCode = 1002 // protocol violation
	CloseUnsupportedData  CloseCode = 1003 // a data type the endpoint cannot accept
	CloseNoStatus         CloseCode = 1005 // reserved: the close frame carried no code
	CloseAbnormal         CloseCode = 1006 // reserved: the connection ended without a close frame
	CloseInvalidPayload   CloseCode = 1007 // data inconsistent with the message type (bad UTF-8)
	ClosePolicyViolation  CloseCode = 1008 // a message that violates the endpoint's policy
	CloseMessageTooBig    CloseCode = 1009 // a message too big to process
	CloseMandatoryExt     CloseCode = 1010 // the client expected an extension the server refused
	CloseInternalError    CloseCode = 1011 // the server met an unexpected condition
	CloseTLSHandshakeFail CloseCode = 1015 // reserved: the TLS handshake failed
)

// Close codes registered with IANA after RFC 6455 (its section 11.7 registry).
const (
	CloseServiceRestart CloseCode = 1012 // the server is restarting
	CloseTryAgainLater  CloseCode = 1013 // the server is overloaded: try again later
	CloseBadGateway     CloseCode = 1014 // a gateway or proxy got an invalid answer upstream
)

// ProtocolError is a violation of RFC 6455 found in the frame stream. Code is the close code the
// endpoint answers with (1002, 1007 or 1009). Errors are package-level values, so returning one
// never allocates; compare them with errors.Is.
type ProtocolError struct {
	Code CloseCode
	Msg  string
}

// Error returns the violation, prefixed with "websocket: ".
func (e *ProtocolError) Error() string { return "websocket: " + e.Msg }

// Frame and message errors. Each carries the close code to answer with.
var (
	ErrReservedBits       = &ProtocolError{CloseProtocolError, "reserved bits set without a negotiated extension"}
	ErrUnknownOpcode      = &ProtocolError{CloseProtocolError, "reserved opcode"}
	ErrFragmentedControl  = &ProtocolError{CloseProtocolError, "fragmented control frame"}
	ErrControlTooLong     = &ProtocolError{CloseProtocolError, "control frame payload longer than 125 bytes"}
	ErrUnmaskedFrame      = &ProtocolError{CloseProtocolError, "unmasked frame from a client"}
	ErrMaskedFrame        = &ProtocolError{CloseProtocolError, "masked frame from a server"}
	ErrLengthTopBit       = &ProtocolError{CloseProtocolError, "64-bit payload length with the most significant bit set"}
	ErrPayloadTooBig      = &ProtocolError{CloseMessageTooBig, "payload longer than the limit"}
	ErrMessageTooBig      = &ProtocolError{CloseMessageTooBig, "message longer than the limit"}
	ErrUnexpectedCont     = &ProtocolError{CloseProtocolError, "continuation frame without a message in progress"}
	ErrExpectedCont       = &ProtocolError{CloseProtocolError, "new data frame while a fragmented message is in progress"}
	ErrInvalidUTF8        = &ProtocolError{CloseInvalidPayload, "invalid UTF-8 in a text message"}
	ErrCloseOneByte       = &ProtocolError{CloseProtocolError, "close payload of one byte"}
	ErrInvalidCloseCode   = &ProtocolError{CloseProtocolError, "invalid close code"}
	ErrInvalidCloseReason = &ProtocolError{CloseInvalidPayload, "close reason is not valid UTF-8"}
)

// HandshakeError is a rejected opening handshake. On the server side Status is the HTTP status to
// answer with (400, 405, 426, 431...); on the client side Status is 0 and Msg is the message the
// connection's error event carries.
type HandshakeError struct {
	Status int
	Msg    string
}

// Error returns the message, with the HTTP status on the server side.
func (e *HandshakeError) Error() string {
	if e.Status == 0 {
		return e.Msg
	}
	return "websocket: handshake: " + strconv.Itoa(e.Status) + " " + e.Msg
}
