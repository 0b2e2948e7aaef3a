package api

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

func tlsEchoServer(t *testing.T) (*Server, string, *tls.Config) {
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	s, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg, MaxBufferLength: 8 << 20}, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	return s, addr, clientCfg
}

func TestTLSEchoBothWays(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, clientCfg := tlsEchoServer(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	r := newRecorder()
	done := make(chan []byte, 1)
	c, err := Connect("wss://"+addr+"/secure", &ClientOptions{TLSConfig: clientCfg, MaxBufferLength: 8 << 20}, func(c *Conn) {
		r.watch(c)
		c.OnMessage(func(c *Conn, typ MessageType, p []byte) {
			if typ == BinaryMessage {
				done <- bytes.Clone(p)
				return
			}
			r.add("text " + string(p))
		})
		c.SendText("over tls", nil)
		c.SendBinary(big, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-done; !bytes.Equal(got, big) {
		t.Fatalf("4 MiB echo differs (%d bytes)", len(got))
	}
	state, ok := c.TLS()
	if !ok || state.Version < tls.VersionTLS12 || len(state.PeerCertificates) == 0 {
		t.Fatalf("TLS state %v %+v", ok, state)
	}
	c.Close(1000, "done")
	if got := strings.Join(r.wait(t), "|"); got != "text over tls|close 1000 done" {
		t.Fatalf("events %q", got)
	}
}

func TestTLSClientRejectsUnknownCertificate(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _ := tlsEchoServer(t)
	r := newRecorder()
	_, err := Connect("wss://"+addr, r.opts(nil), nil) // the system roots do not know the test CA
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.wait(t), "|"); got != "error|close 1006 " {
		t.Fatalf("events %q", got)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(r.errs[0], &unknown) {
		t.Fatalf("error %T %v, want an unknown-authority certificate error", r.errs[0], r.errs[0])
	}
}

func TestTLSPortSurvivesPlainClientsAndGarbage(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, clientCfg := tlsEchoServer(t)
	plain := wstest.DialRaw(t, addr)
	plain.Write([]byte(wstest.Request("/")))
	// A plain request on the TLS port never gets a 101: it gets net/http's answer to that mistake,
	// then the end.
	const want = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
	if got := plain.ExpectEOF(); string(got) != want {
		t.Fatalf("a plain request on the TLS port got %q, want %q", got, want)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte{0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3})
	nc.Close()
	got := make(chan string, 1)
	c, err := Connect("wss://localhost:"+addr[strings.LastIndex(addr, ":")+1:], &ClientOptions{TLSConfig: clientCfg}, func(c *Conn) {
		c.OnText(func(c *Conn, s string) { got <- s; c.Close(1000, "") })
		c.SendText("still fine", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	c.OnClose(func(*Conn, int, string) { close(r.closed) })
	if s := <-got; s != "still fine" {
		t.Fatalf("echo %q", s)
	}
	r.wait(t)
}

// Certificates come from the configuration's own hooks: GetCertificate chooses per handshake, so
// rotating a certificate is swapping what it returns.
func TestTLSCertificateRotationThroughGetCertificate(t *testing.T) {
	wstest.CheckLeaks(t)
	first, firstClient := wstest.TLSConfigs(t)
	second, secondClient := wstest.TLSConfigs(t) // another authority
	var current atomic.Pointer[tls.Certificate]
	current.Store(&first.Certificates[0])
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load(), nil }}
	s, addr := startServer(t, &ServerOptions{TLSConfig: cfg}, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })

	echoOnce := func(client *tls.Config) error {
		got := make(chan error, 1)
		_, err := Connect("wss://"+addr, &ClientOptions{TLSConfig: client, Setup: func(c *Conn) {
			c.OnError(func(_ *Conn, err error) { got <- err })
			c.OnText(func(c *Conn, s string) { c.Close(1000, ""); got <- nil })
			c.OnConnect(func(c *Conn) { c.SendText("hi", nil) })
		}}, nil)
		if err != nil {
			return err
		}
		select {
		case err := <-got:
			return err
		case <-time.After(wstest.Timeout):
			return errors.New("no answer")
		}
	}
	if err := echoOnce(firstClient); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	current.Store(&second.Certificates[0])
	if err := echoOnce(firstClient); err == nil {
		t.Fatal("a client trusting only the first authority accepted the rotated certificate")
	}
	if err := echoOnce(secondClient); err != nil {
		t.Fatalf("rotated certificate: %v", err)
	}
}

// The opening handshake's deadline covers the TLS handshake: a client that connects and never
// says hello is dropped after HandshakeTimeout, and the port goes on serving.
func TestTLSHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, _ := wstest.TLSConfigs(t)
	_, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg, HandshakeTimeout: 200 * time.Millisecond}, nil)
	silent := wstest.DialRaw(t, addr)
	start := time.Now()
	silent.ExpectEOF()
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("a silent TLS client was dropped after %v, want about 200ms", d)
	}
}

// A secure net/http server hands its upgrades over too: the hijacked *tls.Conn runs on the stream
// transport.
func TestTLSMountOnNetHTTPS(t *testing.T) {
	wstest.CheckLeaks(t)
	ws := CreateServer(nil, nil)
	ws.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	states := make(chan bool, 1)
	ws.OnConnection(func(c *Conn) { _, secure := c.TLS(); states <- secure })
	hs := httptest.NewUnstartedServer(ws)
	hs.EnableHTTP2 = false
	hs.StartTLS()
	defer hs.Close()
	defer ws.Close(nil)
	clientCfg := &tls.Config{RootCAs: hs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	got := make(chan string, 1)
	_, err := Connect("wss://"+strings.TrimPrefix(hs.URL, "https://")+"/ws", &ClientOptions{TLSConfig: clientCfg, Setup: func(c *Conn) {
		c.OnText(func(c *Conn, s string) { got <- s; c.Close(1000, "") })
		c.OnConnect(func(c *Conn) { c.SendText("through https", nil) })
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "through https" {
			t.Fatalf("echo %q", s)
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("no echo through the mounted secure server")
	}
	if !<-states {
		t.Fatal("the mounted connection does not report its TLS state")
	}
}
