package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The server's opening handshake over the socket: every refusal with its exact response, the
// Handshake hook, subprotocol selection, HTTPHandler, the handshake timeout and the net/http mount.

// reqLines builds a request from a request line and header lines (CRLF, final empty line).
func reqLines(requestLine string, lines ...string) string {
	return requestLine + "\r\n" + strings.Join(append(lines, "", ""), "\r\n")
}

var (
	hHost    = "Host: example.com"
	hUpgrade = "Upgrade: websocket"
	hConn    = "Connection: Upgrade"
	hKey     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
	hVersion = "Sec-WebSocket-Version: 13"
)

// refusalCase is a request and the exact response it must get.
type refusalCase struct {
	name    string
	request string
	want    string
}

func refusal(err *codec.HandshakeError) string {
	switch err.Status {
	case 405:
		return handshakeError(405, "Method Not Allowed", err.Msg, "Allow: GET")
	case 426:
		return handshakeError(426, "Upgrade Required", err.Msg, "Sec-WebSocket-Version: 13")
	case 431:
		return handshakeError(431, "Request Header Fields Too Large", err.Msg)
	}
	return handshakeError(err.Status, http.StatusText(err.Status), err.Msg)
}

// runRefusals sends each request to s on a connection of its own, expects its exact answer, then
// the end of the connection, and no event on the server once every socket is counted out.
func runRefusals(t *testing.T, s *Server, l *evlog, cases []refusalCase) {
	t.Helper()
	addr := s.Addr().String()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			p := wstest.DialRaw(t, addr)
			p.Write([]byte(tc.request))
			if got := readResponse(t, p); got != tc.want {
				t.Fatalf("answered\n%q\nwant\n%q", got, tc.want)
			}
			expectEOFNow(t, p)
		})
	}
	waitSockets(t, s, 0)
	if ev := l.get(); len(ev) != 0 {
		t.Fatalf("refused handshakes made events %q", ev)
	}
}

// Every status the server refuses an upgrade request with, each with its exact response; the
// server closes the connection after it and reports nothing to the user.
func TestHandshakeRefusals(t *testing.T) {
	wstest.CheckLeaks(t)
	srv, addr, l, _ := recServer(t, nil)
	all := []string{hHost, hUpgrade, hConn, hKey, hVersion}
	without := func(drop string, add ...string) []string {
		var out []string
		for _, h := range all {
			if h != drop {
				out = append(out, h)
			}
		}
		return append(out, add...)
	}
	tooMany := all
	for i := range codec.MaxHeaders {
		tooMany = append(tooMany, fmt.Sprintf("X-H%d: v", i))
	}
	cases := []refusalCase{
		{"no-upgrade-header", reqLines("GET / HTTP/1.1", without(hUpgrade)...), refusal(codec.ErrNotUpgrade)},
		{"upgrade-h2c", reqLines("GET / HTTP/1.1", without(hUpgrade, "Upgrade: h2c")...), refusal(codec.ErrNotUpgrade)},
		{"no-connection-upgrade", reqLines("GET / HTTP/1.1", without(hConn, "Connection: keep-alive")...), refusal(codec.ErrNotUpgrade)},
		{"plain-get", reqLines("GET / HTTP/1.1", hHost), refusal(codec.ErrNotUpgrade)},
		{"missing-headers-of-the-original-suite", reqLines("GET / HTTP/1.1", hHost, "Sec-websocket-key: key", "Junk: 1"), refusal(codec.ErrNotUpgrade)},
		{"request-line-without-version", reqLines("GET /", all...), refusal(codec.ErrBadRequestLine)},
		{"request-line-two-spaces", reqLines("GET  / HTTP/1.1", all...), refusal(codec.ErrBadRequestLine)},
		{"request-line-lower-case-http", reqLines("GET / http/1.1", all...), refusal(codec.ErrBadRequestLine)},
		{"post", reqLines("POST / HTTP/1.1", all...), refusal(codec.ErrMethodNotAllowed)},
		{"lower-case-get", reqLines("get / HTTP/1.1", all...), refusal(codec.ErrMethodNotAllowed)},
		{"http-1.0", reqLines("GET / HTTP/1.0", all...), refusal(codec.ErrHTTPVersion)},
		{"http-0.9", reqLines("GET / HTTP/0.9", all...), refusal(codec.ErrHTTPVersion)},
		{"absolute-uri-target", reqLines("GET http://example.com/ HTTP/1.1", all...), refusal(codec.ErrBadTarget)},
		{"asterisk-target", reqLines("GET * HTTP/1.1", all...), refusal(codec.ErrBadTarget)},
		{"header-without-colon", reqLines("GET / HTTP/1.1", append(all, "Junk")...), refusal(codec.ErrBadHeaderLine)},
		{"space-before-colon", reqLines("GET / HTTP/1.1", append(all, "X-Junk : v")...), refusal(codec.ErrBadHeaderLine)},
		{"obs-fold", reqLines("GET / HTTP/1.1", append(all, "X-A: v", " folded")...), refusal(codec.ErrBadHeaderLine)},
		{"control-char-in-value", reqLines("GET / HTTP/1.1", append(all, "X-A: a\x01b")...), refusal(codec.ErrBadHeaderLine)},
		{"missing-host", reqLines("GET / HTTP/1.1", without(hHost)...), refusal(codec.ErrBadHost)},
		{"repeated-host", reqLines("GET / HTTP/1.1", append(all, "Host: other.example")...), refusal(codec.ErrBadHost)},
		{"empty-host", reqLines("GET / HTTP/1.1", without(hHost, "Host: ")...), refusal(codec.ErrBadHost)},
		{"host-with-space", reqLines("GET / HTTP/1.1", without(hHost, "Host: a b")...), refusal(codec.ErrBadHost)},
		{"content-length-body", reqLines("GET / HTTP/1.1", append(all, "Content-Length: 5")...), refusal(codec.ErrRequestBody)},
		{"chunked-body", reqLines("GET / HTTP/1.1", append(all, "Transfer-Encoding: chunked")...), refusal(codec.ErrRequestBody)},
		{"missing-key", reqLines("GET / HTTP/1.1", without(hKey)...), refusal(codec.ErrBadKey)},
		{"repeated-key", reqLines("GET / HTTP/1.1", append(all, hKey)...), refusal(codec.ErrBadKey)},
		{"key-not-base64", reqLines("GET / HTTP/1.1", without(hKey, "Sec-WebSocket-Key: not-base64!")...), refusal(codec.ErrBadKey)},
		{"key-of-15-bytes", reqLines("GET / HTTP/1.1", without(hKey, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA")...), refusal(codec.ErrBadKey)},
		{"key-bad-padding-bits", reqLines("GET / HTTP/1.1", without(hKey, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==")...), refusal(codec.ErrBadKey)},
		{"missing-version", reqLines("GET / HTTP/1.1", without(hVersion)...), refusal(codec.ErrBadVersion)},
		{"version-8", reqLines("GET / HTTP/1.1", without(hVersion, "Sec-WebSocket-Version: 8")...), refusal(codec.ErrBadVersion)},
		{"version-list", reqLines("GET / HTTP/1.1", without(hVersion, "Sec-WebSocket-Version: 13, 8")...), refusal(codec.ErrBadVersion)},
		{"repeated-version", reqLines("GET / HTTP/1.1", append(all, hVersion)...), refusal(codec.ErrBadVersion)},
		{"too-many-headers", reqLines("GET / HTTP/1.1", tooMany...), refusal(codec.ErrTooManyHeaders)},
		{"head-too-big", reqLines("GET / HTTP/1.1", append(all, "X-Big: "+strings.Repeat("b", 8<<10))...), refusal(codec.ErrHeadTooBig)},
		{"head-too-big-unfinished", "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("b", 9<<10), refusal(codec.ErrHeadTooBig)},
	}
	runRefusals(t, srv, l, cases)
	// The limits' edges: Content-Length 0 and MaxHeaders lines exactly are fine.
	for _, lines := range [][]string{append(all, "Content-Length: 0"), tooMany[:codec.MaxHeaders]} {
		p := wstest.DialRaw(t, addr)
		p.Write([]byte(reqLines("GET / HTTP/1.1", lines...)))
		if got := readResponse(t, p); got != resp101() {
			t.Fatalf("answered %q", got)
		}
		cleanClose(t, p)
	}
}

// The Handshake hook refuses with an *HTTPError (its status, headers and body exactly), with any
// other error (403), or accepts with extra response headers. It sees the path, headers,
// subprotocols, chosen protocol and remote address; a refused connection makes no event.
func TestHandshakeHook(t *testing.T) {
	wstest.CheckLeaks(t)
	type seen struct {
		path, origin, protocol, remote string
		protocols                      []string
	}
	seenCh := make(chan seen, 16)
	opts := &ServerOptions{
		ValidProtocols: []string{"chat"},
		OriginPatterns: []string{"a.example", "b.example"}, // the origins the requests come from
		Handshake: func(c *Conn) (http.Header, error) {
			seenCh <- seen{c.Path(), c.Headers().Get("Origin"), c.Protocol(), c.RemoteAddr().String(), c.Protocols()}
			switch c.Path() {
			case "/auth":
				return nil, &HTTPError{Status: 401, Header: http.Header{"Www-Authenticate": {`Basic realm="ws"`}}, Body: "who are you?\n"}
			case "/teapot":
				return nil, &HTTPError{Status: http.StatusTeapot}
			case "/wrapped":
				return nil, fmt.Errorf("wrapped: %w", &HTTPError{Status: 429, Body: "slow down"})
			case "/forbidden":
				return nil, errors.New("origin not allowed")
			case "/426":
				return nil, &HTTPError{Status: 426}
			case "/bad-header":
				return http.Header{"Connection": {"keep-alive"}}, nil
			case "/bad-value":
				return http.Header{"X-Evil": {"a\r\nSet-Cookie: x=1"}}, nil
			case "/bad-status":
				return nil, &HTTPError{Status: 101}
			}
			return http.Header{"X-Session": {"abc"}}, nil
		},
	}
	srv, addr, l, conns := recServer(t, opts)
	cases := []refusalCase{
		{"http-error", wstest.Request("/auth", "Origin: http://a.example"),
			"HTTP/1.1 401 Unauthorized\r\nWww-Authenticate: Basic realm=\"ws\"\r\nContent-Type: text/plain; charset=utf-8\r\n" +
				"Content-Length: 13\r\nConnection: close\r\n\r\nwho are you?\n"},
		{"http-error-no-body", wstest.Request("/teapot"),
			"HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"wrapped-http-error", wstest.Request("/wrapped"),
			"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nConnection: close\r\n\r\nslow down"},
		{"other-error", wstest.Request("/forbidden"),
			"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nForbidden\n"},
		{"426-gets-the-version", wstest.Request("/426"),
			"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"reserved-header-is-500", wstest.Request("/bad-header"),
			handshakeError(500, "Internal Server Error", codec.ErrReservedHeader.Error())},
		{"header-injection-is-500", wstest.Request("/bad-value"),
			handshakeError(500, "Internal Server Error", codec.ErrInvalidHeaderValue.Error())},
		{"bad-status-is-500", wstest.Request("/bad-status"),
			handshakeError(500, "Internal Server Error", codec.ErrInvalidStatus.Error())},
	}
	runRefusals(t, srv, l, cases)
	for range cases {
		recv(t, seenCh)
	}

	p := wstest.Dial(t, addr, "/ok?x=1", "Origin: http://b.example", "Sec-WebSocket-Protocol: x, chat")
	if want := resp101("Sec-WebSocket-Protocol: chat", "X-Session: abc"); string(p.Response) != want {
		t.Fatalf("101 = %q, want %q", p.Response, want)
	}
	s := recv(t, seenCh)
	if s.path != "/ok?x=1" || s.origin != "http://b.example" || s.protocol != "chat" ||
		strings.Join(s.protocols, ",") != "x,chat" || s.remote != p.Conn.LocalAddr().String() {
		t.Fatalf("the hook saw %+v", s)
	}
	recv(t, conns)
	cleanClose(t, p)
	l.expect(t, "connection /ok?x=1", closeEv(1000, ""))
}

// Spec section 6 through the socket: the selector sees the request (path, headers), runs only when
// protocols are offered, and its answer is sent only when the client offered it.
func TestHandshakeSelectProtocol(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, &ServerOptions{
		ValidProtocols: []string{"ignored"},
		SelectProtocol: func(c *Conn, protocols []string) string {
			if c.Path() == "/header" {
				return c.Headers().Get("X-Want")
			}
			for _, p := range protocols {
				if strings.Contains(p, "please") {
					return p
				}
			}
			return ""
		},
	})
	cases := []struct {
		name, path string
		header     []string
		want       string
	}{
		{"please", "/", []string{"Sec-WebSocket-Protocol: do-it-now, do-it-please"}, "do-it-please"},
		{"none-matches", "/", []string{"Sec-WebSocket-Protocol: do-it-now"}, ""},
		{"valid-protocols-ignored", "/", []string{"Sec-WebSocket-Protocol: ignored"}, ""},
		{"from-header", "/header", []string{"Sec-WebSocket-Protocol: a, b", "X-Want: b"}, "b"},
		{"from-header-not-offered", "/header", []string{"Sec-WebSocket-Protocol: a, b", "X-Want: c"}, ""},
		{"no-offer", "/", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			p := wstest.Dial(t, addr, tc.path, tc.header...)
			want := resp101()
			if tc.want != "" {
				want = resp101("Sec-WebSocket-Protocol: " + tc.want)
			}
			if string(p.Response) != want {
				t.Fatalf("101 = %q, want %q", p.Response, want)
			}
			if c := recv(t, conns); c.Protocol() != tc.want {
				t.Fatalf("Protocol() = %q", c.Protocol())
			}
			cleanClose(t, p)
		})
	}
}

// HTTPHandler serves plain HTTP requests on the WebSocket port; upgrades still upgrade.
func TestHandshakeHTTPHandler(t *testing.T) {
	wstest.CheckLeaks(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.RawQuery)
		io.WriteString(w, "hello "+r.Header.Get("X-Name"))
	})
	mux.HandleFunc("/request", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d.%d %s %d %q %v", r.Method, r.RequestURI, r.ProtoMajor, r.ProtoMinor, r.Proto, r.ContentLength, body, err)
	})
	_, addr, l, _ := recServer(t, &ServerOptions{HTTPHandler: mux})
	p := wstest.DialRaw(t, addr)
	p.Write([]byte(reqLines("GET /hello?q=1 HTTP/1.1", hHost, "X-Name: bob")))
	want := "HTTP/1.1 200 OK\r\nX-Path: q=1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nConnection: close\r\n\r\nhello bob"
	if got := readResponse(t, p); got != want {
		t.Fatalf("answered\n%q\nwant\n%q", got, want)
	}
	expectEOFNow(t, p)

	p = wstest.DialRaw(t, addr)
	p.Write([]byte(reqLines("GET /missing HTTP/1.1", hHost)))
	if got := readResponse(t, p); !strings.HasPrefix(got, "HTTP/1.1 404 Not Found\r\n") || !strings.HasSuffix(got, "404 page not found\n") {
		t.Fatalf("answered %q", got)
	}
	expectEOFNow(t, p)

	// The handler sees the request as net/http would: version, length and body.
	for _, tc := range []struct{ request, want string }{
		{reqLines("GET /request?a=1 HTTP/1.0", hHost), `GET /request?a=1 1.0 HTTP/1.0 0 "" <nil>`},
		{reqLines("GET /request HTTP/1.1", hHost), `GET /request 1.1 HTTP/1.1 0 "" <nil>`},
		{reqLines("POST /request HTTP/1.1", hHost, "Content-Length: 3") + "abc", `POST /request 1.1 HTTP/1.1 3 "abc" <nil>`},
	} {
		p = wstest.DialRaw(t, addr)
		p.Write([]byte(tc.request))
		got := readResponse(t, p)
		if _, body, _ := strings.Cut(got, "\r\n\r\n"); body != tc.want {
			t.Errorf("the handler saw %q, want %q", body, tc.want)
		}
		expectEOFNow(t, p)
	}

	// A response to HEAD carries no content (RFC 9112 section 6.3).
	p = wstest.DialRaw(t, addr)
	p.Write([]byte(reqLines("HEAD /hello HTTP/1.1", hHost)))
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	all, _ := io.ReadAll(p.Conn)
	if head, body, ok := strings.Cut(string(all), "\r\n\r\n"); !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || body != "" {
		t.Fatalf("HEAD answered %q", all)
	}

	resp, body := wstest.Get(t, nil, "http://"+addr+"/hello")
	if resp.StatusCode != 200 || string(body) != "hello " {
		t.Fatalf("net/http client got %d %q", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()

	ws := wstest.Dial(t, addr, "/hello")
	cleanClose(t, ws)
	l.expect(t, "connection /hello", closeEv(1000, ""))
}

// A client that never finishes its head (slowloris) is cut off after HandshakeTimeout, even while
// it keeps trickling bytes; so is one that sends nothing. Neither ever reaches the user. An open
// connection is not affected by the timeout.
func TestHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	const timeout = 300 * time.Millisecond
	_, addr, l, _ := recServer(t, &ServerOptions{HandshakeTimeout: timeout})
	open := wstest.Dial(t, addr, "/open")

	start := time.Now()
	silent := wstest.DialRaw(t, addr)
	slow := wstest.DialRaw(t, addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		head := []byte("GET / HTTP/1.1\r\nHost: example.com\r\nX-Slow: " + strings.Repeat("a", 100))
		for _, b := range head {
			if _, err := slow.Conn.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	expectEOFNow(t, slow)
	if d := time.Since(start); d < timeout || d > timeout+3*time.Second {
		t.Fatalf("slow client cut off after %v, want about %v", d, timeout)
	}
	expectEOFNow(t, silent)
	<-done

	open.Write(fr(true, opPing, "still there"))
	nextFrame(t, open, true, opPong, []byte("still there"))
	cleanClose(t, open)
	l.expect(t, "connection /open", closeEv(1000, ""))
}

// The server mounted on a net/http server (ServeHTTP): same handshake, same answers, same events;
// frames behind the request in the same write are delivered; the hook runs; Server.Close fires
// once the mounted connections ended.
func TestHandshakeMountedOnHTTPTest(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newEvlog()
	s := CreateServer(&ServerOptions{
		ValidProtocols: []string{"chat"},
		OriginPatterns: []string{"*.example"}, // let the hook judge the origin
		Handshake: func(c *Conn) (http.Header, error) {
			if c.Headers().Get("Origin") == "http://evil.example" {
				return nil, &HTTPError{Status: 403, Body: "bad origin"}
			}
			return nil, nil
		},
	}, func(c *Conn) {
		l.add("connection %s %s %s", c.Path(), c.Headers().Get("X-Name"), c.Protocol())
		recordConn(c, l)
		c.OnMessage(func(c *Conn, typ MessageType, p []byte) {
			l.add("message %d %q", typ, p)
			c.SendMessage(typ, p, nil)
		})
	})
	s.OnClose(func(*Server) { l.add("server close") })
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	mux.HandleFunc("/plain", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "plain") })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")

	p := wstest.DialRaw(t, addr)
	p.Write(append([]byte(wstest.Request("/ws?room=1", "X-Name: ann", "Sec-WebSocket-Protocol: chat")), fr(true, opText, "early")...))
	if head := string(p.ReadHead()); head != resp101("Sec-WebSocket-Protocol: chat") {
		t.Fatalf("101 = %q", head)
	}
	nextFrame(t, p, true, opText, []byte("early"))
	if n := len(listConns(s)); n != 1 {
		t.Fatalf("%d connections listed", n)
	}

	for _, tc := range []refusalCase{
		{"version-8", strings.Replace(wstest.Request("/ws"), "Version: 13", "Version: 8", 1), refusal(codec.ErrBadVersion)},
		{"bad-key", strings.Replace(wstest.Request("/ws"), "dGhlIHNhbXBsZSBub25jZQ==", "key", 1), refusal(codec.ErrBadKey)},
		{"hook", wstest.Request("/ws", "Origin: http://evil.example"),
			"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nbad origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := wstest.DialRaw(t, addr)
			r.Write([]byte(tc.request))
			if got := readResponse(t, r); got != tc.want {
				t.Fatalf("answered\n%q\nwant\n%q", got, tc.want)
			}
			expectEOFNow(t, r)
		})
	}

	_, body := wstest.Get(t, nil, hs.URL+"/plain")
	if string(body) != "plain" {
		t.Fatalf("plain handler answered %q", body)
	}
	http.DefaultClient.CloseIdleConnections()

	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(settle)
	p.Write(fr(true, opText, "after server close"))
	nextFrame(t, p, true, opText, []byte("after server close"))
	cleanClose(t, p)
	l.expect(t, "connection /ws?room=1 ann chat", `message 1 "early"`, `message 1 "after server close"`, closeEv(1000, ""), "server close")
}

func listConns(s *Server) []*Conn {
	var out []*Conn
	for c := range s.Connections() {
		out = append(out, c)
	}
	return out
}

// headOf returns an upgrade request for "/" of exactly n bytes, head and final empty line, padded
// with a header named name.
func headOf(t *testing.T, n int, name string) string {
	t.Helper()
	pad := n - len(wstest.Request("/", name+": "))
	if pad < 0 {
		t.Fatalf("a head of %d bytes is too short for the request", n)
	}
	return wstest.Request("/", name+": "+strings.Repeat("c", pad))
}

// MaxHeaderBytes bounds the request head, 8 KiB by default: a head of exactly the limit is
// answered 101, one byte more 431, on the server's own port and mounted on net/http; a 12 KiB
// cookie needs a higher limit.
func TestHandshakeMaxHeaderBytes(t *testing.T) {
	tooBig := refusal(codec.ErrHeadTooBig)
	for _, tc := range []struct {
		name  string
		limit int // MaxHeaderBytes
		size  int // of the head sent, the Cookie header padding it
		want  string
	}{
		{"default-12KiB-cookie", 0, 12 << 10, tooBig},
		{"default-exactly", 0, 8 << 10, resp101()},
		{"default-one-more", 0, 8<<10 + 1, tooBig},
		{"16KiB-12KiB-cookie", 16 << 10, 12 << 10, resp101()},
		{"16KiB-exactly", 16 << 10, 16 << 10, resp101()},
		{"16KiB-one-more", 16 << 10, 16<<10 + 1, tooBig},
		{"small-exactly", 300, 300, resp101()},
		{"small-one-more", 300, 301, tooBig},
	} {
		request := headOf(t, tc.size, "Cookie")
		if len(request) != tc.size {
			t.Fatalf("the request has %d bytes, want %d", len(request), tc.size)
		}
		check := func(t *testing.T, addr string) {
			p := wstest.DialRaw(t, addr)
			p.Write([]byte(request))
			if got := readResponse(t, p); got != tc.want {
				t.Fatalf("a head of %d bytes (limit %d) answered\n%.200q\nwant\n%.200q", tc.size, tc.limit, got, tc.want)
			}
			if tc.want == tooBig {
				expectEOFNow(t, p)
				return
			}
			cleanClose(t, p)
		}
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			srv, addr, l, _ := recServer(t, &ServerOptions{MaxHeaderBytes: tc.limit})
			check(t, addr)
			waitSockets(t, srv, 0)
			if tc.want == tooBig {
				l.expect(t)
			}
		})
		t.Run(tc.name+"-mounted", func(t *testing.T) {
			wstest.CheckLeaks(t)
			s := CreateServer(&ServerOptions{MaxHeaderBytes: tc.limit}, nil)
			hs := httptest.NewServer(s)
			defer hs.Close()
			defer s.Close(nil)
			check(t, strings.TrimPrefix(hs.URL, "http://"))
		})
	}
}

// ClientOptions.MaxHeaderBytes bounds the server's 101 head, 8 KiB by default: a head of exactly
// the limit opens the connection, one byte more fails the handshake with ErrResponseTooBig.
func TestHandshakeClientMaxHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int // ClientOptions.MaxHeaderBytes
		size  int // of the 101's head, an X-Pad header padding it
		opens bool
	}{
		{"default-exactly", 0, 8 << 10, true},
		{"default-one-more", 0, 8<<10 + 1, false},
		{"default-12KiB", 0, 12 << 10, false},
		{"16KiB-12KiB", 16 << 10, 12 << 10, true},
		{"16KiB-one-more", 16 << 10, 16<<10 + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr := rawServer(t, func(nc net.Conn, req string) {
				key := req[strings.Index(req, "Sec-WebSocket-Key: ")+len("Sec-WebSocket-Key: "):]
				key = key[:strings.Index(key, "\r\n")]
				head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
					string(codec.AppendAccept(nil, []byte(key))) + "\r\nX-Pad: "
				head += strings.Repeat("p", tc.size-len(head)-len("\r\n\r\n")) + "\r\n\r\n"
				if len(head) != tc.size {
					t.Errorf("the 101 has %d bytes, want %d", len(head), tc.size)
				}
				nc.Write(append([]byte(head), wstest.ServerFrame(true, codec.OpText, []byte("hi"))...))
				if !tc.opens {
					io.Copy(io.Discard, nc) // until the client gives up
					return
				}
				if op, _ := readClientFrame(t, nc); op != codec.OpClose {
					t.Errorf("the client sent opcode %d, want its close", op)
				}
				nc.Write(wstest.ServerFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, "")))
			})
			r := newRecorder()
			if _, err := Connect("ws://"+addr+"/", r.opts(&ClientOptions{MaxHeaderBytes: tc.limit}), func(c *Conn) {
				r.add("open")
				c.OnText(func(c *Conn, s string) {
					r.add("text " + s)
					c.Close(1000, "")
				})
			}); err != nil {
				t.Fatal(err)
			}
			got := r.wait(t)
			want := []string{"open", "text hi", "close 1000 "}
			if !tc.opens {
				want = []string{"error", "close 1006 "}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("events %q, want %q", got, want)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if !tc.opens && (len(r.errs) != 1 || !errors.Is(r.errs[0], codec.ErrResponseTooBig)) {
				t.Fatalf("errors %v, want ErrResponseTooBig", r.errs)
			}
		})
	}
}

// After a burst of handshakes at once, the registry of handshakes in progress gives back what the
// burst made it grow to, once the last one is over (a Go map never shrinks by itself); a quiet
// server keeps its small one.
func TestHandshakeRegistryShrinksAfterBurst(t *testing.T) {
	wstest.CheckLeaks(t)
	const burst = handshakesKept + 44
	var mu sync.Mutex
	var replies []func(http.Header, error)
	s, addr := startServer(t, &ServerOptions{HandshakeLater: func(_ *Conn, reply func(http.Header, error)) {
		mu.Lock()
		replies = append(replies, reply)
		mu.Unlock()
	}}, nil)
	registered := func() (int, bool) {
		s.regMu.RLock()
		defer s.regMu.RUnlock()
		return len(s.handshakes), s.handshakes != nil
	}
	peers := make([]*wstest.Peer, burst)
	for i := range peers {
		peers[i] = wstest.DialRaw(t, addr)
		peers[i].Write([]byte(wstest.Request("/")))
	}
	waitUntil(t, "every handshake of the burst in progress at once, waiting for its reply", func() bool {
		mu.Lock()
		asked := len(replies)
		mu.Unlock()
		n, _ := registered()
		return n == burst && asked == burst
	})
	mu.Lock()
	for _, reply := range replies {
		reply(nil, nil)
	}
	mu.Unlock()
	for _, p := range peers {
		if head := p.ReadHead(); !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
			t.Fatalf("upgrade answered %q", head)
		}
	}
	if n, kept := registered(); n != 0 || kept {
		t.Fatalf("after the burst: %d handshakes registered, map kept %v; want none and the map given back", n, kept)
	}
	mu.Lock()
	replies = nil
	mu.Unlock()
	one := wstest.DialRaw(t, addr)
	one.Write([]byte(wstest.Request("/")))
	waitUntil(t, "a handshake after the burst in progress", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(replies) == 1
	})
	mu.Lock()
	replies[0](nil, nil)
	mu.Unlock()
	one.ReadHead()
	if n, kept := registered(); n != 0 || !kept {
		t.Fatalf("after one handshake: %d registered, map kept %v; want none, and the small map kept", n, kept)
	}
}
