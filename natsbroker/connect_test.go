package natsbroker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// runServer starts a nats-server on a random loopback port with opts completed, and shuts it
// down at the test's end.
func runServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// operatorMode returns the options of a server that trusts a new operator, whose one account has
// one user, and that user's credentials file.
func operatorMode(t *testing.T) (server.Options, string) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	akp, _ := nkeys.CreateAccount()
	ukp, _ := nkeys.CreateUser()
	opub, _ := okp.PublicKey()
	apub, _ := akp.PublicKey()
	upub, _ := ukp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	resolver.Store(apub, ajwt)
	return server.Options{TrustedKeys: []string{opub}, AccountResolver: resolver}, file
}

// Connect authenticates with a credentials file, with a user and password, with a token, and
// over TLS; without them it is refused.
func TestConnectAuthenticates(t *testing.T) {
	serverTLS, clientTLS := wstest.TLSConfigs(t)
	operator, creds := operatorMode(t)
	cases := []struct {
		name   string
		server server.Options
		client Options
	}{
		{"credentials file", operator, Options{CredentialsFile: creds}},
		{"user and password", server.Options{Username: "u", Password: "p"}, Options{User: "u", Password: "p"}},
		{"token", server.Options{Authorization: "secret"}, Options{Token: "secret"}},
		{"TLS", server.Options{TLS: true, TLSConfig: serverTLS}, Options{TLS: clientTLS}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := runServer(t, &c.server)
			url := strings.Replace(s.ClientURL(), "localhost", "127.0.0.1", 1)
			if b, err := Connect(Options{URLs: []string{url}, MaxReconnects: -1}); err == nil {
				b.Close()
				t.Fatal("connected without credentials")
			}
			c.client.URLs = []string{url}
			b, err := Connect(c.client)
			if err != nil {
				t.Fatal(err)
			}
			n := open(t, b)
			if err := n.Publish("t", api.TextMessage, []byte("x")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// With MaxReconnects negative, a lost connection stays lost: Publish fails with
// ErrDisconnected and a Join is undone.
func TestNoReconnect(t *testing.T) {
	s := startServer(t, ServerOptions{})
	b, err := Connect(Options{URLs: []string{s.ClientURL()}, MaxReconnects: -1})
	if err != nil {
		t.Fatal(err)
	}
	n := open(t, b)
	s.Shutdown()
	waitFor(t, 5*time.Second, "the connection closed", func() bool { return b.nc.IsClosed() && !b.connected.Load() })
	if err := n.Publish("t", api.TextMessage, nil); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Publish: %v, want ErrDisconnected", err)
	}
	n.Join("t")
	waitFor(t, 5*time.Second, "the Join undone", func() bool {
		b.subMu.RLock()
		defer b.subMu.RUnlock()
		return len(b.joined) == 0 && len(b.bySubject) == 0
	})
}

// A single node needs no listener; options that cannot work are refused.
func TestOptionsChecked(t *testing.T) {
	b, err := Embedded(ServerOptions{DontListen: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := open(t, b)
	if b.Server().Addr() != nil || len(b.Node()) != 16 {
		t.Errorf("DontListen server listens on %v; node id %q", b.Server().Addr(), b.Node())
	}
	if err := n.Publish("t", api.BinaryMessage, []byte{1}); err != nil {
		t.Errorf("Publish on a single node: %v", err)
	}
	if _, err := Connect(Options{}); err == nil {
		t.Error("Connect without URLs")
	}
	if _, err := Connect(Options{URLs: []string{"nats://127.0.0.1:1"}, Node: strings.Repeat("n", MaxNodeID+1)}); !errors.Is(err, errNodeTooLong) {
		t.Errorf("a node id too long: %v", err)
	}
	if _, err := Connect(Options{URLs: []string{"nats://127.0.0.1:1"}, Prefix: "a.>"}); !errors.Is(err, errBadPrefix) {
		t.Errorf("a wildcard prefix: %v", err)
	}
	for _, so := range []ServerOptions{
		{DontListen: true, Cluster: "127.0.0.1:0"},
		{Routes: []string{"nats-route://127.0.0.1:1"}},
		{Listen: "127.0.0.1"},
		{Listen: "127.0.0.1:x"},
		{Cluster: "127.0.0.1:99999"},
		{Cluster: "127.0.0.1:0", Routes: []string{"::"}},
	} {
		if s, err := StartServer(so); err == nil {
			s.Shutdown()
			t.Errorf("StartServer(%+v) started", so)
		}
	}
}
