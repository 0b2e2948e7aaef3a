package api

import (
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// With DeferAccept a client that connects and sends nothing is handed over after about a second
// (one SYN-ACK retransmission) and then closed at HandshakeTimeout: still bounded in time.
func TestDeferAcceptSilentPeerIsBounded(t *testing.T) {
	wstest.CheckLeaks(t)
	const timeout = 300 * time.Millisecond
	_, addr := startServer(t, &ServerOptions{DeferAccept: true, HandshakeTimeout: timeout}, nil)
	silent := wstest.DialRaw(t, addr)
	start := time.Now()
	expectClosed(t, silent.Conn)
	if took := time.Since(start); took < time.Second || took > 4*time.Second {
		t.Fatalf("the silent client was closed after %v, want about a second and %v", took, timeout)
	}
}
