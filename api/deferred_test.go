package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// laterServer is an echo server whose HandshakeLater hook replies from another goroutine, after
// wait, with answer (nothing when answer is nil).
func laterServer(t *testing.T, wait time.Duration, answer func() (http.Header, error), opts ServerOptions) string {
	opts.HandshakeLater = func(c *Conn, reply func(http.Header, error)) {
		if answer == nil {
			return
		}
		go func() {
			time.Sleep(wait)
			reply(answer())
		}()
	}
	s, addr := startServer(t, &opts, nil)
	s.OnText(func(c *Conn, text string) { c.SendText(text, nil) })
	return addr
}

// A handshake accepted later opens with the headers of the reply, and reads the frame the client
// sent right behind its request only then.
func TestDeferredHandshakeAcceptLater(t *testing.T) {
	wstest.CheckLeaks(t)
	const wait = 100 * time.Millisecond
	addr := laterServer(t, wait, func() (http.Header, error) { return http.Header{"X-Auth": {"ok"}}, nil }, ServerOptions{})
	p := wstest.DialRaw(t, addr)
	start := time.Now()
	p.Write([]byte(wstest.Request("/") + string(wstest.FrameBytes(true, codec.OpText, []byte("early")))))
	head := string(p.ReadHead())
	if took := time.Since(start); took < wait || !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "\r\nX-Auth: ok\r\n") {
		t.Fatalf("after %v, answer %q", took, head)
	}
	p.ExpectFrame(codec.OpText, []byte("early"))
	p.WriteFrame(true, codec.OpText, []byte("later"))
	p.ExpectFrame(codec.OpText, []byte("later"))
}

// A handshake refused later answers with the refusal's status, headers and body, and closes.
func TestDeferredHandshakeRefuseLater(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := laterServer(t, 50*time.Millisecond, func() (http.Header, error) {
		return nil, &HTTPError{Status: http.StatusUnauthorized, Header: http.Header{"Www-Authenticate": {"Bearer"}}, Body: "who are you\n"}
	}, ServerOptions{})
	p := wstest.DialRaw(t, addr)
	p.Write([]byte(wstest.Request("/")))
	head := string(p.ReadHead())
	if !strings.HasPrefix(head, "HTTP/1.1 401 ") || !strings.Contains(head, "\r\nWww-Authenticate: Bearer\r\n") {
		t.Fatalf("answer %q", head)
	}
	if body := p.ExpectEOF(); !bytes.Equal(body, []byte("who are you\n")) {
		t.Fatalf("body %q", body)
	}
}

// A hook that never replies leaves the connection to its handshake deadline: it is closed then,
// unanswered.
func TestDeferredHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	const timeout = 200 * time.Millisecond
	addr := laterServer(t, 0, nil, ServerOptions{HandshakeTimeout: timeout})
	p := wstest.DialRaw(t, addr)
	start := time.Now()
	p.Write([]byte(wstest.Request("/")))
	rest := p.ExpectEOF()
	if took := time.Since(start); len(rest) != 0 || took < timeout || took > timeout+time.Second {
		t.Fatalf("closed after %v (handshake timeout %v), having sent %q", took, timeout, rest)
	}
}

// With an executor, HandshakeLater runs on a worker and may reply there, at once.
func TestDeferredHandshakeOnExecutor(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := laterServer(t, 0, func() (http.Header, error) { return nil, nil }, ServerOptions{Executor: NewExecutor(1, 0)})
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("hi"))
	p.ExpectFrame(codec.OpText, []byte("hi"))
}
