//go:build !wsloop_nolinkname

// The early answer needs the accept4 path, which a build with wsloop_nolinkname leaves out.

package api

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// upgradeWhileLoopsHeld holds every loop of a server made with opts in a handler that sleeps for
// sleepFor, then upgrades a new connection, and returns how long its 101 took. The connection
// then echoes, once the loops are free.
func upgradeWhileLoopsHeld(t *testing.T, opts *ServerOptions) time.Duration {
	holding := make(chan struct{}, 8)
	s, addr := startServer(t, opts, nil)
	s.OnText(func(c *Conn, text string) {
		if text == "hold" {
			holding <- struct{}{}
			time.Sleep(sleepFor)
		}
		c.SendText(text, nil)
	})
	loops := runtime.GOMAXPROCS(0)
	// One connection per loop (each goes to the least loaded): loops signals within sleepFor can
	// only come from as many loops, since two handlers of one loop sleep one after the other.
	ps := peers(t, addr, loops)
	for _, p := range ps {
		p.WriteFrame(true, codec.OpText, []byte("hold"))
	}
	for range loops {
		recv(t, holding)
	}
	p := wstest.DialRaw(t, addr)
	start := time.Now()
	p.Write([]byte(wstest.Request("/")))
	head := string(p.ReadHead())
	took := time.Since(start)
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("answer %q", head)
	}
	p.WriteFrame(true, codec.OpText, []byte("after"))
	p.ExpectFrame(codec.OpText, []byte("after"))
	t.Logf("101 after %v with every loop held", took)
	return took
}

// With DeferAccept and no handshake hook, the upgrade is answered where it was accepted: its 101
// does not wait for a loop held by a handler. Without DeferAccept, or with a hook, the request is
// answered on a loop, after the handler: that part shows the first can fail.
func TestDeferAcceptAnswersWhileLoopsHeld(t *testing.T) {
	t.Run("deferred", func(t *testing.T) {
		wstest.CheckLeaks(t)
		if took := upgradeWhileLoopsHeld(t, &ServerOptions{DeferAccept: true}); took > fastEcho {
			t.Fatalf("with DeferAccept the 101 took %v while the loops were held", took)
		}
	})
	hook := func(*Conn) (http.Header, error) { return nil, nil }
	for name, opts := range map[string]*ServerOptions{
		"default": nil,
		"hook":    {DeferAccept: true, Handshake: hook},
	} {
		t.Run(name, func(t *testing.T) {
			if took := upgradeWhileLoopsHeld(t, opts); took < sleepFor/2 {
				t.Fatalf("the 101 took only %v while the loops were held: the test above proves nothing", took)
			}
		})
	}
}

// A server answering on accept gives each request the 101 it gives on its loop, byte for byte,
// whatever it negotiates (a subprotocol, permessage-deflate) and with an executor running its
// handlers; the connection then echoes. A request and a frame written together are both served.
func TestDeferAcceptAnswersAsTheLoopDoes(t *testing.T) {
	for name, tc := range map[string]struct {
		opts   ServerOptions
		header []string
	}{
		"plain":       {},
		"subprotocol": {ServerOptions{ValidProtocols: []string{"chat"}}, []string{"Sec-WebSocket-Protocol: other, chat"}},
		"deflate": {ServerOptions{Deflate: &DeflateOptions{}},
			[]string{"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"}},
		"executor": {ServerOptions{Executor: NewExecutor(2, 0)}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			answer := func(deferAccept bool) string {
				opts := tc.opts
				opts.DeferAccept = deferAccept
				s, addr := startServer(t, &opts, nil)
				s.OnText(func(c *Conn, text string) { c.SendText(text, nil) })
				p := wstest.DialRaw(t, addr)
				p.Write(append([]byte(wstest.Request("/", tc.header...)), wstest.FrameBytes(true, codec.OpText, []byte("with the request"))...))
				head := string(p.ReadHead())
				p.ExpectFrame(codec.OpText, []byte("with the request"))
				return head
			}
			loop, early := answer(false), answer(true)
			if early != loop || !strings.HasPrefix(early, "HTTP/1.1 101 ") {
				t.Fatalf("answered on accept:\n%s\nanswered on the loop:\n%s", early, loop)
			}
		})
	}
}

// In the connection handler BufferedAmount counts the 101 (129 bytes here) that the loop's turn
// is about to write, and nothing when the request was answered where it was accepted.
func TestDeferAcceptBufferedAmountAtOpen(t *testing.T) {
	for _, tc := range []struct {
		deferAccept bool
		want        int
	}{{false, 129}, {true, 0}} {
		got := make(chan int, 1)
		_, addr := startServer(t, &ServerOptions{DeferAccept: tc.deferAccept}, func(c *Conn) { got <- c.BufferedAmount() })
		wstest.Dial(t, addr, "/")
		if n := recv(t, got); n != tc.want {
			t.Fatalf("DeferAccept %v: BufferedAmount %d in the connection handler, want %d", tc.deferAccept, n, tc.want)
		}
	}
}
