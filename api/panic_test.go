package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/internal/wstest"
)

// A handler that panics ends its own connection with 1011 and reports the panic; the loop, and
// the other connections on it, go on.
func TestHandlerPanicEndsOnlyItsConnection(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, nil, nil)
	errs := make(chan error, 1)
	s.OnConnError(func(_ *Conn, err error) { errs <- err })
	s.OnText(func(c *Conn, text string) {
		if text == "boom" {
			panic("handler bug")
		}
		c.SendText(text, nil)
	})
	var peers []*wstest.Peer
	for range 4 { // more connections than loops, so some share the panicking one's loop
		peers = append(peers, wstest.Dial(t, addr, "/"))
	}
	peers[0].WriteFrame(true, codec.OpText, []byte("boom"))
	if reason := peers[0].ExpectClose(codec.CloseInternalError); reason != "internal error" {
		t.Fatalf("reason %q", reason)
	}
	peers[0].ExpectEOF()
	var pe *engine.PanicError
	if err := <-errs; !errors.As(err, &pe) || pe.Value != "handler bug" || !strings.Contains(string(pe.Stack), "panic_test.go") {
		t.Fatalf("error %v", err)
	}
	for _, p := range peers[1:] {
		p.WriteFrame(true, codec.OpText, []byte("alive"))
		p.ExpectFrame(codec.OpText, []byte("alive"))
	}
}
