package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/internal/wstest"
)

// A handler that panics ends its own connection with 1011 and reports the panic; the loop (or the
// executor's worker), and the other connections, go on; the socket closes behind the close frame.
func TestHandlerPanicEndsOnlyItsConnection(t *testing.T) {
	for name, opts := range map[string]*ServerOptions{"loop": nil, "executor": {Executor: NewExecutor(1, 0)}} {
		t.Run(name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			s, addr := startServer(t, opts, nil)
			errs := make(chan error, 1)
			s.OnConnError(func(_ *Conn, err error) { errs <- err })
			s.OnText(func(c *Conn, text string) {
				if text == "boom" {
					panic("handler bug")
				}
				c.SendText(text, nil)
			})
			ps := peers(t, addr, 4) // more connections than loops, so some share the panicking one's loop
			ps[0].WriteFrame(true, codec.OpText, []byte("boom"))
			if reason := ps[0].ExpectClose(codec.CloseInternalError); reason != "internal error" {
				t.Fatalf("reason %q", reason)
			}
			ps[0].ExpectEOF()
			var pe *engine.PanicError
			if err := recv(t, errs); !errors.As(err, &pe) || pe.Value != "handler bug" || !strings.Contains(string(pe.Stack), "panic_test.go") {
				t.Fatalf("error %v", err)
			}
			for _, p := range ps[1:] {
				p.WriteFrame(true, codec.OpText, []byte("alive"))
				p.ExpectFrame(codec.OpText, []byte("alive"))
			}
		})
	}
}
