package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// headerDump renders h as "Name=v1,v2" entries in name order, "-" for none, so a test compares
// every header and value, not just one.
func headerDump(h http.Header) string {
	if len(h) == 0 {
		return "-"
	}
	var out []string
	for _, k := range sortedKeys(h) {
		out = append(out, k+"="+strings.Join(h[k], ","))
	}
	return strings.Join(out, " ")
}

// KeepHeaders leaves every request header to the Handshake hook and the connection handler, and
// keeps for Headers afterwards (seen from the loop in the next event, and from another goroutine)
// all of them by default, none with KeepNoHeaders, and the named ones, in any case, with
// KeepHeaderNames.
func TestKeepHeaders(t *testing.T) {
	const full = "Connection=Upgrade Host=example.com Origin=https://a.example " +
		"Sec-Websocket-Key=dGhlIHNhbXBsZSBub25jZQ== Sec-Websocket-Version=13 Upgrade=websocket " +
		"X-Name=alice X-Other=b"
	cases := map[string]struct {
		keep func(string) bool
		want string
	}{
		"default": {nil, full},
		"none":    {KeepNoHeaders, "-"},
		"named":   {KeepHeaderNames("origin", "X-NAME", "X-Absent"), "Origin=https://a.example X-Name=alice"},
	}
	for _, name := range sortedKeys(cases) {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			seen := make(chan string, 4)
			conns := make(chan *Conn, 1)
			opts := &ServerOptions{
				OriginPatterns: []string{"a.example"}, // the request comes from a page there
				KeepHeaders:    tc.keep,
				Handshake: func(c *Conn) (http.Header, error) {
					seen <- "hook " + headerDump(c.Headers())
					return nil, nil
				},
			}
			_, addr := startServer(t, opts, func(c *Conn) {
				seen <- "handler " + headerDump(c.Headers())
				c.OnText(func(c *Conn, text string) {
					seen <- "after " + headerDump(c.Headers())
					c.SendText(text, nil)
				})
				conns <- c
			})
			p := wstest.Dial(t, addr, "/", "Origin: https://a.example", "x-name: alice", "X-Other: b")
			p.WriteFrame(true, codec.OpText, []byte("hi"))
			p.ExpectFrame(codec.OpText, []byte("hi"))
			got := []string{recv(t, seen), recv(t, seen), recv(t, seen)}
			want := []string{"hook " + full, "handler " + full, "after " + tc.want}
			if !slices.Equal(got, want) {
				t.Fatalf("headers seen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if got := headerDump(recv(t, conns).Headers()); got != tc.want {
				t.Fatalf("Headers() from another goroutine after the handler = %s, want %s", got, tc.want)
			}
		})
	}
}

// KeepHeaderNames matches the canonical names KeepHeaders is called with, whatever case it was
// given.
func TestKeepHeaderNames(t *testing.T) {
	keep := KeepHeaderNames("sec-websocket-protocol", "X-Forwarded-For")
	var got []string
	for _, n := range []string{"Sec-Websocket-Protocol", "X-Forwarded-For", "Origin", "X-Forwarded"} {
		got = append(got, fmt.Sprintf("%s=%t", n, keep(n)))
	}
	want := []string{"Sec-Websocket-Protocol=true", "X-Forwarded-For=true", "Origin=false", "X-Forwarded=false"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
