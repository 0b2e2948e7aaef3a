package codec

import "bytes"

// HTTP/1.1 head scanning and header-line parsing shared by the server side (request.go) and the
// client side (client.go), following RFC 7230 (message syntax) and RFC 3986 (host syntax).

// DefaultMaxHeadSize is the head-size limit a Request or Response applies when its MaxHeadSize is
// zero or negative.
const DefaultMaxHeadSize = 8 << 10

// MaxHeaders is the number of header lines a parsed head may hold. A head with more lines is
// refused (431 on the server side).
const MaxHeaders = 64

// HeaderLine is one parsed header line. Name and Value are sub-slices of the parsed input; Value has
// its surrounding optional whitespace trimmed.
type HeaderLine struct {
	Name, Value []byte
}

// HeaderField is a header line to write: a name and a value.
type HeaderField struct {
	Name, Value string
}

const (
	alnumChars   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenSymbols = "!#$%&'*+-.^_`|~"     // tchar symbols, RFC 7230 section 3.2.6
	hostSymbols  = "-._~%!$&'()*+,;=:[]" // unreserved, pct-encoded, sub-delims, ':' and IP-literal brackets
)

var (
	tokenTable  = charTable(alnumChars + tokenSymbols)
	hostTable   = charTable(alnumChars + hostSymbols)
	base64Table = charTable(alnumChars + "+/")
)

// charTable returns a membership table of the bytes of s.
func charTable(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return t
}

// text is the set of types the small helpers below accept: parsed bytes or strings to write.
type text interface{ ~string | ~[]byte }

// isToken reports whether s is a non-empty RFC 7230 token.
func isToken[T text](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// isFieldValue reports whether s may appear as a header field value: visible ASCII, space, tab
// and obs-text (bytes 0x80 and above). CR, LF, NUL, other controls and DEL are refused. Eight
// bytes are checked at a time; a word holding a control byte (a tab, say) is checked byte-wise.
func isFieldValue[T text](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if w := le64(s[i : i+8]); hasCtlOrDel(w) && !fieldBytes(s[i:i+8]) {
			return false
		}
	}
	return fieldBytes(s[i:])
}

// fieldBytes is isFieldValue, byte by byte.
func fieldBytes[T text](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

const (
	lanes01 = 0x0101010101010101 // 0x01 in every byte
	lanes80 = 0x8080808080808080 // 0x80 in every byte
)

// hasCtlOrDel reports whether a little-endian word holds a byte below 0x20 or equal to 0x7f,
// exactly (the classic "has a byte less than n" and "has a zero byte" word tricks).
func hasCtlOrDel(w uint64) bool {
	below := (w - lanes01*0x20) & ^w & lanes80
	del := w ^ lanes01*0x7f
	return below|((del-lanes01)&^del&lanes80) != 0
}

// le64 reads 8 bytes as a little-endian word.
func le64[T text](b T) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// isHostValue reports whether s is made of RFC 3986 host characters (with an optional port).
func isHostValue[T text](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !hostTable[s[i]] {
			return false
		}
	}
	return true
}

// isTargetValue reports whether s may be a request target: non-empty, with no space, control
// character or DEL.
func isTargetValue[T text](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// validKey reports whether key is a Sec-WebSocket-Key: the canonical base64 of exactly 16 bytes,
// which is 22 base64 characters, the last of which carries 4 zero padding bits, then "==".
func validKey[T text](key T) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	for i := 0; i < 22; i++ {
		if !base64Table[key[i]] {
			return false
		}
	}
	switch key[21] { // its low 4 bits are padding and must be zero: values 0, 16, 32, 48
	case 'A', 'Q', 'g', 'w':
		return true
	}
	return false
}

// lower returns c lower-cased if it is an ASCII upper-case letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether a and b are equal under ASCII case folding.
func equalFold[A, B text](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// isOWS reports whether c is optional whitespace (space or horizontal tab).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS returns b without leading and trailing spaces and tabs.
func trimOWS[T text](b T) T {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// cutLine splits b after its first line feed. line excludes the LF and one CR just before it, so
// CRLF and bare LF line ends are both accepted (as net/http does); rest follows the LF. Without an
// LF, line is all of b and rest is empty.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// parseHeaderLine parses "name: value" (RFC 7230 section 3.2). It refuses an obs-fold continuation
// (a line starting with whitespace), a missing colon, an empty or non-token name (whitespace before
// the colon included) and a value with control characters.
func parseHeaderLine(line []byte) (h HeaderLine, ok bool) {
	if len(line) == 0 || isOWS(line[0]) {
		return h, false
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 || !isToken(line[:colon]) {
		return h, false
	}
	value := trimOWS(line[colon+1:])
	if !isFieldValue(value) {
		return h, false
	}
	return HeaderLine{Name: line[:colon], Value: value}, true
}

// parseHTTPVersion parses "HTTP/" DIGIT "." DIGIT. HTTP-name is case-sensitive (RFC 7230 section
// 2.6) unless anyCase is set.
func parseHTTPVersion(b []byte, anyCase bool) (major, minor int, ok bool) {
	if len(b) != 8 || b[5] < '0' || b[5] > '9' || b[6] != '.' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false
	}
	if string(b[:5]) != "HTTP/" && !(anyCase && equalFold(b[:5], "HTTP/")) {
		return 0, 0, false
	}
	return int(b[5] - '0'), int(b[7] - '0'), true
}

// NextToken returns the first element of a comma-separated header list (RFC 7230 section 7) and the
// rest of the list after it. The element has its surrounding whitespace trimmed; empty elements are
// skipped, and a comma inside a quoted string does not split. token is empty when the list holds no
// more elements. Iterate with
//
//	for tok, rest := NextToken(list); len(tok) > 0; tok, rest = NextToken(rest) { ... }
//
// Elements are returned raw: an extension element keeps its parameters ("x; a=1").
func NextToken(list []byte) (token, rest []byte) { return nextElement(list) }

// nextElement is NextToken for bytes or strings.
func nextElement[T text](list T) (elem, rest T) {
	start := 0
	for start < len(list) && (list[start] == ',' || isOWS(list[start])) {
		start++
	}
	if start == len(list) {
		return list[len(list):], list[len(list):]
	}
	end, quoted := start, false
	for ; end < len(list); end++ {
		switch c := list[end]; {
		case quoted && c == '\\':
			end++ // skip the escaped byte
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return trimOWS(list[start:end]), list[end+1:]
		}
	}
	return trimOWS(list[start:]), list[len(list):]
}

// hasToken reports whether the list holds an element equal to token under ASCII case folding.
func hasToken[T text](list T, token string) bool {
	for tok, rest := nextElement(list); len(tok) > 0; tok, rest = nextElement(rest) {
		if equalFold(tok, token) {
			return true
		}
	}
	return false
}

// extensionName returns the name of an extension element ("name; param=value"), trimmed.
func extensionName[T text](ext T) T {
	for i := 0; i < len(ext); i++ {
		if ext[i] == ';' {
			return trimOWS(ext[:i])
		}
	}
	return trimOWS(ext)
}

// headScanner finds the end of an HTTP head in a buffer that grows between calls, remembering how
// far it has looked so that feeding a head piece by piece costs O(n) in all. Empty lines before the
// start line are skipped (RFC 7230 section 3.5). The zero value is ready to use.
type headScanner struct {
	lineStart int  // offset of the line being scanned
	pos       int  // offset of the next byte to look at
	start     int  // offset of the start line, once started
	end       int  // head length (through the empty line's LF), once found
	started   bool // a non-empty line has been seen
}

// scan looks for the end of the head in buf, continuing from the previous call. It returns the
// head length, 0 when more bytes are needed, or -1 when no head ends within the first limit bytes
// and buf is longer than that. A buf shorter than what was already scanned starts a new scan.
func (s *headScanner) scan(buf []byte, limit int) int {
	if s.end > 0 && len(buf) >= s.end {
		return s.end
	}
	if s.end > 0 || s.pos > len(buf) {
		*s = headScanner{}
	}
	window := buf[:min(len(buf), limit)]
	for s.pos < len(window) {
		i := bytes.IndexByte(window[s.pos:], '\n')
		if i < 0 {
			s.pos = len(window)
			break
		}
		if s.endLine(window, s.pos+i) {
			return s.end
		}
	}
	if len(buf) > limit {
		return -1
	}
	return 0
}

// endLine records the line ending at the LF at offset lf, and reports whether it ends the head.
func (s *headScanner) endLine(buf []byte, lf int) bool {
	empty := lf == s.lineStart || lf == s.lineStart+1 && buf[s.lineStart] == '\r'
	s.pos = lf + 1
	switch {
	case empty && s.started:
		s.end = s.pos
		return true
	case !empty && !s.started:
		s.start, s.started = s.lineStart, true
	}
	s.lineStart = s.pos
	return false
}

// headLimit returns limit, or DefaultMaxHeadSize when limit is not positive.
func headLimit(limit int) int {
	if limit <= 0 {
		return DefaultMaxHeadSize
	}
	return limit
}

// Results of headerList.parse.
const (
	linesOK = iota
	linesMalformed
	linesTooMany
)

// headerList holds the header lines of one head, in order, without copying them.
type headerList struct {
	fields [MaxHeaders]HeaderLine
	n      int
}

// parse fills l from b, the header lines of a head up to its final empty line, and reports
// linesOK, linesMalformed or linesTooMany. Lines before a failure stay in l.
func (l *headerList) parse(b []byte) int {
	l.reset()
	for {
		line, rest := cutLine(b)
		if len(line) == 0 {
			return linesOK
		}
		if l.n == MaxHeaders {
			return linesTooMany
		}
		h, ok := parseHeaderLine(line)
		if !ok {
			return linesMalformed
		}
		l.fields[l.n] = h
		l.n++
		b = rest
	}
}

// reset empties l. Lines past l.n are always zero, so no reference to an old buffer is kept.
func (l *headerList) reset() {
	clear(l.fields[:l.n])
	l.n = 0
}

// all returns the header lines in order.
func (l *headerList) all() []HeaderLine { return l.fields[:l.n] }

// get returns the value of the first line named name (case-insensitive), or nil.
func (l *headerList) get(name string) []byte {
	for _, h := range l.all() {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return nil
}

// count returns how many lines are named name (case-insensitive).
func (l *headerList) count(name string) int {
	n := 0
	for _, h := range l.all() {
		if equalFold(h.Name, name) {
			n++
		}
	}
	return n
}

// hasToken reports whether a line named name has token among its list elements, case-insensitive.
func (l *headerList) hasToken(name, token string) bool {
	for _, h := range l.all() {
		if equalFold(h.Name, name) && hasToken(h.Value, token) {
			return true
		}
	}
	return false
}

// each calls yield with every list element of every line named name, in order, until it returns
// false.
func (l *headerList) each(name string, yield func([]byte) bool) {
	for _, h := range l.all() {
		if !equalFold(h.Name, name) {
			continue
		}
		for tok, rest := NextToken(h.Value); len(tok) > 0; tok, rest = NextToken(rest) {
			if !yield(tok) {
				return
			}
		}
	}
}
