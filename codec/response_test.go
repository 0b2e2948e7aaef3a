package codec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestAppendResponseExact(t *testing.T) {
	got, err := AppendResponse(nil, []byte(hsKey), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestAppendResponseProtocolAndExtra(t *testing.T) {
	prefix := []byte("keep:")
	got, err := AppendResponse(prefix, []byte(hsKey), "chat",
		[]HeaderField{{"Set-Cookie", "a=b; Path=/"}, {"X-Server", "wsloop"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "keep:HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + hsAccept + "\r\nSec-WebSocket-Protocol: chat\r\n" +
		"Set-Cookie: a=b; Path=/\r\nX-Server: wsloop\r\n\r\n"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestAppendResponseRefusesInjection(t *testing.T) {
	cases := []struct {
		name     string
		protocol string
		extra    []HeaderField
		err      error
	}{
		{"protocol with space", "a b", nil, ErrInvalidProtocol},
		{"protocol with comma", "a,b", nil, ErrInvalidProtocol},
		{"protocol with CRLF", "a\r\nX-Evil: 1", nil, ErrInvalidProtocol},
		{"CR in value", "", []HeaderField{{"X", "a\rb"}}, ErrInvalidHeaderValue},
		{"LF in value", "", []HeaderField{{"X", "a\nX-Evil: 1"}}, ErrInvalidHeaderValue},
		{"NUL in value", "", []HeaderField{{"X", "a\x00"}}, ErrInvalidHeaderValue},
		{"CR in name", "", []HeaderField{{"X\r\nEvil", "1"}}, ErrInvalidHeaderName},
		{"colon in name", "", []HeaderField{{"X:Y", "1"}}, ErrInvalidHeaderName},
		{"space in name", "", []HeaderField{{"X Y", "1"}}, ErrInvalidHeaderName},
		{"empty name", "", []HeaderField{{"", "1"}}, ErrInvalidHeaderName},
		{"upgrade", "", []HeaderField{{"upgrade", "h2c"}}, ErrReservedHeader},
		{"connection", "", []HeaderField{{"Connection", "close"}}, ErrReservedHeader},
		{"accept", "", []HeaderField{{"Sec-WebSocket-Accept", "x"}}, ErrReservedHeader},
		{"protocol header", "", []HeaderField{{"SEC-WEBSOCKET-PROTOCOL", "x"}}, ErrReservedHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendResponse(dst, []byte(hsKey), c.protocol, c.extra)
			if err != c.err {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if string(got) != "prefix" {
				t.Fatalf("dst changed to %q", got)
			}
		})
	}
}

func TestAppendHandshakeError(t *testing.T) {
	got := string(AppendHandshakeError(nil, ErrBadKey))
	want := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
		strconv.Itoa(len(ErrBadKey.Msg)+1) + "\r\nConnection: close\r\n\r\n" + ErrBadKey.Msg + "\n"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	cases := []struct {
		err     *HandshakeError
		status  string
		has     []string
		hasNone []string
	}{
		{ErrBadVersion, "HTTP/1.1 426 Upgrade Required\r\n", []string{"\r\nSec-WebSocket-Version: 13\r\n"}, nil},
		{ErrMethodNotAllowed, "HTTP/1.1 405 Method Not Allowed\r\n", []string{"\r\nAllow: GET\r\n"}, []string{"Sec-WebSocket-Version"}},
		{ErrHeadTooBig, "HTTP/1.1 431 Request Header Fields Too Large\r\n", nil, []string{"Allow", "Sec-WebSocket-Version"}},
		{ErrNotUpgrade, "HTTP/1.1 400 Bad Request\r\n", nil, nil},
		{ErrResponseHashMismatch, "HTTP/1.1 400 Bad Request\r\n", nil, nil},
		{nil, "HTTP/1.1 400 Bad Request\r\n", []string{"Content-Length: 0\r\n"}, []string{"Content-Type"}},
		{&HandshakeError{503, "busy"}, "HTTP/1.1 503 Service Unavailable\r\n", []string{"Content-Length: 5\r\n", "\r\n\r\nbusy\n"}, nil},
	}
	for _, c := range cases {
		got := string(AppendHandshakeError(nil, c.err))
		if !strings.HasPrefix(got, c.status) || !strings.Contains(got, "\r\nConnection: close\r\n") {
			t.Errorf("%v: %q", c.err, got)
		}
		for _, s := range c.has {
			if !strings.Contains(got, s) {
				t.Errorf("%v: %q lacks %q", c.err, got, s)
			}
		}
		for _, s := range c.hasNone {
			if strings.Contains(got, s) {
				t.Errorf("%v: %q has %q", c.err, got, s)
			}
		}
		hsCheckBodyLength(t, got)
	}
}

// hsCheckBodyLength checks that a response's Content-Length matches its body.
func hsCheckBodyLength(t *testing.T, resp string) {
	t.Helper()
	head, body, ok := strings.Cut(resp, "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of head in %q", resp)
	}
	_, after, ok := strings.Cut(head, "Content-Length: ")
	if !ok {
		if body != "" {
			t.Fatalf("body without Content-Length in %q", resp)
		}
		return
	}
	cl, _, _ := strings.Cut(after, "\r\n")
	if cl != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Length %s for a body of %d bytes", cl, len(body))
	}
}

func TestAppendHTTPResponse(t *testing.T) {
	got, err := AppendHTTPResponse(nil, 403, []HeaderField{{"X-Reason", "origin"}}, []byte("no"))
	if err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 403 Forbidden\r\nX-Reason: origin\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: 2\r\nConnection: close\r\n\r\nno"
	if string(got) != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}

	got, _ = AppendHTTPResponse(nil, 401, []HeaderField{{"content-type", "application/json"}, {"WWW-Authenticate", "Bearer"}}, []byte("{}"))
	if strings.Count(strings.ToLower(string(got)), "content-type") != 1 {
		t.Errorf("Content-Type repeated: %q", got)
	}
	hsCheckBodyLength(t, string(got))

	got, _ = AppendHTTPResponse(nil, 302, []HeaderField{{"Location", "/login"}}, nil)
	if want := "HTTP/1.1 302 Found\r\nLocation: /login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"; string(got) != want {
		t.Errorf("got %q", got)
	}
	got, _ = AppendHTTPResponse(nil, 204, nil, nil)
	if want := "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"; string(got) != want {
		t.Errorf("got %q", got)
	}
	got, _ = AppendHTTPResponse(nil, 426, nil, nil)
	if !strings.Contains(string(got), "\r\nSec-WebSocket-Version: 13\r\n") {
		t.Errorf("426 without the version: %q", got)
	}
	got, _ = AppendHTTPResponse(nil, 426, []HeaderField{{"Sec-WebSocket-Version", "13, 8"}}, nil)
	if strings.Count(string(got), "Sec-WebSocket-Version") != 1 {
		t.Errorf("version repeated: %q", got)
	}
	got, _ = AppendHTTPResponse(nil, 499, nil, nil)
	if !strings.HasPrefix(string(got), "HTTP/1.1 499 Client Error\r\n") {
		t.Errorf("got %q", got)
	}

	bad := []struct {
		status  int
		headers []HeaderField
		body    string
		err     error
	}{
		{101, nil, "", ErrInvalidStatus},
		{199, nil, "", ErrInvalidStatus},
		{600, nil, "", ErrInvalidStatus},
		{-400, nil, "", ErrInvalidStatus},
		{204, nil, "x", ErrBodyNotAllowed},
		{304, nil, "x", ErrBodyNotAllowed},
		{400, []HeaderField{{"Content-Length", "5"}}, "", ErrReservedHeader},
		{400, []HeaderField{{"transfer-encoding", "chunked"}}, "", ErrReservedHeader},
		{400, []HeaderField{{"Connection", "keep-alive"}}, "", ErrReservedHeader},
		{400, []HeaderField{{"X", "1\r\nContent-Length: 0"}}, "", ErrInvalidHeaderValue},
		{400, []HeaderField{{"X\n", "1"}}, "", ErrInvalidHeaderName},
	}
	for _, c := range bad {
		got, err := AppendHTTPResponse([]byte("p"), c.status, c.headers, []byte(c.body))
		if err != c.err || string(got) != "p" {
			t.Errorf("%d %v: err %v, dst %q; want %v", c.status, c.headers, err, got, c.err)
		}
	}
}

func TestStatusText(t *testing.T) {
	for code, want := range map[int]string{101: "Switching Protocols", 400: "Bad Request", 426: "Upgrade Required",
		431: "Request Header Fields Too Large", 599: "Server Error", 299: "Success", 0: "Server Error"} {
		if got := StatusText(code); got != want {
			t.Errorf("StatusText(%d) = %q, want %q", code, got, want)
		}
	}
}

// Server request parser → server response writer → client response parser.
func TestHandshakeRoundTripServerSide(t *testing.T) {
	var req Request
	in := []byte(hsBrowserRequest + "\x81\x80abcd")
	n, err := req.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(in[n:]) != "\x81\x80abcd" {
		t.Fatalf("n = %d leaves %q", n, in[n:])
	}
	protocol := ""
	for p := range req.Protocols {
		if string(p) == "superchat" {
			protocol = "superchat"
		}
	}
	out, err := AppendResponse(nil, req.Key, protocol, []HeaderField{{"X-Id", "7"}})
	if err != nil {
		t.Fatal(err)
	}
	client := ClientRequest{Key: []byte(hsKey), Protocols: []string{"chat", "superchat"}}
	var resp Response
	out = append(out, "\x81\x02hi"...)
	n, err = resp.Parse(out, &client)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[n:]) != "\x81\x02hi" || string(resp.Protocol) != "superchat" || string(resp.Header("x-id")) != "7" {
		t.Fatalf("n=%d protocol=%q", n, resp.Protocol)
	}
}

// Error responses parse on the client side as refusals carrying their status.
func TestHandshakeErrorSeenByClient(t *testing.T) {
	for _, e := range []*HandshakeError{ErrBadKey, ErrBadVersion, ErrMethodNotAllowed, ErrHeadTooBig} {
		out := AppendHandshakeError(nil, e)
		var resp Response
		n, err := resp.Parse(out, &ClientRequest{Key: []byte(hsKey)})
		if !errors.Is(err, ErrResponseStatus) || resp.Status != e.Status || n == 0 {
			t.Errorf("%v: n=%d err=%v status=%d", e, n, err, resp.Status)
		}
		if string(out[n:]) != e.Msg+"\n" {
			t.Errorf("%v: body %q", e, out[n:])
		}
	}
}

func TestResponseWritersZeroAllocs(t *testing.T) {
	key := []byte(hsKey)
	extra := []HeaderField{{"X-Server", "wsloop"}}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = AppendResponse(buf[:0], key, "chat", extra)
		if err != nil {
			t.Fatal(err)
		}
		buf = AppendHandshakeError(buf[:0], ErrBadVersion)
		buf = AppendHandshakeError(buf[:0], ErrMethodNotAllowed)
		buf, _ = AppendHTTPResponse(buf[:0], 403, extra, key)
		_, _ = AppendResponse(buf[:0], key, "bad protocol", nil)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	key := []byte(hsKey)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendResponse(buf[:0], key, "", nil)
	}
}

func BenchmarkAppendHandshakeError(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHandshakeError(buf[:0], ErrBadVersion)
	}
}
