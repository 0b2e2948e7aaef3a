package api

// Interop over TLS (wss://) with Node's ws (8.x) and nodejs-websocket (1.7.2), both ways: our
// secure server (ServerOptions.TLSConfig) with their clients, and our wss:// client with their
// secure servers (ws on https.createServer, nws with secure: true). The scripts are those of the
// plain interop tests (testdata/interop); the environment turns TLS on (common.js): a client
// trusts the certificate authority in INTEROP_TLS_CA, a server serves INTEROP_TLS_CERT and
// INTEROP_TLS_KEY. Certificates are made at test time (wstest.TLSConfigs).
//
// Then what goes wrong: a certificate our client does not trust (OnError with the x509 error,
// then OnClose(1006)), a ws:// client on a TLS port and a wss:// client on a plain port (OnClose
// 1006, with an error where the server answered, at once where it answers or hangs up, at the
// client's handshake timeout where it waits in silence); the servers go on serving.
//
// The peers are found as for the plain interop tests (nodeModules): a missing one fails the test.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// interopCerts is a test certificate authority and a certificate it signed for localhost,
// 127.0.0.1 and ::1, as configurations and as PEM files.
type interopCerts struct {
	server, client            *tls.Config
	certFile, keyFile, caFile string
}

func newInteropCerts(t *testing.T) interopCerts {
	t.Helper()
	var ic interopCerts
	ic.server, ic.client = wstest.TLSConfigs(t)
	ic.certFile, ic.keyFile = wstest.WriteCertFiles(t, ic.server)
	// The authority is not exported by wstest: it is the root of the leaf's verified chain.
	leaf, err := x509.ParseCertificate(ic.server.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: ic.client.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	ca := chains[0][len(chains[0])-1]
	ic.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ic.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ic
}

// nodeTrusts makes the Node client scripts of this test trust the authority.
func (ic interopCerts) nodeTrusts(t *testing.T) { t.Setenv("INTEROP_TLS_CA", ic.caFile) }

// nodeServes makes the Node server scripts of this test serve the certificate over TLS.
func (ic interopCerts) nodeServes(t *testing.T) {
	t.Setenv("INTEROP_TLS_CERT", ic.certFile)
	t.Setenv("INTEROP_TLS_KEY", ic.keyFile)
}

// tlsName is the TLS version of c, "plain" for a plain connection.
func tlsName(c *Conn) string {
	st, ok := c.TLS()
	if !ok {
		return "plain"
	}
	if len(st.PeerCertificates) > 0 {
		return tls.VersionName(st.Version) + " peer " + st.PeerCertificates[0].Subject.CommonName
	}
	return tls.VersionName(st.Version)
}

// startInteropDataServerTLS starts the server side of the data scenario, a secure one when cfg
// is not nil (its connection line then names the TLS version negotiated): text and binary echo
// (binary read as an InStream), and two commands: "cmd:stream" answers with a 200000-byte message
// sent through BeginBinary in 10000-byte writes with a 16 KiB fragmentation (ten 20000-byte
// fragments and an empty final one) and a ping "mid-stream" after the fifth fragment;
// "cmd:ping:HEX" sends a ping with those bytes. Every pong is reported back as "pong HEX".
func startInteropDataServerTLS(t *testing.T, cfg *tls.Config) (*interopLog, string) {
	log := newInteropLog()
	opts := &ServerOptions{MaxBufferLength: 8 << 20, BinaryFragmentation: 16 << 10, TLSConfig: cfg}
	s, addr := startServer(t, opts, func(c *Conn) {
		if _, secure := c.TLS(); secure {
			log.add(c, "connection protocol=%q %s", c.Protocol(), tlsName(c))
		} else {
			log.add(c, "connection protocol=%q", c.Protocol())
		}
	})
	s.OnText(func(c *Conn, text string) {
		log.add(c, "text %q", text)
		switch {
		case text == "cmd:stream":
			out, err := c.BeginBinary()
			if err != nil {
				log.add(c, "BeginBinary: %v", err)
				return
			}
			data := interopPattern(200000, 99)
			for off := 0; off < len(data); off += 10000 {
				if _, err := out.Write(data[off : off+10000]); err != nil {
					log.add(c, "OutStream.Write: %v", err)
					return
				}
				if off == 90000 {
					if err := c.SendPing([]byte("mid-stream")); err != nil {
						log.add(c, "SendPing: %v", err)
					}
				}
			}
			if err := out.Close(); err != nil {
				log.add(c, "OutStream.Close: %v", err)
			}
		case strings.HasPrefix(text, "cmd:ping:"):
			p, err := hex.DecodeString(strings.TrimPrefix(text, "cmd:ping:"))
			if err == nil {
				err = c.SendPing(p)
			}
			if err != nil {
				log.add(c, "SendPing: %v", err)
			}
		default:
			if err := c.SendText(text, nil); err != nil {
				log.add(c, "SendText: %v", err)
			}
		}
	})
	s.OnBinary(func(c *Conn, in *InStream) {
		var data []byte
		chunks := 0
		in.OnData(func(p []byte) { chunks++; data = append(data, p...) })
		in.OnEnd(func(err error) {
			log.add(c, "binary %d %s %v", len(data), interopSHA(data), err)
			log.addChunks(c, chunks)
			if err == nil {
				if err := c.SendBinary(data, nil); err != nil {
					log.add(c, "SendBinary: %v", err)
				}
			}
		})
	})
	s.OnPong(func(c *Conn, p []byte) {
		log.add(c, "pong %x", p)
		if err := c.SendText(fmt.Sprintf("pong %x", p), nil); err != nil {
			log.add(c, "SendText: %v", err)
		}
	})
	s.OnConnError(func(c *Conn, err error) { log.add(c, "error %v", err) })
	s.OnConnClose(func(c *Conn, code int, reason string) { log.add(c, "close %d %q", code, reason) })
	return log, addr
}

// interopDataWant is what TestInteropData expects of the data scenario of client name: the
// client's events, the server's (after its connection line), the chunk count the fragmented
// message must reach at least.
func interopDataWant(name string) (client []nodeEvent, server []string, minChunks int) {
	client = []nodeEvent{{Ev: "open"}}
	for _, s := range interopTexts {
		client = append(client, nodeEvent{Ev: "text", Text: s})
		server = append(server, fmt.Sprintf("text %q", s))
	}
	for _, n := range interopSizes {
		p := interopPattern(n, uint32(n))
		wire := ""
		if name == "nws" {
			wire = fmt.Sprintf("2/%dF", n)
		}
		client = append(client, nodeBinary(p, wire))
		server = append(server, interopBinaryLine(p))
	}
	var fragmented []byte
	midMessage := nodeEvent{Ev: "pong", Hex: hex.EncodeToString([]byte("mid-message"))}
	if name == "ws" {
		text := "fragmented: € and 😀 end"
		client = append(client, nodeEvent{Ev: "text", Text: text})
		server = append(server, fmt.Sprintf("text %q", text))
		fragmented, minChunks = interopPattern(300000, 7), 4
		client = append(client, midMessage, nodeBinary(fragmented, ""))
	} else {
		fragmented, minChunks = interopPattern(60000, 7), 40
		client = append(client, midMessage, nodeBinary(fragmented, "2/60000F"))
	}
	server = append(server, interopBinaryLine(fragmented))

	midStream := hex.EncodeToString([]byte("mid-stream"))
	if name == "ws" {
		client = append(client, nodeEvent{Ev: "ping", Hex: midStream}, nodeBinary(interopPattern(200000, 99), ""))
	} else {
		wire := "2/20000" + strings.Repeat(" 0/20000", 4) + " 9/10" + strings.Repeat(" 0/20000", 5) + " 0/0F"
		client = append(client, nodeBinary(interopPattern(200000, 99), wire))
	}
	client = append(client, nodeEvent{Ev: "text", Text: "pong " + midStream})
	server = append(server, `text "cmd:stream"`, "pong "+midStream)

	serverPing := "00ff80737276"
	if name == "nws" {
		serverPing = hex.EncodeToString([]byte("srv ping ✓\x00"))
		client = append(client, nodeEvent{Ev: "text", Text: "pong " + serverPing})
	} else {
		client = append(client, nodeEvent{Ev: "ping", Hex: serverPing}, nodeEvent{Ev: "text", Text: "pong " + serverPing})
	}
	server = append(server, fmt.Sprintf("text %q", "cmd:ping:"+serverPing), "pong "+serverPing)

	if name == "ws" {
		for _, p := range [][]byte{{0xde, 0xad, 0xbe, 0xef, 0, 0xff}, {}, interopPattern(125, 125)} {
			client = append(client, nodeEvent{Ev: "pong", Hex: hex.EncodeToString(p)})
		}
		client = append(client, nodeEvent{Ev: "close", Code: 4001, Reason: "bye"})
	} else {
		for _, p := range []string{"Knock knock", "", strings.Repeat("é", 62) + "!"} {
			client = append(client, nodeEvent{Ev: "pong", Hex: hex.EncodeToString([]byte(p))})
		}
		client = append(client,
			nodeEvent{Ev: "close", Code: 4001, Reason: "bye"},
			nodeEvent{Ev: "close-frame", Hex: "0fa1627965"},
			nodeEvent{Ev: "socket-close"})
	}
	server = append(server, `close 4001 "bye"`)
	return client, server, minChunks
}

// TestInteropTLSData is TestInteropData over wss://: texts, binaries of 0 B to 4 MiB, fragmented
// messages both ways, pings both ways and a close with 4001 'bye' from the client, between Node's
// clients and our secure server. The server sees each connection negotiate TLS 1.3.
func TestInteropTLSData(t *testing.T) { runInteropData(t, true) }

// TestInteropTLSServerClose is TestInteropServerClose over wss://: our secure server sends a text
// then closes with 4002 'go away', with no code, and with 4003 and a reason cut to 122 bytes; Node's
// clients see each code and reason.
func TestInteropTLSServerClose(t *testing.T) { runInteropServerClose(t, true) }

// wssURL is the wss:// URL of path on a Node server.
func (s *nodeServer) wssURL(path string) string { return "wss://" + s.addr + path }

// TestInteropTLSClient: our wss:// client against Node's secure servers. It checks the server's
// certificate against the test authority (ClientOptions.TLSConfig) and reports the TLS state;
// texts, binaries of 0 B to 4 MiB and pings go both ways; the client closes with 4001 'bye'; the
// server closes with 1000 'done' on command and with 4002 'go away' right after the handshake.
func TestInteropTLSClient(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		certs := newInteropCerts(t)
		t.Run("data", func(t *testing.T) {
			wstest.CheckLeaks(t)
			certs.nodeServes(t)
			srv := startNodeServer(t, script)
			ic := dialInterop(t, srv.wssURL("/data"), &ClientOptions{TLSConfig: certs.client, MaxBufferLength: 8 << 20})
			ic.expect(t, `open protocol=""`)
			st, ok := ic.c.TLS()
			if !ok || st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 ||
				st.PeerCertificates[0].Subject.CommonName != "localhost" || len(st.VerifiedChains) == 0 {
				t.Errorf("TLS() = %v, version %s, %d peer certificates, %d verified chains; want TLS 1.3 with localhost verified",
					ok, tls.VersionName(st.Version), len(st.PeerCertificates), len(st.VerifiedChains))
			}
			want := []serverEvent{{Ev: "connection", Path: "/data"}}
			for _, s := range append(interopTexts, "", strings.Repeat("€😀x", 10000)) {
				send(t, "SendText", ic.c.SendText(s, nil))
				ic.expect(t, fmt.Sprintf("text %q", s))
				want = append(want, cmdText(s))
			}
			for _, n := range interopSizes {
				p := interopPattern(n, uint32(n))
				send(t, "SendBinary", ic.c.SendBinary(p, nil))
				ic.expectWithin(t, 15*time.Second, clientBinary(p))
				frames := ""
				if name == "nws" {
					frames = fmt.Sprintf("2/%dF", n)
				}
				want = append(want, serverBinary(p, frames))
			}
			// Our pings come back as pongs; the server's pings are answered.
			for _, p := range [][]byte{[]byte("Knock knock"), {}} {
				send(t, "SendPing", ic.c.SendPing(p))
				ic.expect(t, "pong "+hex.EncodeToString(p))
				if name == "ws" {
					want = append(want, serverEvent{Ev: "ping", Hex: hex.EncodeToString(p)})
				}
			}
			for _, h := range []string{hex.EncodeToString([]byte("srv ping ✓")), ""} {
				send(t, "SendText", ic.c.SendText("cmd:ping:"+h, nil))
				srv.waitFor(t, serverEvent{Ev: "pong", Hex: h})
				want = append(want, cmdText("cmd:ping:"+h), serverEvent{Ev: "pong", Hex: h})
			}
			send(t, "SendText", ic.c.SendText("cmd:close:1000:done", nil))
			ic.expect(t, clientClose(1000, "done"))
			ic.expectEnd(t)
			want = append(want, cmdText("cmd:close:1000:done"))
			srv.expect(t, append(want, serverClosed(name, 1000, "done")...)...)
		})
		t.Run("client closes", func(t *testing.T) {
			wstest.CheckLeaks(t)
			certs.nodeServes(t)
			srv := startNodeServer(t, script)
			// nws never closes TCP after answering a close: CloseTimeout ends it (as in TestInteropClientClose).
			ic := dialInterop(t, srv.wssURL("/bye"), &ClientOptions{TLSConfig: certs.client, CloseTimeout: 500 * time.Millisecond})
			ic.expect(t, `open protocol=""`)
			send(t, "Close", ic.c.Close(4001, "bye"))
			ic.expect(t, clientClose(4001, "bye"))
			ic.expectEnd(t)
			want := []serverEvent{{Ev: "connection", Path: "/bye"}}
			if name == "ws" {
				want = append(want, serverEvent{Ev: "close", Code: 4001, Reason: "bye"})
			} else {
				want = append(want, serverEvent{Ev: "close-frame", Hex: "0fa1627965"},
					serverEvent{Ev: "close", Code: 4001, Reason: "bye"}, serverEvent{Ev: "socket-close"})
			}
			srv.expect(t, want...)
		})
		t.Run("server closes", func(t *testing.T) {
			wstest.CheckLeaks(t)
			certs.nodeServes(t)
			srv := startNodeServer(t, script)
			ic := dialInterop(t, srv.wssURL("/close4002"), &ClientOptions{TLSConfig: certs.client, CloseTimeout: 500 * time.Millisecond})
			ic.expect(t, `open protocol=""`, clientClose(4002, "go away"))
			ic.expectEnd(t)
			if name == "ws" {
				srv.expect(t, serverEvent{Ev: "connection", Path: "/close4002"}, serverEvent{Ev: "close", Code: 4002, Reason: "go away"})
			} else {
				srv.expect(t, append([]serverEvent{{Ev: "connection", Path: "/close4002"}}, serverClosed(name, 4002, "go away")...)...)
			}
		})
	})
}

// dialRecorded connects to url with every event recorded from the start (ClientOptions.Setup),
// and waits for the close event, within wstest.Timeout: a failure never hangs.
func dialRecorded(t *testing.T, url string, opts *ClientOptions) (*recorder, []string, time.Duration) {
	t.Helper()
	r := newRecorder()
	start := time.Now()
	if _, err := Connect(url, r.opts(opts), func(c *Conn) { r.add("open") }); err != nil {
		t.Fatalf("Connect(%q): %v", url, err)
	}
	got := r.wait(t)
	took := time.Since(start)
	time.Sleep(settle) // nothing may follow the close event
	if after := r.snapshot(); len(after) != len(got) {
		t.Fatalf("events after the close event: %q", after[len(got):])
	}
	return r, got, took
}

// expectErrorThen1006 fails unless the events are one error, then close 1006, and returns the
// error.
func expectErrorThen1006(t *testing.T, r *recorder, got []string, took time.Duration) error {
	t.Helper()
	if strings.Join(got, "|") != "error|close 1006 " {
		t.Fatalf("events %q after %v, want an error then close 1006", got, took)
	}
	t.Logf("error %v; close 1006 after %v", r.errs[0], took.Round(time.Millisecond))
	return r.errs[0]
}

// TestInteropTLSClientUntrustedCertificate: Node's secure servers present a certificate from an
// authority our client does not trust. Our client fires OnError with the x509 error, then
// OnClose(1006), and tells the server with a TLS alert, which the server reports as a failed
// TLS handshake: no WebSocket connection ever opens.
func TestInteropTLSClientUntrustedCertificate(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		nodeModules(t)
		newInteropCerts(t).nodeServes(t)
		srv := startNodeServer(t, script)
		_, otherAuthority := wstest.TLSConfigs(t)
		r, got, took := dialRecorded(t, srv.wssURL("/untrusted"), &ClientOptions{TLSConfig: otherAuthority})
		err := expectErrorThen1006(t, r, got, took)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("error %T %v, want an x509.UnknownAuthorityError", err, err)
		}
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) || len(verr.UnverifiedCertificates) == 0 ||
			verr.UnverifiedCertificates[0].Subject.CommonName != "localhost" {
			t.Errorf("error %v: want a *tls.CertificateVerificationError holding the server's certificate", err)
		}
		srv.expect(t, serverEvent{Ev: "tls-error", Message: "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE"})
	})
}

// TestInteropTLSPlainClientOnTLSPort: our ws:// client on a TLS port, Node's and ours, fails at
// once rather than at the end of its handshake timeout. Node's servers cannot read a TLS record in
// the HTTP request and hang up after a TLS alert, which is no HTTP response: close 1006 alone, as
// for any server that hangs up before its 101 (as in TestClientRequestBytes). Ours answers 400
// "Client sent an HTTP request to an HTTPS server", as net/http does: an error with that status,
// then close 1006. The servers go on serving wss://.
func TestInteropTLSPlainClientOnTLSPort(t *testing.T) {
	check := func(t *testing.T, url string, answers bool) {
		t.Helper()
		r, got, took := dialRecorded(t, url, &ClientOptions{HandshakeTimeout: 5 * time.Second})
		if answers {
			err := expectErrorThen1006(t, r, got, took)
			if !errors.Is(err, codec.ErrResponseStatus) { // a status other than 101
				t.Errorf("error %v, want codec.ErrResponseStatus", err)
			}
		} else if strings.Join(got, "|") != "close 1006 " {
			t.Fatalf("events %q after %v, want close 1006", got, took)
		}
		if took > 2*time.Second {
			t.Errorf("the close event came after %v: the client waited for its handshake timeout", took)
		}
		t.Logf("close 1006 after %v", took.Round(time.Millisecond))
	}
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		nodeModules(t)
		certs := newInteropCerts(t)
		certs.nodeServes(t)
		srv := startNodeServer(t, script)
		check(t, srv.url("/plain"), false)
		ic := dialInterop(t, srv.wssURL("/after"), &ClientOptions{TLSConfig: certs.client})
		ic.expect(t, `open protocol=""`)
		send(t, "SendText", ic.c.SendText("cmd:close:1000:done", nil))
		ic.expect(t, clientClose(1000, "done"))
		ic.expectEnd(t)
		srv.expect(t, append([]serverEvent{
			{Ev: "tls-error", Message: "ERR_SSL_HTTP_REQUEST"},
			{Ev: "connection", Path: "/after"}, cmdText("cmd:close:1000:done"),
		}, serverClosed(name, 1000, "done")...)...)
	})
	t.Run("wsloop", func(t *testing.T) {
		wstest.CheckLeaks(t)
		_, addr, clientCfg := tlsEchoServer(t)
		check(t, "ws://"+addr+"/plain", true)
		expectEcho(t, "wss://"+addr+"/after", clientCfg)
	})
}

// expectEcho connects to an echo server at url, sends a text, expects it back and closes.
func expectEcho(t *testing.T, url string, cfg *tls.Config) {
	t.Helper()
	r := newRecorder()
	_, err := Connect(url, r.opts(&ClientOptions{TLSConfig: cfg}), func(c *Conn) {
		r.add("open")
		c.OnText(func(c *Conn, s string) { r.add("text " + s); c.Close(1000, "done") })
		c.SendText("still serving", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.wait(t), "|"); got != "open|text still serving|close 1000 done" {
		t.Fatalf("events %q", got)
	}
}

// TestInteropTLSClientOnPlainPort: our wss:// client on a plain port, Node's and ours. Node's ws
// (an http.Server) and our server answer the ClientHello at once with 400 Bad Request (its first
// byte cannot begin a method), which the client reads as a TLS record it cannot parse: OnError
// with a tls.RecordHeaderError, then close 1006, at once. nws waits for the end of an HTTP head
// that never comes (a ClientHello has no empty line), so the client's handshake timeout ends the
// TLS handshake: OnError with context.DeadlineExceeded, then close 1006, at that timeout. The
// servers go on serving.
func TestInteropTLSClientOnPlainPort(t *testing.T) {
	const timeout = time.Second
	check := func(t *testing.T, url string, cfg *tls.Config, answers bool) {
		t.Helper()
		r, got, took := dialRecorded(t, url, &ClientOptions{TLSConfig: cfg, HandshakeTimeout: timeout})
		err := expectErrorThen1006(t, r, got, took)
		if answers {
			var rh tls.RecordHeaderError
			if !errors.As(err, &rh) || !strings.HasPrefix(string(rh.RecordHeader[:]), "HTTP/") {
				t.Errorf("error %T %v, want a tls.RecordHeaderError on an HTTP response", err, err)
			}
			if took > timeout/2 {
				t.Errorf("the close event came after %v, not at once", took)
			}
			return
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %T %v, want context.DeadlineExceeded", err, err)
		}
		if took < timeout || took > timeout+time.Second {
			t.Errorf("the close event came after %v, want the handshake timeout, %v", took, timeout)
		}
	}
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		nodeModules(t)
		srv := startNodeServer(t, script)
		_, clientCfg := wstest.TLSConfigs(t)
		check(t, srv.wssURL("/tls"), clientCfg, name == "ws")
		ic := dialInterop(t, srv.url("/after"), nil)
		ic.expect(t, `open protocol=""`)
		send(t, "SendText", ic.c.SendText("cmd:close:1000:done", nil))
		ic.expect(t, clientClose(1000, "done"))
		ic.expectEnd(t)
		// The failed connection never got to a WebSocket: the server reports nothing of it.
		want := []serverEvent{{Ev: "connection", Path: "/after"}, cmdText("cmd:close:1000:done")}
		srv.expect(t, append(want, serverClosed(name, 1000, "done")...)...)
	})
	t.Run("wsloop", func(t *testing.T) {
		wstest.CheckLeaks(t)
		_, clientCfg := wstest.TLSConfigs(t)
		_, addr := echoServer(t)
		check(t, "wss://"+addr+"/tls", clientCfg, true)
		expectEcho(t, "ws://"+addr+"/after", nil)
	})
}
