package api

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
	"github.com/wsloop/wsloop/poller"
)

// tlsErrorServer starts a secure server with opts whose error event sends each error to the
// returned channel.
func tlsErrorServer(t *testing.T, opts ServerOptions) (*Server, string, *tls.Config, chan error) {
	t.Helper()
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	opts.TLSConfig = serverCfg
	errs := make(chan error, 4)
	s := CreateServer(&opts, nil)
	s.OnError(func(_ *Server, err error) { errs <- err })
	if err := s.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(nil) })
	return s, s.Addr().String(), clientCfg, errs
}

// Every failed TLS handshake is counted and reaches the server's error event as a
// *poller.TLSHandshakeError naming the client: garbage, a plain HTTP request, a client that ends
// in the middle of its hello, one that says nothing within HandshakeTimeout.
func TestTLSHandshakeFailuresReported(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes string // what the client sends before it closes; "" sends nothing and waits
	}{
		{"garbage", "\x16\x03\x01\xff\xff\x01\x02\x03"},
		{"plain HTTP", wstest.Request("/")},
		{"cut hello", "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"},
		{"silent", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			s, addr, _, errs := tlsErrorServer(t, ServerOptions{HandshakeTimeout: 300 * time.Millisecond})
			p := wstest.DialRaw(t, addr)
			if tc.bytes != "" {
				p.Write([]byte(tc.bytes))
				if tc.name == "cut hello" {
					p.Conn.Close()
				}
			}
			err := recv(t, errs)
			var he *poller.TLSHandshakeError
			if !errors.As(err, &he) || he.Remote.String() != p.Conn.LocalAddr().String() || he.Err == nil {
				t.Fatalf("error event %T %v, want a TLS handshake error from %v", err, err, p.Conn.LocalAddr())
			}
			if n := s.ln.TLSHandshakeFailures(); n != 1 {
				t.Fatalf("TLSHandshakeFailures = %d, want 1", n)
			}
		})
	}
}

// A handshake that succeeds is not counted, and neither is one that Shutdown ends.
func TestTLSHandshakesNotFailures(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr, clientCfg, errs := tlsErrorServer(t, ServerOptions{HandshakeTimeout: time.Minute})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	good, err := tls.Dial("tcp", addr, clientCfg) // once accepted, so is the silent one before it
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if r := recv(t, startShutdown(s, wstest.Timeout)); r.err != nil {
		t.Fatalf("Shutdown: %v", r.err)
	}
	expectClosed(t, silent)
	select {
	case err := <-errs:
		t.Fatalf("error event %v", err)
	default:
	}
	if n := s.ln.TLSHandshakeFailures(); n != 0 {
		t.Fatalf("TLSHandshakeFailures = %d, want 0", n)
	}
}
