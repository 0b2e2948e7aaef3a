package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// A secure server (wss://) with a self-signed certificate made here, and a client that trusts
// it. A program would load its certificate with ListenAndServeTLS(addr, certFile, keyFile).
func ExampleServerOptions_tls() {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Println(err)
		return
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		fmt.Println(err)
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		fmt.Println(err)
		return
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	server := ws.CreateServer(&ws.ServerOptions{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
	}, nil)
	server.OnText(func(c *ws.Conn, text string) { c.SendText("secure "+text, nil) })
	addr := serveLocally(server)
	defer server.Close(nil)

	c, err := ws.Dial(context.Background(), "wss://"+addr+"/", &ws.ClientOptions{
		TLSConfig: &tls.Config{RootCAs: roots},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(1000, "")
	got := make(chan string, 1)
	c.OnText(func(_ *ws.Conn, text string) { got <- text })
	c.SendText("hi", nil)
	fmt.Println(<-got)
	state, _ := c.TLS()
	fmt.Println(tls.VersionName(state.Version), state.PeerCertificates[0].Subject.CommonName)
	// Output:
	// secure hi
	// TLS 1.3 127.0.0.1
}
