package codec

import (
	"errors"
	"strconv"
)

// The server's answers to an upgrade request: the 101 Switching Protocols response (RFC 6455
// section 4.2.2) and HTTP error responses.

// Errors of the head writers (here and in client.go): each refuses a value that would corrupt the
// head or inject header lines into it. Nothing is appended when one is returned.
var (
	// ErrInvalidHeaderName is a header name that is not an HTTP token (it may hold CR, LF or ':').
	ErrInvalidHeaderName = errors.New("websocket: header name is not an HTTP token")
	// ErrInvalidHeaderValue is a header value holding CR, LF, NUL, another control character
	// (tab excepted) or DEL.
	ErrInvalidHeaderValue = errors.New("websocket: header value holds CR, LF, NUL or another control character")
	// ErrReservedHeader is an extra header that the writer produces itself, or a second Host.
	ErrReservedHeader = errors.New("websocket: header is written by the handshake itself and cannot be set or repeated")
	// ErrInvalidProtocol is a subprotocol that is not an HTTP token, or one offered twice.
	ErrInvalidProtocol = errors.New("websocket: subprotocol is not an HTTP token, or is repeated")
	// ErrInvalidStatus is an HTTP status outside 200-599 given to AppendHTTPResponse.
	ErrInvalidStatus = errors.New("websocket: HTTP status outside 200-599")
	// ErrBodyNotAllowed is a body given with status 204 or 304.
	ErrBodyNotAllowed = errors.New("websocket: HTTP status 204 or 304 with a body")
)

// Headers the 101 response writes itself.
var responseReserved = []string{"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol"}

// Headers AppendHTTPResponse writes itself.
var httpReserved = []string{"Connection", "Content-Length", "Transfer-Encoding"}

// allowGET is the Allow header a 405 response must carry (RFC 9110 section 15.5.6).
var allowGET = []HeaderField{{"Allow", "GET"}}

// AppendResponse appends the 101 Switching Protocols response accepting the handshake whose client
// sent key (its Sec-WebSocket-Key) to dst:
//
//	HTTP/1.1 101 Switching Protocols
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Accept: <accept>
//	Sec-WebSocket-Protocol: <protocol>   (only when protocol is not empty)
//	<extra headers, in order>
//
// each line ending in CRLF, then an empty line. protocol must be a token (and should be one the
// client offered, see Request.HasProtocol). Extra header names must be tokens other than the four
// written above, and values must hold no control characters; otherwise dst is returned unchanged
// with ErrInvalidProtocol, ErrInvalidHeaderName, ErrInvalidHeaderValue or ErrReservedHeader.
func AppendResponse(dst, key []byte, protocol string, extra []HeaderField) ([]byte, error) {
	if protocol != "" && !isToken(protocol) {
		return dst, ErrInvalidProtocol
	}
	if err := checkFields(extra, responseReserved); err != nil {
		return dst, err
	}
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = AppendAccept(dst, key)
	dst = append(dst, "\r\n"...)
	if protocol != "" {
		dst = appendField(dst, "Sec-WebSocket-Protocol", protocol)
	}
	dst = appendFields(dst, extra)
	return append(dst, "\r\n"...), nil
}

// AppendHandshakeError appends the HTTP response refusing a handshake with e to dst: e.Status with
// its standard reason, Connection: close, a text/plain body holding e.Msg and a line feed,
// Sec-WebSocket-Version: 13 for 426 (RFC 6455 section 4.4) and Allow: GET for 405. A nil e, or a
// status outside 400-599 (client-side errors have 0), is answered as 400 Bad Request.
func AppendHandshakeError(dst []byte, e *HandshakeError) []byte {
	status, msg := 400, ""
	if e != nil {
		msg = e.Msg
		if 400 <= e.Status && e.Status <= 599 {
			status = e.Status
		}
	}
	var extra []HeaderField
	if status == 405 {
		extra = allowGET
	}
	bodyLen := 0
	if msg != "" {
		bodyLen = len(msg) + 1
	}
	dst = appendHTTPHead(dst, status, extra, bodyLen)
	if msg != "" {
		dst = append(append(dst, msg...), '\n')
	}
	return dst
}

// AppendHTTPResponse appends a complete HTTP/1.1 response to dst, for refusing a handshake with a
// status, headers and body of one's own: the status line with the standard reason, the headers in
// order, then Content-Type: text/plain; charset=utf-8 when there is a body and headers set no
// Content-Type, Sec-WebSocket-Version: 13 for 426 unless headers set it, Content-Length (not for
// 204 and 304, which cannot have a body), Connection: close, the empty line and the body.
//
// status must be within 200-599 (ErrInvalidStatus). Header names must be tokens other than
// Connection, Content-Length and Transfer-Encoding, and values must hold no control characters
// (ErrInvalidHeaderName, ErrReservedHeader, ErrInvalidHeaderValue). On error dst is returned
// unchanged.
func AppendHTTPResponse(dst []byte, status int, headers []HeaderField, body []byte) ([]byte, error) {
	if status < 200 || status > 599 {
		return dst, ErrInvalidStatus
	}
	if noBodyStatus(status) && len(body) > 0 {
		return dst, ErrBodyNotAllowed
	}
	if err := checkFields(headers, httpReserved); err != nil {
		return dst, err
	}
	dst = appendHTTPHead(dst, status, headers, len(body))
	return append(dst, body...), nil
}

// appendHTTPHead appends the head of a response closing the connection, announcing a body of
// bodyLen bytes. headers are already checked.
func appendHTTPHead(dst []byte, status int, headers []HeaderField, bodyLen int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(status)...)
	dst = append(dst, "\r\n"...)
	dst = appendFields(dst, headers)
	if status == 426 && !hasField(headers, "Sec-WebSocket-Version") {
		dst = append(dst, "Sec-WebSocket-Version: 13\r\n"...)
	}
	if bodyLen > 0 && !hasField(headers, "Content-Type") {
		dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	}
	if !noBodyStatus(status) {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(bodyLen), 10)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "Connection: close\r\n\r\n"...)
}

// noBodyStatus reports whether a response with status has no body and no Content-Length.
func noBodyStatus(status int) bool { return status == 204 || status == 304 }

// checkFields checks headers to be written: token names outside reserved (case-insensitive), and
// values without control characters.
func checkFields(fields []HeaderField, reserved []string) error {
	for _, f := range fields {
		if !isToken(f.Name) {
			return ErrInvalidHeaderName
		}
		if !isFieldValue(f.Value) {
			return ErrInvalidHeaderValue
		}
		for _, name := range reserved {
			if equalFold(f.Name, name) {
				return ErrReservedHeader
			}
		}
	}
	return nil
}

// hasField reports whether fields holds one named name (case-insensitive).
func hasField(fields []HeaderField, name string) bool {
	for _, f := range fields {
		if equalFold(f.Name, name) {
			return true
		}
	}
	return false
}

// appendField appends "name: value\r\n".
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// appendFields appends each of fields as a header line.
func appendFields(dst []byte, fields []HeaderField) []byte {
	for _, f := range fields {
		dst = appendField(dst, f.Name, f.Value)
	}
	return dst
}

// StatusText returns the standard reason phrase of an HTTP status code (RFC 9110 section 15 and
// the registered extensions), or a generic phrase for its class when the code is not registered.
func StatusText(code int) string {
	if s := statusTexts[code]; s != "" {
		return s
	}
	switch code / 100 {
	case 1:
		return "Informational"
	case 2:
		return "Success"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	}
	return "Server Error"
}

var statusTexts = map[int]string{
	100: "Continue",
	101: "Switching Protocols",
	102: "Processing",
	103: "Early Hints",
	200: "OK",
	201: "Created",
	202: "Accepted",
	203: "Non-Authoritative Information",
	204: "No Content",
	205: "Reset Content",
	206: "Partial Content",
	207: "Multi-Status",
	208: "Already Reported",
	226: "IM Used",
	300: "Multiple Choices",
	301: "Moved Permanently",
	302: "Found",
	303: "See Other",
	304: "Not Modified",
	305: "Use Proxy",
	307: "Temporary Redirect",
	308: "Permanent Redirect",
	400: "Bad Request",
	401: "Unauthorized",
	402: "Payment Required",
	403: "Forbidden",
	404: "Not Found",
	405: "Method Not Allowed",
	406: "Not Acceptable",
	407: "Proxy Authentication Required",
	408: "Request Timeout",
	409: "Conflict",
	410: "Gone",
	411: "Length Required",
	412: "Precondition Failed",
	413: "Content Too Large",
	414: "URI Too Long",
	415: "Unsupported Media Type",
	416: "Range Not Satisfiable",
	417: "Expectation Failed",
	418: "I'm a teapot",
	421: "Misdirected Request",
	422: "Unprocessable Content",
	423: "Locked",
	424: "Failed Dependency",
	425: "Too Early",
	426: "Upgrade Required",
	428: "Precondition Required",
	429: "Too Many Requests",
	431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
	500: "Internal Server Error",
	501: "Not Implemented",
	502: "Bad Gateway",
	503: "Service Unavailable",
	504: "Gateway Timeout",
	505: "HTTP Version Not Supported",
	506: "Variant Also Negotiates",
	507: "Insufficient Storage",
	508: "Loop Detected",
	510: "Not Extended",
	511: "Network Authentication Required",
}
