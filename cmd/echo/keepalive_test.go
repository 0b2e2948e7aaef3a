package main

import (
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// -ping-interval with -pong-timeout: a peer that does not answer the ping is closed within the
// interval and the timeout (plus the wheel's tick and some slack), without a close frame.
func TestEchoFlagsPingAndPongTimeout(t *testing.T) {
	const interval, pong = 300 * time.Millisecond, 200 * time.Millisecond
	_, addr := startEcho(t, "-ping-interval", interval.String(), "-pong-timeout", pong.String())
	start := time.Now()
	p := wstest.Dial(t, addr, "/")
	p.ExpectFrame(codec.OpPing, nil)
	if rest := p.ExpectEOF(); len(rest) != 0 {
		t.Fatalf("%d bytes after the ping, want the end", len(rest))
	}
	if d, bound := time.Since(start), interval+pong+300*time.Millisecond; d > bound {
		t.Fatalf("closed %v after the upgrade, want within %v", d, bound)
	}
}

// -idle-timeout: a silent peer gets a close with 1001 once that long passed.
func TestEchoFlagIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	_, addr := startEcho(t, "-idle-timeout", idle.String())
	start := time.Now()
	p := wstest.Dial(t, addr, "/")
	if reason := p.ExpectClose(codec.CloseGoingAway); reason != "idle timeout" {
		t.Fatalf("close reason %q", reason)
	}
	if d := time.Since(start); d < idle || d > idle+300*time.Millisecond {
		t.Fatalf("idle close %v after the upgrade, want after %v and within 300ms more", d, idle)
	}
}
