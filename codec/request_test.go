package codec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// Helpers of the handshake tests are prefixed "hs" to keep clear of the other test files.

const hsKey = "dGhlIHNhbXBsZSBub25jZQ=="
const hsAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// hsStdHeaders are the header lines of a minimal valid upgrade request.
var hsStdHeaders = []string{
	"Host: server.example.com",
	"Upgrade: websocket",
	"Connection: Upgrade",
	"Sec-WebSocket-Key: " + hsKey,
	"Sec-WebSocket-Version: 13",
}

// hsHead joins a start line and header lines with CRLF and ends the head.
func hsHead(start string, lines ...string) string {
	return start + "\r\n" + strings.Join(append(lines, "", ""), "\r\n")
}

// hsReq is a request with the standard headers, those named in drop removed (by the name before
// the colon, exactly) and extra appended.
func hsReq(start string, drop []string, extra ...string) string {
	var lines []string
next:
	for _, l := range hsStdHeaders {
		for _, d := range drop {
			if strings.HasPrefix(l, d+":") {
				continue next
			}
		}
		lines = append(lines, l)
	}
	return hsHead(start, append(lines, extra...)...)
}

// hsGet is a GET / request with the standard headers plus extra.
func hsGet(extra ...string) string { return hsReq("GET / HTTP/1.1", nil, extra...) }

// hsWithout is a GET / request without the standard headers named in drop.
func hsWithout(drop ...string) string { return hsReq("GET / HTTP/1.1", drop) }

// hsReqResult is everything Request.Parse produces, in comparable form.
type hsReqResult struct {
	N                                                 int
	Err                                               error
	Method, Target, Proto, Host, Key, Version, Origin string
	OriginNil                                         bool
	Headers, Protocols, Extensions                    []string
}

func hsSnapRequest(r *Request, n int, err error) hsReqResult {
	res := hsReqResult{
		N: n, Err: err,
		Method: string(r.Method), Target: string(r.Target), Proto: string(r.Proto),
		Host: string(r.Host), Key: string(r.Key), Version: string(r.Version),
		Origin: string(r.Origin), OriginNil: r.Origin == nil,
	}
	if n == 0 {
		return res
	}
	for _, h := range r.Headers() {
		res.Headers = append(res.Headers, string(h.Name)+": "+string(h.Value))
	}
	for p := range r.Protocols {
		res.Protocols = append(res.Protocols, string(p))
	}
	for e := range r.Extensions {
		res.Extensions = append(res.Extensions, string(e))
	}
	return res
}

// hsParseRequestWhole parses in at once.
func hsParseRequestWhole(in string, limit int) (hsReqResult, *Request) {
	r := &Request{MaxHeadSize: limit}
	buf := []byte(in)
	n, err := r.Parse(buf)
	return hsSnapRequest(r, n, err), r
}

// hsParseRequestBytewise feeds in one byte more at a time until Parse answers something other than
// need-more. With fresh set, each prefix is in a freshly allocated buffer, as a caller whose buffer
// grows and moves would give it (O(n²) copying); otherwise prefixes share in's bytes. It also checks
// that the answer does not change when parsed again.
func hsParseRequestBytewise(t *testing.T, in []byte, limit int, fresh bool) hsReqResult {
	t.Helper()
	r := &Request{MaxHeadSize: limit}
	for i := 0; i <= len(in); i++ {
		buf := in[:i]
		if fresh {
			buf = append([]byte(nil), buf...)
		}
		n, err := r.Parse(buf)
		if n == 0 && err == nil {
			continue
		}
		res := hsSnapRequest(r, n, err)
		n2, err2 := r.Parse(buf)
		if again := hsSnapRequest(r, n2, err2); !reflect.DeepEqual(res, again) {
			t.Errorf("second Parse of the same bytes differs:\n%+v\n%+v", res, again)
		}
		return res
	}
	return hsSnapRequest(r, 0, nil)
}

// hsStatus returns the HTTP status an error carries, or -1.
func hsStatus(err error) int {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.Status
	}
	return -1
}

type hsReqCase struct {
	name   string
	in     string
	limit  int
	err    error // nil for success (or need-more when needMore)
	status int   // HTTP status of err
	check  func(t *testing.T, r *Request)
	more   bool   // need-more expected
	tail   string // bytes after the head, appended to in
}

func hsReqCases() []hsReqCase {
	many := func(n int) []string {
		var l []string
		for i := range n {
			l = append(l, "X-H"+strings.Repeat("a", i%7)+": v")
		}
		return l
	}
	bareLF := strings.ReplaceAll(hsGet(), "\r\n", "\n")
	mixed := strings.Replace(hsGet(), "\r\n", "\n", 3)
	fields := func(want hsReqResult) func(*testing.T, *Request) {
		return func(t *testing.T, r *Request) {
			got := hsSnapRequest(r, 1, nil)
			if want.Target != "" && got.Target != want.Target {
				t.Errorf("target %q, want %q", got.Target, want.Target)
			}
			if want.Host != "" && got.Host != want.Host {
				t.Errorf("host %q, want %q", got.Host, want.Host)
			}
			if want.Origin != "" && got.Origin != want.Origin {
				t.Errorf("origin %q, want %q", got.Origin, want.Origin)
			}
			if want.Protocols != nil && !reflect.DeepEqual(got.Protocols, want.Protocols) {
				t.Errorf("protocols %q, want %q", got.Protocols, want.Protocols)
			}
			if want.Extensions != nil && !reflect.DeepEqual(got.Extensions, want.Extensions) {
				t.Errorf("extensions %q, want %q", got.Extensions, want.Extensions)
			}
		}
	}
	return []hsReqCase{
		// Accepted.
		{name: "rfc example", in: hsHead("GET /chat HTTP/1.1",
			"Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
			"Sec-WebSocket-Key: "+hsKey, "Origin: http://example.com",
			"Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Version: 13"),
			check: func(t *testing.T, r *Request) {
				want := hsReqResult{N: 1, Method: "GET", Target: "/chat", Proto: "HTTP/1.1",
					Host: "server.example.com", Key: hsKey, Version: "13", Origin: "http://example.com",
					Headers: []string{"Host: server.example.com", "Upgrade: websocket", "Connection: Upgrade",
						"Sec-WebSocket-Key: " + hsKey, "Origin: http://example.com",
						"Sec-WebSocket-Protocol: chat, superchat", "Sec-WebSocket-Version: 13"},
					Protocols: []string{"chat", "superchat"}}
				if got := hsSnapRequest(r, 1, nil); !reflect.DeepEqual(got, want) {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
			}},
		{name: "query kept raw", in: hsReq("GET /a%20b/c?x=1&y=%2F HTTP/1.1", nil),
			check: fields(hsReqResult{Target: "/a%20b/c?x=1&y=%2F"})},
		{name: "lower-case header names", in: hsHead("GET / HTTP/1.1",
			"host: h", "upgrade: websocket", "connection: upgrade", "sec-websocket-key: "+hsKey,
			"sec-websocket-version: 13", "origin: o"), check: fields(hsReqResult{Host: "h", Origin: "o"})},
		{name: "upper-case header names", in: hsHead("GET / HTTP/1.1",
			"HOST: h", "UPGRADE: WEBSOCKET", "CONNECTION: UPGRADE", "SEC-WEBSOCKET-KEY: "+hsKey,
			"SEC-WEBSOCKET-VERSION: 13")},
		{name: "connection keep-alive, Upgrade", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: keep-alive, Upgrade")},
		{name: "connection Upgrade,Keep-Alive", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: Upgrade,Keep-Alive")},
		{name: "connection split over lines", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: keep-alive", "Connection: upgrade")},
		{name: "connection with empty elements", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: , ,upgrade,,")},
		{name: "upgrade websocket, foo", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade: websocket, foo")},
		{name: "upgrade foo, WebSocket", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade: foo/2, WebSocket")},
		{name: "upgrade split over lines", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade: h2c", "Upgrade: websocket")},
		{name: "ows trimmed", in: hsHead("GET / HTTP/1.1", "Host:  \t h \t ", "Upgrade:websocket",
			"Connection:\tUpgrade", "Sec-WebSocket-Key:   "+hsKey+"  ", "Sec-WebSocket-Version: 13 "),
			check: fields(hsReqResult{Host: "h"})},
		{name: "bare LF", in: bareLF},
		{name: "mixed CRLF and LF", in: mixed},
		{name: "empty lines before the request line", in: "\r\n\n\r\n" + hsGet()},
		{name: "HTTP/1.2 accepted", in: hsReq("GET / HTTP/1.2", nil)},
		{name: "HTTP/2.0 accepted", in: hsReq("GET / HTTP/2.0", nil)},
		{name: "protocols across lines", in: hsGet("Sec-WebSocket-Protocol: a, b", "Sec-WebSocket-Protocol: c"),
			check: fields(hsReqResult{Protocols: []string{"a", "b", "c"}})},
		{name: "protocols with empty elements and spaces", in: hsGet("Sec-WebSocket-Protocol: x, b ,,a,"),
			check: fields(hsReqResult{Protocols: []string{"x", "b", "a"}})},
		{name: "empty protocol header", in: hsGet("Sec-WebSocket-Protocol:"),
			check: func(t *testing.T, r *Request) {
				for p := range r.Protocols {
					t.Errorf("unexpected protocol %q", p)
				}
			}},
		{name: "extensions raw", in: hsGet("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo",
			"Sec-WebSocket-Extensions: x-bar; a=\"1,2\""),
			check: fields(hsReqResult{Extensions: []string{"permessage-deflate; client_max_window_bits", "x-foo", "x-bar; a=\"1,2\""}})},
		{name: "no origin", in: hsGet(), check: func(t *testing.T, r *Request) {
			if r.Origin != nil {
				t.Errorf("origin %q", r.Origin)
			}
		}},
		{name: "origin first of two", in: hsGet("Origin: a", "Origin: b"), check: fields(hsReqResult{Origin: "a"})},
		{name: "frames after the head", in: hsGet(), tail: "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"},
		{name: "other key", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==")},
		{name: "host with port and ipv6", in: hsReq("GET / HTTP/1.1", []string{"Host"}, "Host: [::1]:8080"),
			check: fields(hsReqResult{Host: "[::1]:8080"})},
		{name: "content-length 0", in: hsGet("Content-Length: 0")},
		{name: "obs-text in a value", in: hsGet("X-Name: caf\xc3\xa9")},
		{name: "head exactly at the limit", in: hsGet(), limit: len(hsGet())},
		{name: "64 headers", in: hsGet(many(MaxHeaders - len(hsStdHeaders))...)},

		// Need more.
		{name: "empty", in: "", more: true},
		{name: "only empty lines", in: "\r\n\r\n\n", more: true},
		{name: "partial request line", in: "GET / HT", more: true},
		{name: "head without its empty line", in: strings.TrimSuffix(hsGet(), "\r\n"), more: true},
		{name: "CR without LF at the end", in: strings.TrimSuffix(hsGet(), "\n"), more: true},

		// Malformed request line.
		{name: "double space", in: hsReq("GET  / HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "trailing space", in: hsReq("GET / HTTP/1.1 ", nil), err: ErrBadRequestLine, status: 400},
		{name: "missing version", in: hsReq("GET /", nil), err: ErrBadRequestLine, status: 400},
		{name: "missing target", in: hsReq("GET HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "lower-case http", in: hsReq("GET / http/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "version without minor", in: hsReq("GET / HTTP/1", nil), err: ErrBadRequestLine, status: 400},
		{name: "version two digits", in: hsReq("GET / HTTP/1.10", nil), err: ErrBadRequestLine, status: 400},
		{name: "method not a token", in: hsReq("G@T / HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "tab separator", in: hsReq("GET\t/ HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "control in target", in: hsReq("GET /a\x01b HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "DEL in target", in: hsReq("GET /a\x7f HTTP/1.1", nil), err: ErrBadRequestLine, status: 400},
		{name: "garbage", in: "\x00\x01\x02\r\n\r\n", err: ErrBadRequestLine, status: 400},
		{name: "tls client hello", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n", err: ErrBadRequestLine, status: 400},
		{name: "bad request line beats bad header", in: hsReq("GET /", nil, "bad"), err: ErrBadRequestLine, status: 400},

		// Malformed header lines.
		{name: "no colon", in: hsGet("NoColon"), err: ErrBadHeaderLine, status: 400},
		{name: "space before colon", in: hsGet("X-Foo : bar"), err: ErrBadHeaderLine, status: 400},
		{name: "space in name", in: hsGet("X Foo: bar"), err: ErrBadHeaderLine, status: 400},
		{name: "bad name character", in: hsGet("X(Foo): bar"), err: ErrBadHeaderLine, status: 400},
		{name: "non-ascii name", in: hsGet("Hé: bar"), err: ErrBadHeaderLine, status: 400},
		{name: "empty name", in: hsGet(": bar"), err: ErrBadHeaderLine, status: 400},
		{name: "obs-fold", in: hsGet("X-Foo: bar", " baz"), err: ErrBadHeaderLine, status: 400},
		{name: "obs-fold tab", in: hsGet("X-Foo: bar", "\tbaz"), err: ErrBadHeaderLine, status: 400},
		{name: "whitespace before the first header", in: hsHead("GET / HTTP/1.1", append([]string{" Host: h"}, hsStdHeaders[1:]...)...), err: ErrBadHeaderLine, status: 400},
		{name: "NUL in value", in: hsGet("X-Foo: a\x00b"), err: ErrBadHeaderLine, status: 400},
		{name: "CR inside a value", in: hsGet("X-Foo: a\rb"), err: ErrBadHeaderLine, status: 400},
		{name: "DEL in value", in: hsGet("X-Foo: a\x7f"), err: ErrBadHeaderLine, status: 400},
		{name: "CR CR LF", in: hsGet("X-Foo: a\r"), err: ErrBadHeaderLine, status: 400},
		{name: "bad header beats not-upgrade", in: hsHead("GET / HTTP/1.1", "Host: h", "bad"), err: ErrBadHeaderLine, status: 400},

		// Too big.
		{name: "head over the limit", in: hsGet(), limit: len(hsGet()) - 1, err: ErrHeadTooBig, status: 431},
		{name: "endless header", in: "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 9000), err: ErrHeadTooBig, status: 431},
		{name: "endless empty lines", in: strings.Repeat("\r\n", 5000), err: ErrHeadTooBig, status: 431},
		{name: "65 headers", in: hsGet(many(MaxHeaders + 1 - len(hsStdHeaders))...), err: ErrTooManyHeaders, status: 431},
		{name: "too many headers beats a bad later line", in: hsGet(append(many(MaxHeaders+1-len(hsStdHeaders)), "bad")...), err: ErrTooManyHeaders, status: 431},

		// Not an upgrade.
		{name: "plain GET", in: hsHead("GET /index.html HTTP/1.1", "Host: h", "Accept: */*"), err: ErrNotUpgrade, status: 400,
			check: fields(hsReqResult{Target: "/index.html", Host: "h"})},
		{name: "plain POST with body", in: hsHead("POST /form HTTP/1.1", "Host: h", "Content-Length: 3"), tail: "a=b", err: ErrNotUpgrade, status: 400},
		{name: "plain HTTP/1.0", in: hsHead("GET / HTTP/1.0"), err: ErrNotUpgrade, status: 400},
		{name: "OPTIONS *", in: hsHead("OPTIONS * HTTP/1.1", "Host: h"), err: ErrNotUpgrade, status: 400},
		{name: "no upgrade header", in: hsWithout("Upgrade"), err: ErrNotUpgrade, status: 400},
		{name: "no connection header", in: hsWithout("Connection"), err: ErrNotUpgrade, status: 400},
		{name: "connection keep-alive only", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: keep-alive"), err: ErrNotUpgrade, status: 400},
		{name: "connection upgraded (not a token match)", in: hsReq("GET / HTTP/1.1", []string{"Connection"}, "Connection: upgraded"), err: ErrNotUpgrade, status: 400},
		{name: "upgrade h2c", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade: h2c"), err: ErrNotUpgrade, status: 400},
		{name: "upgrade websocket/13", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade: websocket/13"), err: ErrNotUpgrade, status: 400},
		{name: "empty upgrade", in: hsReq("GET / HTTP/1.1", []string{"Upgrade"}, "Upgrade:"), err: ErrNotUpgrade, status: 400},
		{name: "not-upgrade beats method", in: hsHead("POST / HTTP/1.1", "Host: h"), err: ErrNotUpgrade, status: 400},

		// Method, version, target.
		{name: "POST upgrade", in: hsReq("POST / HTTP/1.1", nil), err: ErrMethodNotAllowed, status: 405},
		{name: "lower-case get", in: hsReq("get / HTTP/1.1", nil), err: ErrMethodNotAllowed, status: 405},
		{name: "HEAD upgrade", in: hsReq("HEAD / HTTP/1.1", nil), err: ErrMethodNotAllowed, status: 405},
		{name: "method beats version", in: hsReq("PUT / HTTP/1.0", nil), err: ErrMethodNotAllowed, status: 405},
		{name: "HTTP/1.0 upgrade", in: hsReq("GET / HTTP/1.0", nil), err: ErrHTTPVersion, status: 400},
		{name: "HTTP/0.9 upgrade", in: hsReq("GET / HTTP/0.9", nil), err: ErrHTTPVersion, status: 400},
		{name: "version beats target", in: hsReq("GET x HTTP/1.0", nil), err: ErrHTTPVersion, status: 400},
		{name: "relative target", in: hsReq("GET chat HTTP/1.1", nil), err: ErrBadTarget, status: 400},
		{name: "asterisk target", in: hsReq("GET * HTTP/1.1", nil), err: ErrBadTarget, status: 400},
		{name: "absolute-form target", in: hsReq("GET ws://h/chat HTTP/1.1", nil), err: ErrBadTarget, status: 400},
		{name: "target beats host", in: hsReq("GET x HTTP/1.1", []string{"Host"}), err: ErrBadTarget, status: 400},

		// Host.
		{name: "host missing", in: hsWithout("Host"), err: ErrBadHost, status: 400},
		{name: "host twice", in: hsGet("Host: other"), err: ErrBadHost, status: 400},
		{name: "host empty", in: hsReq("GET / HTTP/1.1", []string{"Host"}, "Host:"), err: ErrBadHost, status: 400},
		{name: "host with space", in: hsReq("GET / HTTP/1.1", []string{"Host"}, "Host: a b"), err: ErrBadHost, status: 400},
		{name: "host with slash", in: hsReq("GET / HTTP/1.1", []string{"Host"}, "Host: a/b"), err: ErrBadHost, status: 400},
		{name: "host beats key", in: hsWithout("Host", "Sec-WebSocket-Key"), err: ErrBadHost, status: 400},

		// Body.
		{name: "transfer-encoding", in: hsGet("Transfer-Encoding: chunked"), err: ErrRequestBody, status: 400},
		{name: "content-length", in: hsGet("Content-Length: 5"), tail: "hello", err: ErrRequestBody, status: 400},

		// Key.
		{name: "key missing", in: hsWithout("Sec-WebSocket-Key"), err: ErrBadKey, status: 400},
		{name: "key empty", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key:"), err: ErrBadKey, status: 400},
		{name: "key not base64", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: not-base64!"), err: ErrBadKey, status: 400},
		{name: "key word", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: key"), err: ErrBadKey, status: 400},
		{name: "key of 15 bytes", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P"), err: ErrBadKey, status: 400},
		{name: "key of 17 bytes", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE="), err: ErrBadKey, status: 400},
		{name: "key unpadded", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), err: ErrBadKey, status: 400},
		{name: "key non-canonical bits", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="), err: ErrBadKey, status: 400},
		{name: "key url alphabet", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25-ZQ=="), err: ErrBadKey, status: 400},
		{name: "key twice", in: hsGet("Sec-WebSocket-Key: " + hsKey), err: ErrBadKey, status: 400},
		{name: "key beats version", in: hsWithout("Sec-WebSocket-Key", "Sec-WebSocket-Version"), err: ErrBadKey, status: 400},

		// WebSocket version.
		{name: "version missing", in: hsWithout("Sec-WebSocket-Version"), err: ErrBadVersion, status: 426},
		{name: "version 8", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Version"}, "Sec-WebSocket-Version: 8"), err: ErrBadVersion, status: 426},
		{name: "version list", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Version"}, "Sec-WebSocket-Version: 13, 8"), err: ErrBadVersion, status: 426},
		{name: "version twice", in: hsGet("Sec-WebSocket-Version: 13"), err: ErrBadVersion, status: 426},
		{name: "version 013", in: hsReq("GET / HTTP/1.1", []string{"Sec-WebSocket-Version"}, "Sec-WebSocket-Version: 013"), err: ErrBadVersion, status: 426},
	}
}

func TestParseRequest(t *testing.T) {
	for _, c := range hsReqCases() {
		t.Run(c.name, func(t *testing.T) {
			in := c.in + c.tail
			whole, r := hsParseRequestWhole(in, c.limit)
			switch {
			case c.more:
				if whole.N != 0 || whole.Err != nil {
					t.Fatalf("want need-more, got n=%d err=%v", whole.N, whole.Err)
				}
			case c.err == nil:
				if whole.Err != nil {
					t.Fatalf("unexpected error %v", whole.Err)
				}
				if whole.N != len(c.in) {
					t.Fatalf("n = %d, want %d", whole.N, len(c.in))
				}
			default:
				if !errors.Is(whole.Err, c.err) {
					t.Fatalf("err = %v, want %v", whole.Err, c.err)
				}
				if s := hsStatus(whole.Err); s != c.status {
					t.Fatalf("status = %d, want %d", s, c.status)
				}
				if c.err != ErrHeadTooBig && methodStart([]byte(c.in)) && whole.N != len(c.in) {
					t.Fatalf("n = %d, want the head length %d", whole.N, len(c.in))
				}
			}
			if c.check != nil {
				c.check(t, r)
			}
			if got := hsParseRequestBytewise(t, []byte(in), c.limit, true); !reflect.DeepEqual(got, whole) {
				t.Fatalf("byte by byte differs from whole:\nbytewise %+v\nwhole    %+v", got, whole)
			}
		})
	}
}

func TestRequestHeaderLookup(t *testing.T) {
	var r Request
	in := []byte(hsGet("X-Empty:", "x-multi: 1", "X-Multi: 2"))
	if _, err := r.Parse(in); err != nil {
		t.Fatal(err)
	}
	if v := r.Header("x-MULTI"); string(v) != "1" {
		t.Errorf("X-Multi = %q", v)
	}
	if v := r.Header("X-Empty"); v == nil || len(v) != 0 {
		t.Errorf("X-Empty = %#v, want empty non-nil", v)
	}
	if v := r.Header("X-Absent"); v != nil {
		t.Errorf("X-Absent = %q", v)
	}
	if len(r.Headers()) != len(hsStdHeaders)+3 {
		t.Errorf("%d headers", len(r.Headers()))
	}
}

func TestRequestProtocolHelpers(t *testing.T) {
	var r Request
	if _, err := r.Parse([]byte(hsGet("Sec-WebSocket-Protocol: x, y", "Sec-WebSocket-Protocol: b, a"))); err != nil {
		t.Fatal(err)
	}
	got := r.AppendProtocols(nil)
	if len(got) != 4 || string(got[0]) != "x" || string(got[3]) != "a" {
		t.Errorf("AppendProtocols = %q", got)
	}
	if !r.HasProtocol("b") || r.HasProtocol("B") || r.HasProtocol("z") {
		t.Error("HasProtocol")
	}
	// Stopping early.
	n := 0
	for range r.Protocols {
		n++
		break
	}
	if n != 1 {
		t.Error("break did not stop the iteration")
	}
}

func TestRequestReset(t *testing.T) {
	r := Request{MaxHeadSize: 1000}
	if _, err := r.Parse([]byte(hsGet())); err != nil {
		t.Fatal(err)
	}
	r.Reset()
	if r.MaxHeadSize != 1000 || r.Method != nil || len(r.Headers()) != 0 {
		t.Fatalf("Reset left %+v", r)
	}
	n, err := r.Parse([]byte(hsReq("GET /x HTTP/1.1", nil)))
	if err != nil || string(r.Target) != "/x" || n == 0 {
		t.Fatalf("after Reset: n=%d err=%v target=%q", n, err, r.Target)
	}
}

// A caller that reuses a Request without Reset for a shorter buffer gets a fresh scan, not a
// panic or stale offsets.
func TestRequestShorterBufferRestarts(t *testing.T) {
	var r Request
	long := hsGet("X-Pad: " + strings.Repeat("p", 100))
	if _, err := r.Parse([]byte(long[:len(long)-10])); err != nil {
		t.Fatal(err)
	}
	n, err := r.Parse([]byte(hsGet()))
	if err != nil || n != len(hsGet()) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	n, err = r.Parse([]byte("GET"))
	if n != 0 || err != nil {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

// Feeding a head one byte at a time costs O(n), not O(n²): each byte is looked at a bounded number
// of times, so a 8 KiB head fed byte by byte stays far below 8 KiB² operations. Measured through
// the scanner's position, which only moves forward.
func TestRequestScanIsLinear(t *testing.T) {
	var r Request
	in := []byte("GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 8000))
	prev := 0
	for i := 1; i <= len(in); i++ {
		r.Parse(in[:i])
		if r.scan.pos < prev || r.scan.pos > i {
			t.Fatalf("scan position %d after %d bytes (was %d)", r.scan.pos, i, prev)
		}
		prev = r.scan.pos
	}
	if prev != len(in) {
		t.Fatalf("scanned %d of %d", prev, len(in))
	}
}

func TestHandshakeErrorsAreDistinct(t *testing.T) {
	errs := []*HandshakeError{ErrNotUpgrade, ErrBadRequestLine, ErrMethodNotAllowed, ErrHTTPVersion,
		ErrBadTarget, ErrBadHeaderLine, ErrBadHost, ErrRequestBody, ErrBadKey, ErrBadVersion,
		ErrHeadTooBig, ErrTooManyHeaders}
	for i, a := range errs {
		for j, b := range errs {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
	if !strings.Contains(ErrBadVersion.Error(), "426") {
		t.Errorf("Error() = %q", ErrBadVersion.Error())
	}
}

func TestRequestZeroAllocs(t *testing.T) {
	in := []byte(hsBrowserRequest)
	var r Request
	var protos [][]byte
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset()
		if _, err := r.Parse(in); err != nil {
			t.Fatal(err)
		}
		n := 0
		for p := range r.Protocols {
			n += len(p)
		}
		r.Extensions(func(e []byte) bool { n += len(e); return true })
		protos = r.AppendProtocols(protos[:0])
		_ = r.HasProtocol("chat")
		_ = r.Header("User-Agent")
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per parse", allocs)
	}
	bad := []byte(hsWithout("Sec-WebSocket-Version"))
	allocs = testing.AllocsPerRun(100, func() {
		r.Reset()
		if _, err := r.Parse(bad); err != ErrBadVersion {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per failed parse", allocs)
	}
	allocs = testing.AllocsPerRun(10, func() {
		r.Reset()
		for i := 1; i <= len(in); i++ {
			r.Parse(in[:i])
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per byte-by-byte parse", allocs)
	}
}

// hsBrowserRequest is what a current Chrome sends (about 500 bytes).
var hsBrowserRequest = hsHead("GET /chat?room=lobby HTTP/1.1",
	"Host: example.com:8080",
	"Connection: Upgrade",
	"Pragma: no-cache",
	"Cache-Control: no-cache",
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Upgrade: websocket",
	"Origin: https://example.com",
	"Sec-WebSocket-Version: 13",
	"Accept-Encoding: gzip, deflate, br, zstd",
	"Accept-Language: en-US,en;q=0.9",
	"Sec-WebSocket-Key: "+hsKey,
	"Sec-WebSocket-Protocol: chat, superchat",
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
)

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(hsBrowserRequest)
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// hsWithin reports whether s is nil or a sub-slice of buf.
func hsWithin(s, buf []byte) bool {
	if s == nil {
		return true
	}
	if len(buf) == 0 {
		return len(s) == 0
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= base && p+uintptr(len(s)) <= base+uintptr(len(buf))
}

func FuzzParseRequest(f *testing.F) {
	for _, c := range hsReqCases() {
		f.Add([]byte(c.in+c.tail), uint16(c.limit))
	}
	f.Add([]byte(hsBrowserRequest), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		lim := int(limit % 2048) // small limits reach the size checks; 0 is the default
		var r Request
		r.MaxHeadSize = lim
		n, err := r.Parse(in)
		whole := hsSnapRequest(&r, n, err)

		// Split feeding agrees with whole feeding.
		if got := hsParseRequestBytewise(t, in, lim, len(in) <= 256); !reflect.DeepEqual(got, whole) {
			t.Fatalf("byte by byte differs:\n%+v\n%+v", got, whole)
		}
		if n < 0 || n > len(in) || n > headLimit(lim) {
			t.Fatalf("n = %d for %d bytes, limit %d", n, len(in), headLimit(lim))
		}
		if n == 0 && err != nil && err != ErrHeadTooBig && (err != ErrBadRequestLine || methodStart(in)) {
			t.Fatalf("error %v without a head", err)
		}
		if n == 0 {
			return
		}
		if in[n-1] != '\n' {
			t.Fatalf("head does not end with LF: %q", in[:n])
		}
		for _, s := range [][]byte{r.Method, r.Target, r.Proto, r.Host, r.Key, r.Version, r.Origin} {
			if !hsWithin(s, in[:n]) {
				t.Fatalf("%q is not a sub-slice of the head", s)
			}
		}
		for _, h := range r.Headers() {
			if !hsWithin(h.Name, in[:n]) || !hsWithin(h.Value, in[:n]) {
				t.Fatalf("header %q is not a sub-slice of the head", h.Name)
			}
			if err != ErrBadHeaderLine && err != ErrTooManyHeaders && (!isToken(h.Name) || !isFieldValue(h.Value)) {
				t.Fatalf("bad header %q: %q accepted", h.Name, h.Value)
			}
		}
		if hsStatus(err) == -1 && err != nil {
			t.Fatalf("error %v is not a *HandshakeError", err)
		}
		if err != nil {
			return
		}
		// Success implies the invariants of a valid upgrade.
		if string(r.Method) != "GET" || r.Target[0] != '/' || !validKey(r.Key) || string(r.Version) != "13" ||
			len(r.Host) == 0 || !r.headers.hasToken("Upgrade", "websocket") || !r.headers.hasToken("Connection", "upgrade") {
			t.Fatalf("accepted an invalid upgrade: %+v", whole)
		}
		if major, minor, ok := parseHTTPVersion(r.Proto, false); !ok || major*10+minor < 11 {
			t.Fatalf("accepted version %q", r.Proto)
		}
		for p := range r.Protocols {
			if len(p) == 0 || p[0] == ' ' || p[len(p)-1] == ' ' || strings.Contains(string(p), ",") && !strings.Contains(string(p), `"`) {
				t.Fatalf("protocol element %q", p)
			}
		}
		// The 101 for it parses on the client side.
		resp, err := AppendResponse(nil, r.Key, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var cr Response
		if _, err := cr.Parse(resp, &ClientRequest{Key: r.Key}); err != nil {
			t.Fatalf("client refused the 101: %v", err)
		}
	})
}

// A TLS ClientHello (or any byte that cannot start a method) is refused at its first byte, with
// no wait for the end of a head.
func TestRequestNotHTTPFailsAtOnce(t *testing.T) {
	for _, in := range []string{"\x16\x03\x01\x02\x00", " GET / HTTP/1.1"} {
		var r Request
		if n, err := r.Parse([]byte(in)); n != 0 || err != ErrBadRequestLine {
			t.Errorf("Parse(%q) = %d, %v; want ErrBadRequestLine at once", in, n, err)
		}
	}
	var r Request
	if n, err := r.Parse([]byte("\r\nGE")); n != 0 || err != nil {
		t.Errorf("a prefix of a request: %d, %v", n, err)
	}
}
