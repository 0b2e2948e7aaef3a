package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

func TestShutdownWaitsForClosingHandshakes(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := echoServer(t)
	fired := make(chan struct{})
	s.OnClose(func(*Server) { close(fired) })
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("x"))
	p.ExpectFrame(codec.OpText, []byte("x"))
	go func() {
		if reason := p.ExpectClose(codec.CloseGoingAway); reason != "server shutting down" {
			t.Errorf("reason %q", reason)
		}
		p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-fired:
	default:
		t.Fatal("Shutdown returned before the close event")
	}
	p.ExpectEOF()
}

func TestShutdownGraceRunsOut(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := echoServer(t)
	codes := make(chan int, 1)
	s.OnConnClose(func(_ *Conn, code int, _ string) { codes <- code })
	p := wstest.Dial(t, addr, "/") // a peer that never answers the close
	p.WriteFrame(true, codec.OpText, []byte("x"))
	p.ExpectFrame(codec.OpText, []byte("x"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	p.ExpectClose(codec.CloseGoingAway)
	p.ExpectEOF()
	if code := <-codes; code != int(codec.CloseAbnormal) {
		t.Fatalf("close code %d, want 1006 for a connection whose handshake never ended", code)
	}
}
