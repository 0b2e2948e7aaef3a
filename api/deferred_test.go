package api

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
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
