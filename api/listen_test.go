package api

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// listenAndServe runs serve (a ListenAndServe call) on a goroutine and returns the server's
// address once it listens, with the channel that receives serve's result.
func listenAndServe(t *testing.T, s *Server, serve func() error) (string, <-chan error) {
	t.Helper()
	listening := make(chan struct{})
	s.OnListening(func(*Server) { close(listening) })
	result := make(chan error, 1)
	go func() { result <- serve() }()
	select {
	case <-listening:
	case err := <-result:
		t.Fatalf("ListenAndServe returned %v before listening", err)
	case <-time.After(wstest.Timeout):
		t.Fatal("the server did not listen")
	}
	t.Cleanup(func() { s.Close(nil) })
	return s.Addr().String(), result
}

// echoOnce dials addr, sends "hi" and checks the echo.
func echoOnce(t *testing.T, url string, opts *ClientOptions) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	c.OnText(func(_ *Conn, text string) { got <- text })
	c.SendText("hi", nil)
	if s := recv(t, got); s != "hi" {
		t.Fatalf("echo %q", s)
	}
	return c
}

func echoing() *Server {
	s := CreateServer(nil, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	return s
}

// stillServing checks that ListenAndServe has not returned.
func stillServing(t *testing.T, result <-chan error) {
	t.Helper()
	select {
	case err := <-result:
		t.Fatalf("ListenAndServe returned %v while serving", err)
	default:
	}
}

func TestListenAndServeClose(t *testing.T) {
	wstest.CheckLeaks(t)
	s := echoing()
	addr, result := listenAndServe(t, s, func() error { return s.ListenAndServe("127.0.0.1:0") })
	c := echoOnce(t, "ws://"+addr+"/", nil)
	stillServing(t, result)
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	// Close leaves the open connection alone, and ListenAndServe returns all the same.
	if err := recv(t, result); err != ErrServerClosed {
		t.Fatalf("ListenAndServe returned %v, want ErrServerClosed", err)
	}
	if c.ReadyState() != Open {
		t.Fatalf("state %d after Close", c.ReadyState())
	}
	c.Close(1000, "")
}

func TestListenAndServeShutdown(t *testing.T) {
	wstest.CheckLeaks(t)
	s := echoing()
	addr, result := listenAndServe(t, s, func() error { return s.ListenAndServe("127.0.0.1:0") })
	c := echoOnce(t, "ws://"+addr+"/", nil)
	closed := make(chan int, 1)
	c.OnClose(func(_ *Conn, code int, _ string) { closed <- code })
	stillServing(t, result)
	ctx, cancel := context.WithTimeout(context.Background(), wstest.Timeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, result); err != ErrServerClosed {
		t.Fatalf("ListenAndServe returned %v, want ErrServerClosed", err)
	}
	if code := recv(t, closed); code != 1001 {
		t.Fatalf("close %d, want 1001", code)
	}
}

func TestListenAndServeBusy(t *testing.T) {
	wstest.CheckLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := CreateServer(nil, nil)
	var reported error
	s.OnError(func(_ *Server, err error) { reported = err })
	result := make(chan error, 1)
	go func() { result <- s.ListenAndServe(ln.Addr().String()) }()
	err = recv(t, result)
	if !errors.Is(err, syscall.EADDRINUSE) || reported != err {
		t.Fatalf("ListenAndServe returned %v (reported %v), want EADDRINUSE", err, reported)
	}
	// Once closed, a server does not listen again.
	s.Close(nil)
	if err := s.ListenAndServe("127.0.0.1:0"); err != ErrServerClosed {
		t.Fatalf("ListenAndServe after Close returned %v", err)
	}
}

func TestListenAndServeTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
	s := echoing()
	addr, result := listenAndServe(t, s, func() error { return s.ListenAndServeTLS("127.0.0.1:0", certFile, keyFile) })
	c := echoOnce(t, "wss://"+addr+"/", &ClientOptions{TLSConfig: clientCfg})
	if st, ok := c.TLS(); !ok || len(st.PeerCertificates) != 1 || st.PeerCertificates[0].Subject.CommonName != "localhost" {
		t.Fatalf("TLS state %v, %v", ok, st.PeerCertificates)
	}
	c.Close(1000, "")
	stillServing(t, result)
	s.Close(nil)
	if err := recv(t, result); err != ErrServerClosed {
		t.Fatalf("ListenAndServeTLS returned %v, want ErrServerClosed", err)
	}
}

func TestListenAndServeTLSMissingFile(t *testing.T) {
	s := CreateServer(nil, nil)
	err := s.ListenAndServeTLS("127.0.0.1:0", "/nonexistent/cert.pem", "/nonexistent/key.pem")
	if !errors.Is(err, os.ErrNotExist) || s.Addr() != nil {
		t.Fatalf("error %v, address %v", err, s.Addr())
	}
}
