package codec

// The server side of the opening handshake: parsing the client's upgrade request (RFC 6455
// section 4.2.1) with the HTTP/1.1 rules of RFC 7230.

// Errors a server meets while parsing an upgrade request. Each carries the HTTP status to answer
// with (see AppendHandshakeError). They are package-level values: returning one never allocates;
// compare them with errors.Is.
var (
	// ErrNotUpgrade is a well-formed HTTP request that is not a WebSocket upgrade (no Upgrade
	// header with the websocket token, or no Connection header with the upgrade token). A server
	// may hand such a request to an ordinary HTTP handler instead of refusing it.
	ErrNotUpgrade = &HandshakeError{400, "not a WebSocket upgrade request"}

	// ErrBadRequestLine is a request line that is not "method SP target SP HTTP/d.d" (400).
	ErrBadRequestLine = &HandshakeError{400, "malformed request line"}
	// ErrMethodNotAllowed is an upgrade request whose method is not GET (405).
	ErrMethodNotAllowed = &HandshakeError{405, "method not allowed: a WebSocket upgrade uses GET"}
	// ErrHTTPVersion is an upgrade request in HTTP/1.0 or earlier (400).
	ErrHTTPVersion = &HandshakeError{400, "HTTP version below 1.1"}
	// ErrBadTarget is an upgrade request whose target does not start with '/' (400).
	ErrBadTarget = &HandshakeError{400, "request target is not an absolute path"}
	// ErrBadHeaderLine is a header line without a colon, with whitespace before the colon, with a
	// name that is not a token, with control characters in its value, or an obs-fold continuation
	// line (400).
	ErrBadHeaderLine = &HandshakeError{400, "malformed header line"}
	// ErrBadHost is a missing, empty, repeated or malformed Host header (400).
	ErrBadHost = &HandshakeError{400, "missing, repeated or invalid Host header"}
	// ErrRequestBody is an upgrade request announcing a body (Transfer-Encoding, or a
	// Content-Length other than 0): the bytes after its head would be taken for frames (400).
	ErrRequestBody = &HandshakeError{400, "upgrade request with a body"}
	// ErrBadKey is a missing or repeated Sec-WebSocket-Key, or one that is not the base64 of
	// exactly 16 bytes (400).
	ErrBadKey = &HandshakeError{400, "missing, repeated or invalid Sec-WebSocket-Key"}
	// ErrBadVersion is a missing or repeated Sec-WebSocket-Version, or one other than 13 (426;
	// the answer carries Sec-WebSocket-Version: 13).
	ErrBadVersion = &HandshakeError{426, "unsupported Sec-WebSocket-Version (13 is supported)"}
	// ErrHeadTooBig is a head longer than Request.MaxHeadSize (431).
	ErrHeadTooBig = &HandshakeError{431, "request head too large"}
	// ErrTooManyHeaders is a head with more than MaxHeaders header lines (431).
	ErrTooManyHeaders = &HandshakeError{431, "too many header lines"}
)

// Request is a client's upgrade request, parsed incrementally and in place: its byte slices are
// sub-slices of the buffer given to Parse, valid as long as that buffer is. The zero value is ready
// to use; call Reset before parsing another request with the same value.
type Request struct {
	// MaxHeadSize limits the request head (request line, header lines and the empty line that ends
	// them, plus any empty lines before the request line); 0 or less means DefaultMaxHeadSize.
	MaxHeadSize int

	Method  []byte // "GET"
	Target  []byte // the raw request target: path and query, undecoded
	Proto   []byte // "HTTP/1.1"
	Host    []byte // the first Host header
	Key     []byte // the first Sec-WebSocket-Key header
	Version []byte // the first Sec-WebSocket-Version header
	Origin  []byte // the first Origin header, nil if absent

	headers headerList
	scan    headScanner
}

// Reset prepares r for a new request, keeping MaxHeadSize.
func (r *Request) Reset() {
	r.clearFields()
	r.headers.reset()
	r.scan = headScanner{}
}

// clearFields forgets the values of the last parse.
func (r *Request) clearFields() {
	r.Method, r.Target, r.Proto = nil, nil, nil
	r.Host, r.Key, r.Version, r.Origin = nil, nil, nil, nil
}

// Parse parses the request head at the start of buf, which holds every byte received so far; call
// it again with the longer buffer when more arrive (the bytes already given must not change).
//
// It returns n == 0 and a nil error when the head is not complete yet. Once it is, n is the length
// of the head (the bytes after it, if any, are WebSocket frames) and err is nil when the request is a
// valid upgrade, or a *HandshakeError naming the HTTP status to answer with. With ErrNotUpgrade the
// method, target and headers are filled, so the request can be served as plain HTTP (its body, if
// any, starts at n). ErrHeadTooBig comes with n == 0, and so does ErrBadRequestLine when the first
// byte cannot begin a request line.
func (r *Request) Parse(buf []byte) (n int, err error) {
	if !methodStart(buf) {
		// Not HTTP at all (a TLS ClientHello on a plain port, say): answer at once rather than
		// wait for a head that never ends.
		return 0, ErrBadRequestLine
	}
	end := r.scan.scan(buf, headLimit(r.MaxHeadSize))
	if end < 0 {
		return 0, ErrHeadTooBig
	}
	if end == 0 {
		return 0, nil
	}
	return end, r.parseHead(buf[r.scan.start:end])
}

// methodStart reports whether buf can begin a request: with a method, which is a token, or with
// the line ends of empty lines, which the head scanner judges.
func methodStart(buf []byte) bool {
	return len(buf) == 0 || buf[0] == '\r' || buf[0] == '\n' || tokenTable[buf[0]]
}

// Headers returns the header lines in the order received.
func (r *Request) Headers() []HeaderLine { return r.headers.all() }

// Header returns the value of the first header named name (case-insensitive), or nil if there is
// none. A header present with an empty value gives an empty, non-nil slice.
func (r *Request) Header(name string) []byte { return r.headers.get(name) }

// Protocols calls yield with each subprotocol the client offers, in the client's order, across all
// its Sec-WebSocket-Protocol lines, until yield returns false. It can be ranged over:
//
//	for p := range req.Protocols { ... }
func (r *Request) Protocols(yield func(protocol []byte) bool) {
	r.headers.each("Sec-WebSocket-Protocol", yield)
}

// AppendProtocols appends the offered subprotocols, in the client's order, to dst.
func (r *Request) AppendProtocols(dst [][]byte) [][]byte {
	for p := range r.Protocols {
		dst = append(dst, p)
	}
	return dst
}

// HasProtocol reports whether the client offered the subprotocol p (compared exactly). A server
// must choose only an offered subprotocol (RFC 6455 section 4.2.2).
func (r *Request) HasProtocol(p string) bool {
	for q := range r.Protocols {
		if string(q) == p {
			return true
		}
	}
	return false
}

// Extensions calls yield with each extension the client offers, raw with its parameters
// ("permessage-deflate; client_max_window_bits"), in order across all Sec-WebSocket-Extensions
// lines, until yield returns false.
func (r *Request) Extensions(yield func(extension []byte) bool) {
	r.headers.each("Sec-WebSocket-Extensions", yield)
}

// parseHead parses a complete head, from the request line through the final empty line.
func (r *Request) parseHead(head []byte) error {
	r.clearFields()
	line, rest := cutLine(head)
	if !r.parseRequestLine(line) {
		r.headers.reset()
		return ErrBadRequestLine
	}
	switch r.headers.parse(rest) {
	case linesMalformed:
		return ErrBadHeaderLine
	case linesTooMany:
		return ErrTooManyHeaders
	}
	f := r.collect()
	return r.check(&f)
}

// requestFacts is what one pass over a request's header lines finds.
type requestFacts struct {
	hosts, keys, versions int  // how many Host, Sec-WebSocket-Key and Sec-WebSocket-Version lines
	upgrade, connection   bool // the websocket token in Upgrade, the upgrade token in Connection
	body                  bool // Transfer-Encoding, or a Content-Length other than 0
}

// collect fills Host, Key, Version and Origin from their first lines and gathers the facts the
// checks need, in a single pass over the header lines.
func (r *Request) collect() (f requestFacts) {
	for _, h := range r.headers.all() {
		switch name := h.Name; {
		case equalFold(name, "Host"):
			f.hosts++
			r.Host = first(r.Host, h.Value)
		case equalFold(name, "Upgrade"):
			f.upgrade = f.upgrade || hasToken(h.Value, "websocket")
		case equalFold(name, "Connection"):
			f.connection = f.connection || hasToken(h.Value, "upgrade")
		case equalFold(name, "Sec-WebSocket-Key"):
			f.keys++
			r.Key = first(r.Key, h.Value)
		case equalFold(name, "Sec-WebSocket-Version"):
			f.versions++
			r.Version = first(r.Version, h.Value)
		case equalFold(name, "Origin"):
			r.Origin = first(r.Origin, h.Value)
		case equalFold(name, "Transfer-Encoding"):
			f.body = true
		case equalFold(name, "Content-Length"):
			f.body = f.body || string(h.Value) != "0"
		}
	}
	return f
}

// first returns seen if it is set (a value from an earlier line), else value.
func first(seen, value []byte) []byte {
	if seen != nil {
		return seen
	}
	return value
}

// parseRequestLine parses "method SP request-target SP HTTP-version" (RFC 7230 section 3.1.1),
// with exactly one space between the parts.
func (r *Request) parseRequestLine(line []byte) bool {
	method, rest, ok := cutSpace(line)
	if !ok || !isToken(method) {
		return false
	}
	target, proto, ok := cutSpace(rest)
	if !ok || !isTargetValue(target) {
		return false
	}
	if _, _, ok := parseHTTPVersion(proto, false); !ok {
		return false
	}
	r.Method, r.Target, r.Proto = method, target, proto
	return true
}

// cutSpace splits b around its first space.
func cutSpace(b []byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == ' ' {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}

// check applies the upgrade rules to a syntactically valid request, in the order of the errors'
// precedence: not an upgrade, method, version, target, Host, body, key, WebSocket version.
func (r *Request) check(f *requestFacts) error {
	if !f.upgrade || !f.connection {
		return ErrNotUpgrade
	}
	if string(r.Method) != "GET" {
		return ErrMethodNotAllowed
	}
	if major, minor, _ := parseHTTPVersion(r.Proto, false); major < 1 || major == 1 && minor < 1 {
		return ErrHTTPVersion
	}
	if r.Target[0] != '/' {
		return ErrBadTarget
	}
	if f.hosts != 1 || !isHostValue(r.Host) {
		return ErrBadHost
	}
	if f.body {
		return ErrRequestBody
	}
	if f.keys != 1 || !validKey(r.Key) {
		return ErrBadKey
	}
	if f.versions != 1 || string(r.Version) != "13" {
		return ErrBadVersion
	}
	return nil
}
