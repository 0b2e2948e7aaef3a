package api

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"

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
	plain.ExpectEOF() // a TLS alert or nothing, then the end: never a 101
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
