package codec

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestNewKey(t *testing.T) {
	a := NewKey([]byte("x"))
	b := NewKey(nil)
	if len(a) != 1+KeyLen || a[0] != 'x' || len(b) != KeyLen {
		t.Fatalf("lengths %d %d", len(a), len(b))
	}
	if !validKey(a[1:]) || !validKey(b) {
		t.Fatalf("invalid keys %q %q", a[1:], b)
	}
	if bytes.Equal(a[1:], b) {
		t.Fatal("two keys are equal")
	}
	buf := make([]byte, 0, KeyLen)
	if allocs := testing.AllocsPerRun(100, func() { buf = NewKey(buf[:0]) }); allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func TestClientRequestExact(t *testing.T) {
	c := ClientRequest{Target: "/chat", Host: "server.example.com", Key: []byte(hsKey)}
	got, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + hsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}

	c = ClientRequest{Host: "h", Port: 8080, Key: []byte(hsKey), Protocols: []string{"chat", "superchat"},
		Extensions: "permessage-deflate; client_max_window_bits",
		Header:     []HeaderField{{"Origin", "http://h"}, {"host", "other.example:9"}, {"Authorization", "Bearer x"}}}
	got, err = c.Append([]byte("pre"))
	if err != nil {
		t.Fatal(err)
	}
	want = "preGET / HTTP/1.1\r\nHost: other.example:9\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + hsKey + "\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Origin: http://h\r\nAuthorization: Bearer x\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestClientRequestHost(t *testing.T) {
	cases := []struct {
		host   string
		port   int
		secure bool
		want   string
	}{
		{"example.com", 0, false, "example.com"},
		{"example.com", 80, false, "example.com"},
		{"example.com", 443, false, "example.com:443"},
		{"example.com", 8080, false, "example.com:8080"},
		{"example.com", 0, true, "example.com"},
		{"example.com", 443, true, "example.com"},
		{"example.com", 80, true, "example.com:80"},
		{"127.0.0.1", 8001, false, "127.0.0.1:8001"},
		{"::1", 0, false, "[::1]"},
		{"::1", 8001, false, "[::1]:8001"},
		{"[::1]", 8001, true, "[::1]:8001"},
		{"fe80::1%25eth0", 0, true, "[fe80::1%25eth0]"},
		{"xn--bcher-kva.example", 65535, false, "xn--bcher-kva.example:65535"},
	}
	for _, c := range cases {
		r := ClientRequest{Host: c.host, Port: c.port, Secure: c.secure, Key: []byte(hsKey)}
		got, err := r.Append(nil)
		if err != nil {
			t.Errorf("%q %d: %v", c.host, c.port, err)
			continue
		}
		if line := "\r\nHost: " + c.want + "\r\n"; !strings.Contains(string(got), line) {
			t.Errorf("%q %d %v: %q lacks %q", c.host, c.port, c.secure, got, line)
		}
	}
}

func TestClientRequestRefuses(t *testing.T) {
	ok := func() ClientRequest { return ClientRequest{Target: "/", Host: "h", Key: []byte(hsKey)} }
	cases := []struct {
		name string
		edit func(*ClientRequest)
		err  error
	}{
		{"relative target", func(c *ClientRequest) { c.Target = "chat" }, ErrInvalidTarget},
		{"target with space", func(c *ClientRequest) { c.Target = "/a b" }, ErrInvalidTarget},
		{"target with CRLF", func(c *ClientRequest) { c.Target = "/\r\nX-Evil: 1" }, ErrInvalidTarget},
		{"empty host", func(c *ClientRequest) { c.Host = "" }, ErrInvalidHost},
		{"host with port", func(c *ClientRequest) { c.Host = "h:80" }, ErrInvalidHost},
		{"host with CRLF", func(c *ClientRequest) { c.Host = "h\r\nX: 1" }, ErrInvalidHost},
		{"host with slash", func(c *ClientRequest) { c.Host = "h/x" }, ErrInvalidHost},
		{"unclosed bracket", func(c *ClientRequest) { c.Host = "[::1" }, ErrInvalidHost},
		{"lone bracket", func(c *ClientRequest) { c.Host = "[" }, ErrInvalidHost},
		{"empty brackets", func(c *ClientRequest) { c.Host = "[]" }, ErrInvalidHost},
		{"bracket inside", func(c *ClientRequest) { c.Host = "a]b" }, ErrInvalidHost},
		{"port too big", func(c *ClientRequest) { c.Port = 65536 }, ErrInvalidPort},
		{"negative port", func(c *ClientRequest) { c.Port = -1 }, ErrInvalidPort},
		{"no key", func(c *ClientRequest) { c.Key = nil }, ErrInvalidKey},
		{"short key", func(c *ClientRequest) { c.Key = []byte("abc") }, ErrInvalidKey},
		{"key with CRLF", func(c *ClientRequest) { c.Key = []byte("dGhlIHNhbXBsZSBub25j\r\n==") }, ErrInvalidKey},
		{"protocol with space", func(c *ClientRequest) { c.Protocols = []string{"a b"} }, ErrInvalidProtocol},
		{"empty protocol", func(c *ClientRequest) { c.Protocols = []string{""} }, ErrInvalidProtocol},
		{"protocol with comma", func(c *ClientRequest) { c.Protocols = []string{"a,b"} }, ErrInvalidProtocol},
		{"repeated protocol", func(c *ClientRequest) { c.Protocols = []string{"a", "b", "a"} }, ErrInvalidProtocol},
		{"extensions with LF", func(c *ClientRequest) { c.Extensions = "x\nEvil: 1" }, ErrInvalidHeaderValue},
		{"value with CR", func(c *ClientRequest) { c.Header = []HeaderField{{"Origin", "a\rb"}} }, ErrInvalidHeaderValue},
		{"value with LF", func(c *ClientRequest) { c.Header = []HeaderField{{"Origin", "a\nb"}} }, ErrInvalidHeaderValue},
		{"value with NUL", func(c *ClientRequest) { c.Header = []HeaderField{{"Origin", "a\x00"}} }, ErrInvalidHeaderValue},
		{"host override with CRLF", func(c *ClientRequest) { c.Header = []HeaderField{{"Host", "a\r\nX: 1"}} }, ErrInvalidHeaderValue},
		{"name with colon", func(c *ClientRequest) { c.Header = []HeaderField{{"X:Y", "1"}} }, ErrInvalidHeaderName},
		{"name with CRLF", func(c *ClientRequest) { c.Header = []HeaderField{{"X\r\nY", "1"}} }, ErrInvalidHeaderName},
		{"empty name", func(c *ClientRequest) { c.Header = []HeaderField{{"", "1"}} }, ErrInvalidHeaderName},
		{"upgrade", func(c *ClientRequest) { c.Header = []HeaderField{{"Upgrade", "h2c"}} }, ErrReservedHeader},
		{"connection", func(c *ClientRequest) { c.Header = []HeaderField{{"connection", "close"}} }, ErrReservedHeader},
		{"key header", func(c *ClientRequest) { c.Header = []HeaderField{{"Sec-WebSocket-Key", hsKey}} }, ErrReservedHeader},
		{"version header", func(c *ClientRequest) { c.Header = []HeaderField{{"sec-websocket-version", "8"}} }, ErrReservedHeader},
		{"protocol header", func(c *ClientRequest) { c.Header = []HeaderField{{"Sec-WebSocket-Protocol", "x"}} }, ErrReservedHeader},
		{"extensions header", func(c *ClientRequest) { c.Header = []HeaderField{{"SEC-WEBSOCKET-EXTENSIONS", "x"}} }, ErrReservedHeader},
		{"host twice", func(c *ClientRequest) { c.Header = []HeaderField{{"Host", "a"}, {"HOST", "b"}} }, ErrReservedHeader},
	}
	for _, c := range cases {
		r := ok()
		c.edit(&r)
		got, err := r.Append([]byte("p"))
		if err != c.err || string(got) != "p" {
			t.Errorf("%s: err %v, dst %q; want %v", c.name, err, got, c.err)
		}
	}
	// The Host override makes the Host field unused, so it may be empty.
	r := ok()
	r.Host = ""
	r.Header = []HeaderField{{"Host", "virtual.example"}}
	if _, err := r.Append(nil); err != nil {
		t.Errorf("host override with an empty Host: %v", err)
	}
}

// Client request writer → server request parser → server response writer → client response parser.
func TestHandshakeRoundTripClientSide(t *testing.T) {
	c := ClientRequest{Target: "/chat?x=%20", Host: "::1", Port: 9001, Key: NewKey(nil),
		Protocols: []string{"v2.chat", "chat"}, Extensions: "x-foo; a=1, permessage-deflate",
		Header: []HeaderField{{"Origin", "http://localhost"}, {"Cookie", "a=1; b=2"}}}
	out, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	var req Request
	n, err := req.Parse(out)
	if err != nil || n != len(out) {
		t.Fatalf("server: n=%d err=%v for %q", n, err, out)
	}
	if string(req.Target) != c.Target || string(req.Host) != "[::1]:9001" || !bytes.Equal(req.Key, c.Key) ||
		string(req.Origin) != "http://localhost" || string(req.Header("cookie")) != "a=1; b=2" {
		t.Fatalf("server saw %+v", req)
	}
	if got := req.AppendProtocols(nil); len(got) != 2 || string(got[0]) != "v2.chat" || string(got[1]) != "chat" {
		t.Fatalf("protocols %q", got)
	}
	var exts []string
	for e := range req.Extensions {
		exts = append(exts, string(e))
	}
	if !reflect.DeepEqual(exts, []string{"x-foo; a=1", "permessage-deflate"}) {
		t.Fatalf("extensions %q", exts)
	}
	resp, err := AppendResponse(nil, req.Key, "chat", []HeaderField{{"Sec-WebSocket-Extensions", "permessage-deflate"}})
	if err != nil {
		t.Fatal(err)
	}
	var r Response
	if n, err := r.Parse(resp, &c); err != nil || n != len(resp) || string(r.Protocol) != "chat" {
		t.Fatalf("client: n=%d err=%v protocol=%q", n, err, r.Protocol)
	}
}

// hs101 is a 101 response for hsKey with extra header lines.
func hs101(extra ...string) string {
	return hsHead("HTTP/1.1 101 Switching Protocols", append([]string{"Upgrade: websocket", "Connection: Upgrade",
		"Sec-WebSocket-Accept: " + hsAccept}, extra...)...)
}

// hs101Without is a 101 without the standard headers named in drop.
func hs101Without(drop ...string) string {
	var lines []string
next:
	for _, l := range []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + hsAccept} {
		for _, d := range drop {
			if strings.HasPrefix(l, d+":") {
				continue next
			}
		}
		lines = append(lines, l)
	}
	return hsHead("HTTP/1.1 101 Switching Protocols", lines...)
}

// hsRespResult is everything Response.Parse produces, in comparable form.
type hsRespResult struct {
	N                   int
	Err                 error
	Proto, Reason       string
	Status              int
	Protocol            string
	ProtocolNil         bool
	Headers, Extensions []string
}

func hsSnapResponse(r *Response, n int, err error) hsRespResult {
	res := hsRespResult{N: n, Err: err, Proto: string(r.Proto), Status: r.Status, Reason: string(r.Reason),
		Protocol: string(r.Protocol), ProtocolNil: r.Protocol == nil}
	if n == 0 {
		return res
	}
	for _, h := range r.Headers() {
		res.Headers = append(res.Headers, string(h.Name)+": "+string(h.Value))
	}
	for e := range r.Extensions {
		res.Extensions = append(res.Extensions, string(e))
	}
	return res
}

func hsParseResponseWhole(in string, req *ClientRequest, limit int) (hsRespResult, *Response) {
	r := &Response{MaxHeadSize: limit}
	n, err := r.Parse([]byte(in), req)
	return hsSnapResponse(r, n, err), r
}

// hsParseResponseBytewise feeds in one byte more at a time, like hsParseRequestBytewise.
func hsParseResponseBytewise(t *testing.T, in []byte, req *ClientRequest, limit int, fresh bool) hsRespResult {
	t.Helper()
	r := &Response{MaxHeadSize: limit}
	for i := 0; i <= len(in); i++ {
		buf := in[:i]
		if fresh {
			buf = append([]byte(nil), buf...)
		}
		n, err := r.Parse(buf, req)
		if n == 0 && err == nil {
			continue
		}
		res := hsSnapResponse(r, n, err)
		n2, err2 := r.Parse(buf, req)
		if again := hsSnapResponse(r, n2, err2); !reflect.DeepEqual(res, again) {
			t.Errorf("second Parse of the same bytes differs:\n%+v\n%+v", res, again)
		}
		return res
	}
	return hsSnapResponse(r, 0, nil)
}

func TestParseResponse(t *testing.T) {
	plain := &ClientRequest{Key: []byte(hsKey)}
	protos := &ClientRequest{Key: []byte(hsKey), Protocols: []string{"chat", "superchat"}}
	exts := &ClientRequest{Key: []byte(hsKey), Extensions: "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"}
	many := make([]string, MaxHeaders-2)
	for i := range many {
		many[i] = "X-Pad: 1"
	}
	cases := []struct {
		name     string
		in       string
		req      *ClientRequest
		limit    int
		err      error
		more     bool
		status   int
		protocol string
		tail     string
	}{
		{name: "rfc example", in: hs101(), req: plain, status: 101},
		{name: "no reason", in: hsHead("HTTP/1.1 101", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, status: 101},
		{name: "empty reason", in: hsHead("HTTP/1.1 101 ", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, status: 101},
		{name: "lenient names and values", in: hsHead("HTTP/1.1 101 Switching Protocols", "upgrade: WEBSOCKET", "connection: keep-alive,upgrade", "sec-websocket-accept:"+hsAccept+" "), req: plain, status: 101},
		{name: "lower-case http", in: hsHead("http/1.1 101 OK", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, status: 101},
		{name: "bare LF", in: strings.ReplaceAll(hs101(), "\r\n", "\n"), req: plain, status: 101},
		{name: "frames after the head", in: hs101(), tail: "\x81\x05hello", req: plain, status: 101},
		{name: "nil request, no protocol", in: hs101(), req: nil, err: ErrResponseHashMismatch, status: 101},
		{name: "protocol chosen", in: hs101("Sec-WebSocket-Protocol: superchat"), req: protos, status: 101, protocol: "superchat"},
		{name: "empty protocol header without offer", in: hs101("Sec-WebSocket-Protocol:"), req: plain, status: 101},
		{name: "extension accepted", in: hs101("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover"), req: exts, status: 101},
		{name: "extension names case-insensitive", in: hs101("Sec-WebSocket-Extensions: Permessage-Deflate"), req: exts, status: 101},
		{name: "two extensions over two lines", in: hs101("Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: x-webkit-deflate-frame"), req: exts, status: 101},
		{name: "64 headers", in: hs101(many[:MaxHeaders-3]...), req: plain, status: 101},
		{name: "exactly at the limit", in: hs101(), limit: len(hs101()), req: plain, status: 101},

		{name: "empty", in: "", req: plain, more: true},
		{name: "partial", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: web", req: plain, more: true},

		// 1. Status line.
		{name: "400 without headers", in: "HTTP/1.1 400 Bad Request\r\n\r\n", req: plain, err: ErrResponseStatus, status: 400},
		{name: "404 with headers", in: hsHead("HTTP/1.1 404 Not Found", "Content-Length: 0"), req: plain, err: ErrResponseStatus, status: 404},
		{name: "200", in: hsHead("HTTP/1.1 200 OK", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, err: ErrResponseStatus, status: 200},
		{name: "status of four digits", in: hsHead("HTTP/1.1 1010 X", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "status of two digits", in: hsHead("HTTP/1.1 10", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "status not digits", in: hsHead("HTTP/1.1 1x1 X", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "no status", in: hsHead("HTTP/1.1", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "double space", in: hsHead("HTTP/1.1  101", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "not http", in: hsHead("ICY 101 OK", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "control in reason", in: hsHead("HTTP/1.1 101 a\x00b", "A: b"), req: plain, err: ErrResponseStatus},
		{name: "status beats bad header", in: hsHead("HTTP/1.1 403 Forbidden", "bad"), req: plain, err: ErrResponseStatus, status: 403},

		// Header lines and size.
		{name: "bad header line", in: hs101("no colon"), req: plain, err: ErrResponseHeaderLine, status: 101},
		{name: "obs-fold", in: hs101("X: a", " b"), req: plain, err: ErrResponseHeaderLine, status: 101},
		{name: "65 headers", in: hs101(append(many[:MaxHeaders-2], "X: y")...), req: plain, err: ErrResponseTooBig, status: 101},
		{name: "over the limit", in: hs101(), limit: len(hs101()) - 1, req: plain, err: ErrResponseTooBig},
		{name: "endless", in: "HTTP/1.1 101 " + strings.Repeat("x", 9000), req: plain, err: ErrResponseTooBig},

		// 2. Missing headers.
		{name: "no upgrade", in: hs101Without("Upgrade"), req: plain, err: ErrResponseMissingHeaders, status: 101},
		{name: "no connection", in: hs101Without("Connection"), req: plain, err: ErrResponseMissingHeaders, status: 101},
		{name: "no accept", in: hs101Without("Sec-WebSocket-Accept"), req: plain, err: ErrResponseMissingHeaders, status: 101},
		{name: "missing beats invalid upgrade", in: hsHead("HTTP/1.1 101 X", "Upgrade: h2c", "Connection: Upgrade"), req: plain, err: ErrResponseMissingHeaders, status: 101},

		// 3. Upgrade and Connection.
		{name: "upgrade h2c", in: hsHead("HTTP/1.1 101 X", "Upgrade: h2c", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, err: ErrResponseUpgrade, status: 101},
		{name: "upgrade websocket, foo", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket, foo", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, err: ErrResponseUpgrade, status: 101},
		{name: "empty upgrade", in: hsHead("HTTP/1.1 101 X", "Upgrade:", "Connection: Upgrade", "Sec-WebSocket-Accept: "+hsAccept), req: plain, err: ErrResponseUpgrade, status: 101},
		{name: "connection keep-alive", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: keep-alive", "Sec-WebSocket-Accept: "+hsAccept), req: plain, err: ErrResponseUpgrade, status: 101},
		{name: "upgrade beats protocol", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: close", "Sec-WebSocket-Accept: x", "Sec-WebSocket-Protocol: chat"), req: plain, err: ErrResponseUpgrade, status: 101, protocol: "chat"},

		// 4. Protocol.
		{name: "offered, none chosen", in: hs101(), req: protos, err: ErrResponseNoProtocol, status: 101},
		{name: "offered, other chosen", in: hs101("Sec-WebSocket-Protocol: other"), req: protos, err: ErrResponseNoProtocol, status: 101, protocol: "other"},
		{name: "offered, case differs", in: hs101("Sec-WebSocket-Protocol: Chat"), req: protos, err: ErrResponseNoProtocol, status: 101, protocol: "Chat"},
		{name: "offered, list chosen", in: hs101("Sec-WebSocket-Protocol: chat, superchat"), req: protos, err: ErrResponseNoProtocol, status: 101, protocol: "chat, superchat"},
		{name: "offered, two lines", in: hs101("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"), req: protos, err: ErrResponseNoProtocol, status: 101, protocol: "chat"},
		{name: "offered, empty chosen", in: hs101("Sec-WebSocket-Protocol:"), req: protos, err: ErrResponseNoProtocol, status: 101},
		{name: "not offered, one chosen", in: hs101("Sec-WebSocket-Protocol: chat"), req: plain, err: ErrResponseUnexpectedProtocol, status: 101, protocol: "chat"},
		{name: "protocol beats hash", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: wrong", "Sec-WebSocket-Protocol: zzz"), req: protos, err: ErrResponseNoProtocol, status: 101, protocol: "zzz"},

		// 6. Accept.
		{name: "hash mismatch", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp="), req: plain, err: ErrResponseHashMismatch, status: 101},
		{name: "hash of another key", in: hs101(), req: &ClientRequest{Key: []byte("AQIDBAUGBwgJCgsMDQ4PEA==")}, err: ErrResponseHashMismatch, status: 101},
		{name: "protocol kept on hash mismatch", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: nope", "Sec-WebSocket-Protocol: chat"), req: protos, err: ErrResponseHashMismatch, status: 101, protocol: "chat"},
		{name: "accept twice", in: hs101("Sec-WebSocket-Accept: " + hsAccept), req: plain, err: ErrResponseHashMismatch, status: 101},
		{name: "hash beats extension", in: hsHead("HTTP/1.1 101 X", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: nope", "Sec-WebSocket-Extensions: x"), req: plain, err: ErrResponseHashMismatch, status: 101},

		// 7. Extensions.
		{name: "extension not offered", in: hs101("Sec-WebSocket-Extensions: permessage-deflate"), req: plain, err: ErrResponseExtension, status: 101},
		{name: "other extension", in: hs101("Sec-WebSocket-Extensions: x-foo"), req: exts, err: ErrResponseExtension, status: 101},
		{name: "second extension not offered", in: hs101("Sec-WebSocket-Extensions: permessage-deflate, x-foo"), req: exts, err: ErrResponseExtension, status: 101},
		{name: "nameless extension", in: hs101("Sec-WebSocket-Extensions: ; a=1"), req: exts, err: ErrResponseExtension, status: 101},
		{name: "extension name with a quote", in: hs101(`Sec-WebSocket-Extensions: "permessage-deflate"`), req: exts, err: ErrResponseExtension, status: 101},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in + c.tail
			whole, r := hsParseResponseWhole(in, c.req, c.limit)
			switch {
			case c.more:
				if whole.N != 0 || whole.Err != nil {
					t.Fatalf("want need-more, got n=%d err=%v", whole.N, whole.Err)
				}
			case c.err == nil:
				if whole.Err != nil || whole.N != len(c.in) {
					t.Fatalf("n=%d err=%v, want n=%d", whole.N, whole.Err, len(c.in))
				}
			default:
				if !errors.Is(whole.Err, c.err) {
					t.Fatalf("err = %v, want %v", whole.Err, c.err)
				}
				if hsStatus(whole.Err) != 0 {
					t.Fatalf("status of the error %d", hsStatus(whole.Err))
				}
				if wantN := len(c.in); c.err == ErrResponseTooBig && c.status == 0 {
					if whole.N != 0 {
						t.Fatalf("n = %d for an oversized head", whole.N)
					}
				} else if whole.N != wantN {
					t.Fatalf("n = %d, want %d", whole.N, wantN)
				}
			}
			if !c.more && r.Status != c.status {
				t.Errorf("Status = %d, want %d", r.Status, c.status)
			}
			if string(r.Protocol) != c.protocol {
				t.Errorf("Protocol = %q, want %q", r.Protocol, c.protocol)
			}
			if got := hsParseResponseBytewise(t, []byte(in), c.req, c.limit, true); !reflect.DeepEqual(got, whole) {
				t.Fatalf("byte by byte differs from whole:\nbytewise %+v\nwhole    %+v", got, whole)
			}
		})
	}
}

func TestResponseErrorMessages(t *testing.T) {
	want := map[*HandshakeError]string{
		ErrResponseTooBig:             "Handshake is too big",
		ErrResponseStatus:             "Invalid handshake: invalid first line format",
		ErrResponseMissingHeaders:     "Invalid handshake: missing required headers",
		ErrResponseUpgrade:            "Invalid handshake: invalid Upgrade or Connection header",
		ErrResponseNoProtocol:         "Invalid handshake: no protocol was negotiated",
		ErrResponseUnexpectedProtocol: "Invalid handshake: no protocol negotiation was expected",
		ErrResponseHashMismatch:       "Invalid handshake: hash mismatch",
		ErrResponseExtension:          "Invalid handshake: unexpected extension",
		ErrResponseHeaderLine:         "Invalid handshake: invalid header line",
	}
	for e, msg := range want {
		if e.Error() != msg || e.Status != 0 {
			t.Errorf("%q (status %d), want %q", e.Error(), e.Status, msg)
		}
		for other := range want {
			if (e == other) != errors.Is(e, other) {
				t.Errorf("errors.Is(%v, %v)", e, other)
			}
		}
	}
}

func TestResponseHeaderLookupAndReset(t *testing.T) {
	r := Response{MaxHeadSize: 512}
	in := []byte(hs101("X-A: 1", "x-a: 2"))
	if _, err := r.Parse(in, &ClientRequest{Key: []byte(hsKey)}); err != nil {
		t.Fatal(err)
	}
	if string(r.Header("X-a")) != "1" || r.Header("nope") != nil || len(r.Headers()) != 5 {
		t.Fatalf("lookup: %q %q %d", r.Header("X-a"), r.Header("nope"), len(r.Headers()))
	}
	r.Reset()
	if r.MaxHeadSize != 512 || r.Status != 0 || len(r.Headers()) != 0 {
		t.Fatalf("Reset left %+v", r)
	}
}

func TestClientZeroAllocs(t *testing.T) {
	c := ClientRequest{Target: "/chat", Host: "example.com", Port: 8080, Key: []byte(hsKey),
		Protocols: []string{"chat", "superchat"}, Extensions: "permessage-deflate",
		Header: []HeaderField{{"Origin", "http://example.com"}}}
	buf := make([]byte, 0, 1024)
	resp := []byte(hs101("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Extensions: permessage-deflate"))
	var r Response
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = c.Append(buf[:0]); err != nil {
			t.Fatal(err)
		}
		r.Reset()
		if _, err := r.Parse(resp, &c); err != nil {
			t.Fatal(err)
		}
		r.Reset()
		if _, err := r.Parse(resp, nil); err != ErrResponseUnexpectedProtocol {
			t.Fatal(err)
		}
		r.Reset()
		for i := 1; i <= len(resp); i++ {
			r.Parse(resp[:i], &c)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func BenchmarkNewKey(b *testing.B) {
	buf := make([]byte, 0, KeyLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = NewKey(buf[:0])
	}
}

func BenchmarkAppendClientRequest(b *testing.B) {
	c := ClientRequest{Target: "/chat?room=lobby", Host: "example.com", Port: 8080, Key: []byte(hsKey),
		Protocols: []string{"chat", "superchat"}, Header: []HeaderField{{"Origin", "http://example.com"}}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.Append(buf[:0])
	}
}

func BenchmarkParseResponse(b *testing.B) {
	c := ClientRequest{Key: []byte(hsKey), Protocols: []string{"chat", "superchat"}}
	in := []byte(hs101("Sec-WebSocket-Protocol: chat"))
	var r Response
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(in, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(hs101()), uint8(0), uint16(0))
	f.Add([]byte(hs101("Sec-WebSocket-Protocol: chat")), uint8(1), uint16(0))
	f.Add([]byte(hs101("Sec-WebSocket-Extensions: permessage-deflate; a=\"1,2\"")), uint8(2), uint16(0))
	f.Add([]byte(hs101()+"\x81\x00"), uint8(3), uint16(200))
	f.Add([]byte(strings.ReplaceAll(hs101(), "\r\n", "\n")), uint8(0), uint16(0))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"), uint8(0), uint16(0))
	f.Add([]byte(hsHead("http/1.0 101", "upgrade: WEBSOCKET", "connection: keep-alive,upgrade", "sec-websocket-accept: "+hsAccept)), uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, flags uint8, limit uint16) {
		req := &ClientRequest{Key: []byte(hsKey)}
		if flags&1 != 0 {
			req.Protocols = []string{"chat", "superchat"}
		}
		if flags&2 != 0 {
			req.Extensions = "permessage-deflate; client_max_window_bits, x-foo"
		}
		lim := int(limit % 2048)
		r := Response{MaxHeadSize: lim}
		n, err := r.Parse(in, req)
		whole := hsSnapResponse(&r, n, err)
		if got := hsParseResponseBytewise(t, in, req, lim, len(in) <= 256); !reflect.DeepEqual(got, whole) {
			t.Fatalf("byte by byte differs:\n%+v\n%+v", got, whole)
		}
		if n < 0 || n > len(in) || n > headLimit(lim) {
			t.Fatalf("n = %d for %d bytes", n, len(in))
		}
		if err != nil && hsStatus(err) != 0 {
			t.Fatalf("error %v with status %d", err, hsStatus(err))
		}
		if n == 0 {
			if err != nil && err != ErrResponseTooBig {
				t.Fatalf("error %v without a head", err)
			}
			return
		}
		head := in[:n]
		if head[n-1] != '\n' {
			t.Fatalf("head does not end with LF")
		}
		for _, s := range [][]byte{r.Proto, r.Reason, r.Protocol} {
			if !hsWithin(s, head) {
				t.Fatalf("%q is not a sub-slice of the head", s)
			}
		}
		for _, h := range r.Headers() {
			if !hsWithin(h.Name, head) || !hsWithin(h.Value, head) {
				t.Fatalf("header %q is not a sub-slice of the head", h.Name)
			}
		}
		if err != nil {
			return
		}
		// Success implies the invariants of an accepted handshake.
		if r.Status != 101 || !CheckAccept(req.Key, r.Header("Sec-WebSocket-Accept")) ||
			!equalFold(r.Header("Upgrade"), "websocket") || !r.headers.hasToken("Connection", "upgrade") {
			t.Fatalf("accepted an invalid response: %+v", whole)
		}
		if len(req.Protocols) > 0 && !(string(r.Protocol) == "chat" || string(r.Protocol) == "superchat") {
			t.Fatalf("accepted protocol %q", r.Protocol)
		}
		if len(req.Protocols) == 0 && len(r.Protocol) > 0 {
			t.Fatalf("accepted unexpected protocol %q", r.Protocol)
		}
		for e := range r.Extensions {
			if name := string(extensionName(e)); req.Extensions == "" || !strings.Contains(strings.ToLower(req.Extensions), strings.ToLower(name)) {
				t.Fatalf("accepted extension %q", e)
			}
		}
	})
}
