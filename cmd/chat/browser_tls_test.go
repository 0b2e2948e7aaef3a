package main

// The chat over TLS, as a user runs it: the command in a process of its own with -tls-cert and
// -tls-key (certificates made at test time, wstest.TLSConfigs), the page over https:// and the
// chat over wss:// on one port, from Go clients and from headless Chromium.

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/chatpage"
	"github.com/wsloop/wsloop/internal/wstest"
)

// TestMain runs the command itself when the test binary is started as the chat program.
func TestMain(m *testing.M) {
	if os.Getenv("WSLOOP_RUN_CHAT") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startChatCommand runs the chat command with args on a free loopback port in a process of its
// own, and returns the URL it printed and stop, which sends SIGTERM and fails the test unless the
// process exits 0 within wstest.Timeout. stop runs when the test ends, if the test did not.
func startChatCommand(t *testing.T, args ...string) (url string, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "WSLOOP_RUN_CHAT=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
		io.Copy(io.Discard, out)
		exited <- cmd.Wait()
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			switch inTime, err := wstest.AwaitExit(cmd, exited, wstest.Timeout); {
			case !inTime:
				t.Errorf("chat did not exit within %v of SIGTERM", wstest.Timeout)
			case err != nil:
				t.Errorf("chat exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
			}
		})
	}
	t.Cleanup(stop)
	select {
	case s := <-line:
		url, ok := strings.CutPrefix(strings.TrimSpace(s), "chat: open ")
		if !ok {
			t.Fatalf("ready line %q; stderr:\n%s", s, stderr.String())
		}
		return url, stop
	case <-time.After(wstest.Timeout):
		t.Fatal("chat printed no URL")
	}
	return "", stop
}

// tlsChat runs the chat command with a test certificate and returns its https:// URL, its stop
// function (startChatCommand) and a client configuration that trusts the certificate.
func tlsChat(t *testing.T) (url string, stop func(), serverCfg, clientCfg *tls.Config) {
	t.Helper()
	serverCfg, clientCfg = wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
	url, stop = startChatCommand(t, "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.HasSuffix(url, "/") {
		t.Fatalf("the command printed %q, want https://127.0.0.1:PORT/", url)
	}
	return url, stop, serverCfg, clientCfg
}

// chatClient is a wss:// chat client whose texts and close arrive on channels.
type chatClient struct {
	c     *ws.Conn
	texts chan string
	close chan string
}

func dialChat(t *testing.T, url, nick string, cfg *tls.Config) *chatClient {
	t.Helper()
	cc := &chatClient{texts: make(chan string, 16), close: make(chan string, 1)}
	c, err := ws.Connect(url, &ws.ClientOptions{TLSConfig: cfg, Setup: func(c *ws.Conn) {
		c.OnText(func(_ *ws.Conn, s string) { cc.texts <- s })
		c.OnError(func(_ *ws.Conn, err error) { cc.texts <- "error " + err.Error() })
		c.OnClose(func(_ *ws.Conn, code int, reason string) { cc.close <- fmt.Sprintf("%d %s", code, reason) })
	}}, func(c *ws.Conn) { c.SendText(nick, nil) })
	if err != nil {
		t.Fatal(err)
	}
	cc.c = c
	return cc
}

func (cc *chatClient) expect(t *testing.T, texts ...string) {
	t.Helper()
	for _, want := range texts {
		select {
		case got := <-cc.texts:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(wstest.Timeout):
			t.Fatalf("no text, want %q", want)
		}
	}
}

func (cc *chatClient) expectClose(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-cc.close:
		if got != want {
			t.Fatalf("close %q, want %q", got, want)
		}
	case <-time.After(wstest.Timeout):
		t.Fatalf("no close event, want %q", want)
	}
}

// TestChatTLSFlags: with -tls-cert and -tls-key the command serves the page over https:// and the
// chat over wss:// on its one port, and a plain http:// request there gets 400; two wss://
// clients chat; SIGTERM closes them with 1001 and the command exits 0. A key without its
// certificate is an error at start.
func TestChatTLSFlags(t *testing.T) {
	wstest.CheckLeaks(t)
	url, stop, _, clientCfg := tlsChat(t)
	client := &http.Client{Timeout: wstest.Timeout, Transport: &http.Transport{TLSClientConfig: clientCfg, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	resp, body := wstest.Get(t, client, url)
	if resp.StatusCode != http.StatusOK || string(body) != string(chatpage.Page) || resp.TLS == nil {
		t.Fatalf("GET %s = %d, %d bytes (the page has %d), TLS %v", url, resp.StatusCode, len(body), len(chatpage.Page), resp.TLS != nil)
	}
	// Plain HTTP on the TLS port gets net/http's answer to that mistake.
	plainURL := "http://" + strings.TrimPrefix(url, "https://")
	resp, body = wstest.Get(t, client, plainURL)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTP request to an HTTPS server") {
		t.Fatalf("GET %s = %d %q, want 400 naming the mistake", plainURL, resp.StatusCode, body)
	}

	wss := "wss://" + strings.TrimPrefix(url, "https://")
	alice := dialChat(t, wss, "alice", clientCfg)
	alice.expect(t, "alice entered")
	bob := dialChat(t, wss, "bob", clientCfg)
	bob.expect(t, "bob entered")
	alice.expect(t, "bob entered")
	alice.c.SendText("hello over wss", nil)
	alice.expect(t, "[alice] hello over wss")
	bob.expect(t, "[alice] hello over wss")
	st, ok := alice.c.TLS()
	if !ok || st.Version != tls.VersionTLS13 || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "localhost" {
		t.Errorf("alice's TLS() = %v, %s, %d peer certificates", ok, tls.VersionName(st.Version), len(st.PeerCertificates))
	}
	bob.c.Close(1000, "bye")
	bob.expectClose(t, "1000 bye")
	alice.expect(t, "bob left")

	// SIGTERM closes alice with 1001; she echoes the close, and the command exits 0.
	stop()
	alice.expectClose(t, "1001 server shutting down")

	t.Run("key without certificate", func(t *testing.T) {
		wstest.CheckLeaks(t)
		serverCfg, _ := wstest.TLSConfigs(t)
		_, keyFile := wstest.WriteCertFiles(t, serverCfg)
		cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-tls-key", keyFile)
		cmd.Env = append(os.Environ(), "WSLOOP_RUN_CHAT=1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "chat: ") {
			t.Fatalf("exit %v, output %q; want exit 1 with a chat: error", err, out)
		}
	})
}

// TestChatInChromiumOverTLS is TestChatInChromium over TLS: the command serves the page at an
// https:// URL with a test certificate, which Chromium accepts by its public key
// (--ignore-certificate-errors-spki-list, for that one key only, not every certificate error); the
// page connects with wss://, and the two browser contexts see each other's messages. alice talks
// TLS with the command itself; bob goes through a relay holding the same certificate, which
// terminates his TLS and opens its own to the command, to see his frames in the clear.
func TestChatInChromiumOverTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	url, _, serverCfg, clientCfg := tlsChat(t)
	hostPort := strings.TrimSuffix(strings.TrimPrefix(url, "https://"), "/")
	w := wstest.NewTLSWireWatch(t, hostPort, serverCfg, clientCfg)
	leaf, err := x509.ParseCertificate(serverCfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	got := runChatBrowser(t, url, "https://"+w.Addr+"/", "CHAT_CERT_SPKI="+base64.StdEncoding.EncodeToString(spki[:]))
	expectChatPages(t, got)
	if got.PageProtocol != "https:" {
		t.Errorf("the page loaded over %q, want https:", got.PageProtocol)
	}
	expectChatDeflate(t, got, w, "wss://"+hostPort+"/", "wss://"+w.Addr+"/")
}
