package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wsloop/wsloop/internal/wstest"
)

// The Origin check of the server's handshake (origin.go): a browser's cross-origin upgrade is
// refused with 403 by default, OriginPatterns and CheckOrigin open it up, a request with no Origin
// is let in, and the check runs before the Handshake hook.

// originRefusal is the exact answer to a refused Origin.
const originRefusal = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 38\r\n" +
	"Connection: close\r\n\r\nwebsocket: request Origin not allowed\n"

// originCase is an upgrade request to Host example.com with an Origin header (none when origin is
// "") and whether it must be let in.
type originCase struct {
	origin  string
	allowed bool
}

// runOrigins starts a server with opts and a Handshake hook that records the Origin of each request
// it sees, sends each case's request on a connection of its own and expects the exact 101 or 403;
// then the hook must have seen exactly the allowed requests, in order.
func runOrigins(t *testing.T, opts *ServerOptions, cases []originCase) {
	t.Helper()
	var mu sync.Mutex
	var hooked []string
	opts.Handshake = func(c *Conn) (http.Header, error) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, c.Headers().Get("Origin"))
		return nil, nil
	}
	srv, addr, _, conns := recServer(t, opts)
	var want []string
	for _, tc := range cases {
		t.Run(tc.origin, func(t *testing.T) {
			wstest.CheckLeaks(t)
			var header []string
			if tc.origin != "" {
				header = append(header, "Origin: "+tc.origin)
			}
			p := wstest.DialRaw(t, addr)
			p.Write([]byte(wstest.Request("/", header...)))
			got := readResponse(t, p)
			if !tc.allowed {
				if got != originRefusal {
					t.Fatalf("Origin %q answered\n%q\nwant\n%q", tc.origin, got, originRefusal)
				}
				expectEOFNow(t, p)
				return
			}
			if got != resp101() {
				t.Fatalf("Origin %q answered %q, want the 101", tc.origin, got)
			}
			if o := recv(t, conns).Headers().Get("Origin"); o != tc.origin {
				t.Fatalf("the connection has Origin %q, want %q", o, tc.origin)
			}
			cleanClose(t, p)
		})
		if tc.allowed {
			want = append(want, tc.origin)
		}
	}
	waitSockets(t, srv, 0)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(hooked, want) {
		t.Fatalf("the Handshake hook saw Origins %q, want %q", hooked, want)
	}
}

// By default only the request's own host, in any case, is an allowed Origin; no Origin is fine.
func TestOriginDefault(t *testing.T) {
	wstest.CheckLeaks(t)
	runOrigins(t, &ServerOptions{}, []originCase{
		{"", true},
		{"http://example.com", true},
		{"HTTPS://Example.COM", true},
		{"https://example.com/ignored/path", true},
		{"http://evil.example", false},
		{"http://example.com:8080", false}, // another port is another origin
		{"http://example.com.evil.example", false},
		{"http://evil.example/example.com", false},
		{"http://example.com@evil.example", false}, // userinfo, the host is evil.example
		{"null", false},
		{"example.com", false}, // not a URL with a host
		{"http://[::1", false}, // not a URL at all
	})
}

// OriginPatterns match the Origin's host with path.Match, in any case; "*" lets every host in but
// not an Origin without one.
func TestOriginPatterns(t *testing.T) {
	wstest.CheckLeaks(t)
	t.Run("globs", func(t *testing.T) {
		runOrigins(t, &ServerOptions{OriginPatterns: []string{"*.Example.org", "localhost:*"}}, []originCase{
			{"https://chat.example.org", true},
			{"https://CHAT.EXAMPLE.ORG", true},
			{"http://localhost:3000", true},
			{"http://example.com", true}, // the same host still is
			{"https://example.org", false},
			{"https://a.b.example.org", true}, // path.Match's * crosses dots (it stops only at '/')
			{"http://localhost", false},
			{"null", false},
		})
	})
	t.Run("star", func(t *testing.T) {
		runOrigins(t, &ServerOptions{OriginPatterns: []string{"*"}}, []originCase{
			{"http://anything.example:81", true},
			{"null", false},
			{"", true},
		})
	})
}

// CheckOrigin is asked only about the Origins the same-host rule and OriginPatterns refuse, with
// the header's value as sent and the request's path and headers; its true lets the request in
// ("null" included), its false answers 403.
func TestCheckOrigin(t *testing.T) {
	wstest.CheckLeaks(t)
	var mu sync.Mutex
	var asked []string
	opts := &ServerOptions{
		OriginPatterns: []string{"trusted.example"},
		CheckOrigin: func(c *Conn, origin string) bool {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, origin+" "+c.Path()+" "+c.Headers().Get("Host"))
			return origin == "null" || origin == "http://Friend.example"
		},
	}
	runOrigins(t, opts, []originCase{
		{"http://example.com", true},
		{"http://trusted.example", true},
		{"null", true},
		{"http://Friend.example", true},
		{"http://evil.example", false},
		{"", true},
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"null / example.com", "http://Friend.example / example.com", "http://evil.example / example.com"}
	if !slices.Equal(asked, want) {
		t.Fatalf("CheckOrigin was asked %q, want %q", asked, want)
	}
}

// A malformed pattern is a program's mistake, caught when the server is made.
func TestOriginPatternMalformed(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "malformed pattern [a-") {
			t.Fatalf("CreateServer panicked with %q, want one naming the malformed pattern", r)
		}
	}()
	CreateServer(&ServerOptions{OriginPatterns: []string{"ok.example", "[a-"}}, nil)
	t.Fatal("CreateServer took a malformed pattern")
}

// Mounted on net/http, the same check answers the same 403 on the same connection.
func TestOriginMounted(t *testing.T) {
	wstest.CheckLeaks(t)
	s := CreateServer(nil, nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close(nil)
	addr := strings.TrimPrefix(hs.URL, "http://")
	p := wstest.DialRaw(t, addr)
	p.Write([]byte(wstest.Request("/", "Origin: http://evil.example")))
	if got := readResponse(t, p); got != originRefusal {
		t.Fatalf("answered\n%q\nwant\n%q", got, originRefusal)
	}
	expectEOFNow(t, p)
	ok := wstest.Dial(t, addr, "/", "Origin: http://example.com")
	if string(ok.Response) != resp101() {
		t.Fatalf("same-origin request answered %q", ok.Response)
	}
	cleanClose(t, ok)
}
