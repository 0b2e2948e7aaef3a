package poller

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"
)

// TestOpenChoosesTransport checks the one choice of transport: a *net.TCPConn goes to a gnet loop
// of the poller, a *tls.Conn and a net.Pipe conn run as streams.
func TestOpenChoosesTransport(t *testing.T) {
	p := testPoller(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverCfg, clientCfg := selfSignedTLS(t)

	cases := []struct {
		name string
		// conn returns the end to open and the peer's end; handshake, if set, runs on the peer's
		// end once the other is opened.
		conn      func() (nc, peer net.Conn)
		handshake func(peer net.Conn) error
		onLoop    bool
	}{
		{name: "tcp", onLoop: true, conn: func() (net.Conn, net.Conn) { return tcpPeers(t, ln) }},
		{name: "tls", conn: func() (net.Conn, net.Conn) {
			nc, peer := tcpPeers(t, ln)
			return tls.Server(nc, serverCfg), tls.Client(peer, clientCfg)
		}, handshake: func(c net.Conn) error { return c.(*tls.Conn).Handshake() }},
		{name: "pipe", conn: func() (net.Conn, net.Conn) { return net.Pipe() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, peer := tc.conn()
			defer peer.Close()
			s := newStreamSession()
			p.Open(context.Background(), nc, s, waitLimit) // returns at once
			if tc.handshake != nil {
				if err := tc.handshake(peer); err != nil {
					t.Fatalf("the peer's handshake: %v", err)
				}
			}
			await(t, s.opened, "OnOpen")
			switch tr := s.t.(type) {
			case *gnetConn:
				if !tc.onLoop {
					t.Fatalf("%T went to a gnet loop, want a stream", nc)
				}
				if tr.loop != p.all()[0] && tr.loop != p.all()[1] {
					t.Fatal("the connection is on a loop that is not the poller's")
				}
			case *stream:
				if tc.onLoop {
					t.Fatalf("%T runs as a stream, want a gnet loop", nc)
				}
				if _, isTLS := tr.TLS(); isTLS != (tc.name == "tls") {
					t.Fatalf("the stream reports TLS %v", isTLS)
				}
			default:
				t.Fatalf("transport %T", tr)
			}
			var onLoops int64
			for _, l := range p.all() {
				onLoops += l.conns.Load()
			}
			want := int64(0)
			if tc.onLoop {
				want = 1
			}
			if onLoops != want || p.Live() != 1 {
				t.Fatalf("%d connections on loops and %d live, want %d and 1", onLoops, p.Live(), want)
			}
			peer.Close()
			await(t, s.closed, "OnClose") // the peer's end reaches the session on either transport
			for deadline := time.Now().Add(waitLimit); p.Live() != 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections live %v after OnClose", p.Live(), waitLimit)
				}
			}
		})
	}
}

// selfSignedTLS returns a server config with a new self-signed certificate and a client config
// that trusts it.
func selfSignedTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"poller.test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots, ServerName: "poller.test"}
}
