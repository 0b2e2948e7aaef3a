package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
)

// The client side of the opening handshake (RFC 6455 sections 4.1 and 4.2.2): the key, the
// upgrade request, and the checks on the server's response.

// KeyLen is the length of a Sec-WebSocket-Key: base64 of 16 bytes.
const KeyLen = 24

// Errors of ClientRequest.Append (besides those of the header writers in response.go). Nothing is
// appended when one is returned.
var (
	// ErrInvalidTarget is a request target that does not start with '/' or holds a space, a
	// control character or DEL.
	ErrInvalidTarget = errors.New("websocket: request target must start with '/' and hold no space or control character")
	// ErrInvalidHost is an empty host, one with characters outside RFC 3986 host syntax, or a host
	// with a port (the port goes in ClientRequest.Port).
	ErrInvalidHost = errors.New("websocket: invalid host for the Host header")
	// ErrInvalidPort is a port outside 0-65535 (0 is the default port).
	ErrInvalidPort = errors.New("websocket: port outside 0-65535 (0 means the default port)")
	// ErrInvalidKey is a Sec-WebSocket-Key that is not the base64 of 16 bytes.
	ErrInvalidKey = errors.New("websocket: Sec-WebSocket-Key is not the base64 of 16 bytes")
)

// Errors a client meets while checking the server's response, in the order they are checked. Their
// Status is 0 and their Error text is the message alone, as nodejs-websocket reports it. They are
// package-level values: returning one never allocates; compare them with errors.Is.
var (
	// ErrResponseTooBig is a response head longer than Response.MaxHeadSize or with more than
	// MaxHeaders header lines.
	ErrResponseTooBig = &HandshakeError{0, "Handshake is too big"}
	// ErrResponseStatus is a malformed status line or a status other than 101. Response.Status
	// holds the status code when the line was well-formed.
	ErrResponseStatus = &HandshakeError{0, "Invalid handshake: invalid first line format"}
	// ErrResponseHeaderLine is a malformed header line (the rules of ErrBadHeaderLine).
	ErrResponseHeaderLine = &HandshakeError{0, "Invalid handshake: invalid header line"}
	// ErrResponseMissingHeaders is a response without Upgrade, Connection or Sec-WebSocket-Accept.
	ErrResponseMissingHeaders = &HandshakeError{0, "Invalid handshake: missing required headers"}
	// ErrResponseUpgrade is an Upgrade other than websocket, or a Connection without the upgrade
	// token (both case-insensitive).
	ErrResponseUpgrade = &HandshakeError{0, "Invalid handshake: invalid Upgrade or Connection header"}
	// ErrResponseNoProtocol is a response that names no subprotocol, or one not offered, when
	// some were offered.
	ErrResponseNoProtocol = &HandshakeError{0, "Invalid handshake: no protocol was negotiated"}
	// ErrResponseUnexpectedProtocol is a response naming a subprotocol when none was offered.
	ErrResponseUnexpectedProtocol = &HandshakeError{0, "Invalid handshake: no protocol negotiation was expected"}
	// ErrResponseHashMismatch is a Sec-WebSocket-Accept that does not match the key sent (or is
	// repeated).
	ErrResponseHashMismatch = &HandshakeError{0, "Invalid handshake: hash mismatch"}
	// ErrResponseExtension is a response selecting an extension the client did not offer
	// (RFC 6455 section 4.1).
	ErrResponseExtension = &HandshakeError{0, "Invalid handshake: unexpected extension"}
)

// noRequest stands for a nil request given to Response.Parse: nothing offered, no key.
var noRequest ClientRequest

// Headers ClientRequest.Append writes itself; Host is written too but may be replaced once.
var requestReserved = []string{
	"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions",
}

// NewKey appends a new Sec-WebSocket-Key to dst: the base64 of 16 bytes from crypto/rand
// (RFC 6455 section 4.1 asks for strong randomness), KeyLen bytes. It allocates nothing beyond
// growing dst.
func NewKey(dst []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, KeyLen)[:n+KeyLen]
	// The random bytes go straight into dst's tail: a stack buffer handed to crypto/rand moves to
	// the heap under the race detector. They are copied out before the encoding overwrites them.
	rand.Read(dst[n+KeyLen-16:]) // never fails (it crashes the program instead), since Go 1.24
	var raw [16]byte
	copy(raw[:], dst[n+KeyLen-16:])
	base64.StdEncoding.Encode(dst[n:], raw[:])
	return dst
}

// ClientRequest describes the upgrade request a client sends. Its Append writes it; the response
// parser checks the server's answer against it.
type ClientRequest struct {
	Target     string        // request target, path and query ("/chat?room=1"); "" means "/"
	Host       string        // host name or IP address; IPv6 with or without brackets
	Port       int           // 0 for the default: 80, or 443 when Secure
	Secure     bool          // wss: the default port is 443
	Key        []byte        // Sec-WebSocket-Key, from NewKey
	Protocols  []string      // subprotocols offered, in order of preference; tokens, no repeats
	Extensions string        // Sec-WebSocket-Extensions value offered, raw; "" for none
	Header     []HeaderField // extra headers (Origin, Authorization...); one may replace Host
}

// Append appends the upgrade request to dst:
//
//	GET <target> HTTP/1.1
//	Host: <host>[:<port>]                  (the port only when not the default)
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Key: <key>
//	Sec-WebSocket-Version: 13
//	Sec-WebSocket-Protocol: <p1>, <p2>     (when Protocols is not empty)
//	Sec-WebSocket-Extensions: <extensions> (when Extensions is not empty)
//	<extra headers, in order>
//
// each line ending in CRLF, then an empty line. An extra header named Host (any case) replaces the
// Host line's value in place; the other headers written above cannot be set through extra headers
// (ErrReservedHeader), nor Host twice. Invalid values are refused rather than written:
// ErrInvalidTarget, ErrInvalidHost, ErrInvalidPort, ErrInvalidKey, ErrInvalidProtocol,
// ErrInvalidHeaderName, ErrInvalidHeaderValue. On error dst is returned unchanged.
func (c *ClientRequest) Append(dst []byte) ([]byte, error) {
	if err := c.check(); err != nil {
		return dst, err
	}
	dst = append(dst, "GET "...)
	if c.Target == "" {
		dst = append(dst, '/')
	}
	dst = append(dst, c.Target...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	dst = c.appendHost(dst)
	dst = append(dst, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	dst = append(dst, c.Key...)
	dst = append(dst, "\r\nSec-WebSocket-Version: 13\r\n"...)
	if len(c.Protocols) > 0 {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		for i, p := range c.Protocols {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, p...)
		}
		dst = append(dst, "\r\n"...)
	}
	if c.Extensions != "" {
		dst = appendField(dst, "Sec-WebSocket-Extensions", c.Extensions)
	}
	for _, f := range c.Header {
		if !equalFold(f.Name, "Host") {
			dst = appendField(dst, f.Name, f.Value)
		}
	}
	return append(dst, "\r\n"...), nil
}

// check validates every part of c before anything is written.
func (c *ClientRequest) check() error {
	if c.Target != "" && (c.Target[0] != '/' || !isTargetValue(c.Target)) {
		return ErrInvalidTarget
	}
	if err := checkFields(c.Header, requestReserved); err != nil {
		return err
	}
	if _, n := c.hostOverride(); n > 1 {
		return ErrReservedHeader
	} else if n == 0 && !validHostName(c.Host) {
		return ErrInvalidHost
	}
	if c.Port < 0 || c.Port > 65535 {
		return ErrInvalidPort
	}
	if !validKey(c.Key) {
		return ErrInvalidKey
	}
	if !validProtocols(c.Protocols) {
		return ErrInvalidProtocol
	}
	if !isFieldValue(c.Extensions) {
		return ErrInvalidHeaderValue
	}
	return nil
}

// hostOverride returns the value of the first extra header named Host and how many there are.
func (c *ClientRequest) hostOverride() (value string, n int) {
	for _, f := range c.Header {
		if equalFold(f.Name, "Host") {
			if n == 0 {
				value = f.Value
			}
			n++
		}
	}
	return value, n
}

// appendHost appends the Host line: the override, or host[:port] with IPv6 in brackets.
func (c *ClientRequest) appendHost(dst []byte) []byte {
	if v, n := c.hostOverride(); n > 0 {
		return appendField(dst, "Host", v)
	}
	dst = append(dst, "Host: "...)
	if c.Host[0] != '[' && hasByte(c.Host, ':') {
		dst = append(append(append(dst, '['), c.Host...), ']')
	} else {
		dst = append(dst, c.Host...)
	}
	if c.Port != 0 && c.Port != c.defaultPort() {
		dst = strconv.AppendInt(append(dst, ':'), int64(c.Port), 10)
	}
	return append(dst, "\r\n"...)
}

// defaultPort is 443 for wss and 80 for ws.
func (c *ClientRequest) defaultPort() int {
	if c.Secure {
		return 443
	}
	return 80
}

// validHostName reports whether host can be written as the host of a Host header: RFC 3986 host
// characters, brackets only around an IPv6 literal, and no port (an unbracketed host with a
// single colon is a name with a port).
func validHostName(host string) bool {
	if !isHostValue(host) {
		return false
	}
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		inner := host[1 : len(host)-1]
		return !hasByte(inner, '[') && !hasByte(inner, ']')
	}
	if hasByte(host, '[') || hasByte(host, ']') {
		return false
	}
	colons := 0
	for i := 0; i < len(host); i++ {
		if host[i] == ':' {
			colons++
		}
	}
	return colons != 1
}

// hasByte reports whether s holds c.
func hasByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// validProtocols reports whether every protocol is a token and none repeats (RFC 6455 section
// 4.1).
func validProtocols(protocols []string) bool {
	for i, p := range protocols {
		if !isToken(p) {
			return false
		}
		for _, q := range protocols[:i] {
			if p == q {
				return false
			}
		}
	}
	return true
}

// Response is a server's answer to the upgrade request, parsed incrementally and in place: its
// byte slices are sub-slices of the buffer given to Parse, valid as long as that buffer is. The
// zero value is ready to use; call Reset before parsing another response with the same value.
type Response struct {
	// MaxHeadSize limits the response head; 0 means DefaultMaxHeadSize.
	MaxHeadSize int

	Proto  []byte // "HTTP/1.1"
	Status int    // the status code, when the status line is well-formed (also when it is not 101)
	Reason []byte // the reason phrase, possibly empty

	// Protocol is the subprotocol the server chose (its Sec-WebSocket-Protocol value), set even
	// when a check after the protocol check fails; nil when the response names none.
	Protocol []byte

	headers headerList
	scan    headScanner
}

// Reset prepares r for a new response, keeping MaxHeadSize.
func (r *Response) Reset() {
	r.Proto, r.Status, r.Reason, r.Protocol = nil, 0, nil, nil
	r.headers.reset()
	r.scan = headScanner{}
}

// Parse parses the response head at the start of buf, which holds every byte received so far, and
// checks it against req, the request that was sent; call it again with the longer buffer when more
// bytes arrive (the bytes already given must not change).
//
// It returns n == 0 and a nil error when the head is not complete yet. Once it is, n is the length
// of the head (the bytes after it are WebSocket frames) and err is nil when the server accepted the
// handshake, or the first failed check, in this order: ErrResponseStatus, ErrResponseHeaderLine,
// ErrResponseMissingHeaders (Upgrade, Connection or Sec-WebSocket-Accept), ErrResponseUpgrade,
// ErrResponseNoProtocol or ErrResponseUnexpectedProtocol, ErrResponseHashMismatch,
// ErrResponseExtension. A head longer than MaxHeadSize, or with more than MaxHeaders lines, gives
// ErrResponseTooBig (with n == 0 for the former).
func (r *Response) Parse(buf []byte, req *ClientRequest) (n int, err error) {
	end := r.scan.scan(buf, headLimit(r.MaxHeadSize))
	if end < 0 {
		return 0, ErrResponseTooBig
	}
	if end == 0 {
		return 0, nil
	}
	if req == nil {
		req = &noRequest
	}
	return end, r.parseHead(buf[r.scan.start:end], req)
}

// Headers returns the header lines in the order received.
func (r *Response) Headers() []HeaderLine { return r.headers.all() }

// Header returns the value of the first header named name (case-insensitive), or nil if there is
// none.
func (r *Response) Header(name string) []byte { return r.headers.get(name) }

// Extensions calls yield with each extension the server accepted, raw with its parameters, in order
// across all Sec-WebSocket-Extensions lines, until yield returns false.
func (r *Response) Extensions(yield func(extension []byte) bool) {
	r.headers.each("Sec-WebSocket-Extensions", yield)
}

// parseHead parses and checks a complete head, from the status line through the final empty line.
func (r *Response) parseHead(head []byte, req *ClientRequest) error {
	line, rest := cutLine(head)
	statusOK := r.parseStatusLine(line)
	lines := r.headers.parse(rest)
	r.Protocol = r.headers.get("Sec-WebSocket-Protocol")
	switch {
	case !statusOK || r.Status != 101:
		return ErrResponseStatus
	case lines == linesMalformed:
		return ErrResponseHeaderLine
	case lines == linesTooMany:
		return ErrResponseTooBig
	}
	return r.check(req)
}

// parseStatusLine parses "HTTP/d.d SP 3DIGIT [SP reason]". The HTTP name is matched
// case-insensitively and the reason may be missing, as nodejs-websocket allows.
func (r *Response) parseStatusLine(line []byte) bool {
	r.Proto, r.Status, r.Reason = nil, 0, nil
	proto, rest, ok := cutSpace(line)
	if _, _, vok := parseHTTPVersion(proto, true); !ok || !vok {
		return false
	}
	code, reason, _ := cutSpace(rest)
	if len(code) != 3 || !isFieldValue(reason) {
		return false
	}
	status := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
		status = status*10 + int(c-'0')
	}
	r.Proto, r.Status, r.Reason = proto, status, reason
	return true
}

// check applies the WebSocket rules to a 101 response with well-formed header lines.
func (r *Response) check(req *ClientRequest) error {
	h := &r.headers
	accept := h.get("Sec-WebSocket-Accept")
	if h.get("Upgrade") == nil || h.get("Connection") == nil || accept == nil {
		return ErrResponseMissingHeaders
	}
	if !r.upgradeIsWebSocket() || !h.hasToken("Connection", "upgrade") {
		return ErrResponseUpgrade
	}
	if err := r.checkProtocol(req); err != nil {
		return err
	}
	if h.count("Sec-WebSocket-Accept") != 1 || !CheckAccept(req.Key, accept) {
		return ErrResponseHashMismatch
	}
	if !r.extensionsOffered(req) {
		return ErrResponseExtension
	}
	return nil
}

// upgradeIsWebSocket reports whether every Upgrade line says websocket (case-insensitive).
func (r *Response) upgradeIsWebSocket() bool {
	for _, h := range r.headers.all() {
		if equalFold(h.Name, "Upgrade") && !equalFold(h.Value, "websocket") {
			return false
		}
	}
	return true
}

// checkProtocol checks the chosen subprotocol against the offered ones: when some were offered,
// exactly one Sec-WebSocket-Protocol line naming one of them (exactly); when none were, no line
// naming any.
func (r *Response) checkProtocol(req *ClientRequest) error {
	if len(req.Protocols) == 0 {
		for _, h := range r.headers.all() {
			if equalFold(h.Name, "Sec-WebSocket-Protocol") && len(h.Value) > 0 {
				return ErrResponseUnexpectedProtocol
			}
		}
		return nil
	}
	if r.headers.count("Sec-WebSocket-Protocol") == 1 {
		for _, p := range req.Protocols {
			if string(r.Protocol) == p {
				return nil
			}
		}
	}
	return ErrResponseNoProtocol
}

// extensionsOffered reports whether every extension in the response was offered by req (names
// compared case-insensitively).
func (r *Response) extensionsOffered(req *ClientRequest) bool {
	ok := true
	r.Extensions(func(ext []byte) bool {
		name := extensionName(ext)
		ok = isToken(name) && offersExtension(req.Extensions, name)
		return ok
	})
	return ok
}

// offersExtension reports whether the offered extension list holds one named name.
func offersExtension(offered string, name []byte) bool {
	for ext, rest := nextElement(offered); len(ext) > 0; ext, rest = nextElement(rest) {
		if equalFold(extensionName(ext), name) {
			return true
		}
	}
	return false
}
