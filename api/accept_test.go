package api

import (
	"runtime"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
	"github.com/wsloop/wsloop/poller"
)

// A handler that blocks its loop delays only that loop: while it sleeps, new clients (dialed
// through the poller too) are accepted, enrolled on the other loop and handshaken at once.
func TestBlockedHandlerDelaysNoNewHandshake(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two event loops: GOMAXPROCS is 1")
	}
	wstest.CheckLeaks(t)
	s, addr := startServer(t, nil, nil)
	sleeping := make(chan struct{})
	wake := make(chan struct{})
	s.OnText(func(c *Conn, text string) {
		if text == "sleep" {
			close(sleeping)
			select { // 2 s, or until the test is over
			case <-wake:
			case <-time.After(2 * time.Second):
			}
		}
	})
	sleeper := wstest.Dial(t, addr, "/")
	sleeper.WriteFrame(true, codec.OpText, []byte("sleep"))
	select {
	case <-sleeping:
	case <-time.After(wstest.Timeout):
		t.Fatal("the handler did not run")
	}
	defer close(wake)
	time.Sleep(4 * poller.Tick) // long enough for the blocked loop's heartbeat to be stale

	const n = 20
	const within = 200 * time.Millisecond
	for i := range n {
		connected := make(chan struct{})
		start := time.Now()
		c, err := Connect("ws://"+addr+"/", nil, func(*Conn) { close(connected) })
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-connected:
		case <-time.After(within):
			t.Fatalf("client %d: no handshake within %v while another connection's handler sleeps", i, within)
		}
		if d := time.Since(start); d > within {
			t.Fatalf("client %d: handshake took %v", i, d)
		}
		c.Close(1000, "")
	}
}
