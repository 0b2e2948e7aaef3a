package api

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/internal/wstest"
)

// testProxy is a real HTTP CONNECT proxy on loopback: it reads each CONNECT request, records it,
// checks Proxy-Authorization when auth is set (407 otherwise), dials the target (through resolve,
// which maps names only the proxy knows) and splices the tunnel both ways.
type testProxy struct {
	addr    string
	auth    string            // the Proxy-Authorization required; "" for none
	early   string            // when set, sent in the same write as the 200 answer; then no splice
	silent  bool              // read the CONNECT and never answer
	resolve map[string]string // CONNECT target → address dialed instead

	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	seen  []string // "CONNECT <target> host=<Host> auth=<Proxy-Authorization>", one per request
	conns map[net.Conn]struct{}
}

// start listens on loopback and serves until the test ends.
func (p *testProxy) start(t *testing.T) *testProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.ln, p.addr, p.conns = ln, ln.Addr().String(), map[net.Conn]struct{}{}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if p.track(c) {
				p.wg.Add(1)
				go p.serve(c)
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// track records c so that the end of the test closes it; false once the proxy is closed.
func (p *testProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *testProxy) serve(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	auth := req.Header.Get("Proxy-Authorization")
	p.mu.Lock()
	p.seen = append(p.seen, req.Method+" "+req.RequestURI+" host="+req.Host+" auth="+auth)
	p.mu.Unlock()
	switch {
	case p.silent:
		io.Copy(io.Discard, br)
		return
	case req.Method != http.MethodConnect:
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	case p.auth != "" && auth != p.auth:
		io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
		return
	}
	addr := req.RequestURI
	if a, ok := p.resolve[addr]; ok {
		addr = a
	}
	up, err := net.Dial("tcp", addr)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if !p.track(up) {
		return
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"+p.early); err != nil || p.early != "" {
		io.Copy(io.Discard, br)
		return
	}
	done := make(chan struct{})
	go func() {
		copyPlain(up, br)
		up.Close()
		close(done)
	}()
	copyPlain(c, up)
	c.Close()
	<-done
}

// copyPlain copies src to dst with read and write calls only: io.Copy between two TCP connections
// would splice through pipes that the runtime keeps after the test, which the leak check counts.
func copyPlain(dst io.Writer, src io.Reader) {
	io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{src})
}

// requests returns the requests the proxy received.
func (p *testProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// via returns a Proxy option that sends every connection to p, with user info u (nil for none).
func (p *testProxy) via(u *url.Userinfo) func(*http.Request) (*url.URL, error) {
	return http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr, User: u})
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// echoThrough connects to url with opts, sends text, and returns the echo, failing on any error.
func echoThrough(t *testing.T, url string, opts *ClientOptions, text string) *Conn {
	t.Helper()
	r := newRecorder()
	got := make(chan string, 1)
	c, err := Connect(url, r.opts(opts), func(c *Conn) {
		c.OnText(func(_ *Conn, s string) { got <- s })
		c.SendText(text, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != text {
			t.Fatalf("echo %q, want %q", s, text)
		}
	case <-r.closed:
		t.Fatalf("closed before the echo: %q %v", r.snapshot(), r.errs)
	case <-time.After(wstest.Timeout):
		t.Fatal("no echo")
	}
	c.Close(1000, "done")
	if ev := r.wait(t); strings.Join(ev, "|") != "close 1000 done" {
		t.Fatalf("events %q", ev)
	}
	return c
}

func TestProxyWSEchoWithBasicAuth(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	p := (&testProxy{auth: basic("user", "pa ss:wd")}).start(t)
	c := echoThrough(t, "ws://"+addr+"/through?q=1", &ClientOptions{Proxy: p.via(url.UserPassword("user", "pa ss:wd"))}, "via proxy")
	want := "CONNECT " + addr + " host=" + addr + " auth=" + basic("user", "pa ss:wd")
	if got := p.requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("proxy saw %q, want one %q", got, want)
	}
	if c.RemoteAddr().String() != p.addr || c.Path() != "/through?q=1" {
		t.Fatalf("remote %v path %q", c.RemoteAddr(), c.Path())
	}
}

func TestProxyWSSEchoNamesTheTargetToTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, clientCfg := tlsEchoServer(t)
	_, port, _ := net.SplitHostPort(addr)
	target := "localhost:" + port // resolved by the proxy only
	p := (&testProxy{resolve: map[string]string{target: addr}}).start(t)
	var serverName string
	cfg := clientCfg.Clone()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error { serverName = cs.ServerName; return nil }
	c := echoThrough(t, "wss://"+target+"/secure", &ClientOptions{TLSConfig: cfg, Proxy: p.via(nil)}, "tls via proxy")
	if got := p.requests(); len(got) != 1 || got[0] != "CONNECT "+target+" host="+target+" auth=" {
		t.Fatalf("proxy saw %q", got)
	}
	if _, ok := c.TLS(); !ok || serverName != "localhost" {
		t.Fatalf("TLS %v, ServerName %q, want the target's", ok, serverName)
	}
}

// failure connects to url with opts and returns the error event, checking that close 1006 follows.
func failure(t *testing.T, url string, opts *ClientOptions) error {
	t.Helper()
	r := newRecorder()
	if _, err := Connect(url, r.opts(opts), func(*Conn) { r.add("connect") }); err != nil {
		t.Fatal(err)
	}
	if ev := r.wait(t); strings.Join(ev, "|") != "error|close 1006 " || len(r.errs) != 1 {
		t.Fatalf("events %q errors %v", ev, r.errs)
	}
	return r.errs[0]
}

func TestProxyRefusalCarriesTheStatus(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	p := (&testProxy{auth: basic("user", "right")}).start(t)
	err := failure(t, "ws://"+addr, &ClientOptions{Proxy: p.via(url.UserPassword("user", "wrong"))})
	var pe *ProxyError
	if !errors.As(err, &pe) || pe.StatusCode != 407 || pe.Status != "407 Proxy Authentication Required" ||
		pe.Proxy != p.addr || pe.Header.Get("Proxy-Authenticate") != `Basic realm="test"` {
		t.Fatalf("error %v (%#v)", err, pe)
	}
	if want := "websocket: proxy " + p.addr + " refused CONNECT: 407 Proxy Authentication Required"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if got := p.requests(); len(got) != 1 || !strings.HasSuffix(got[0], "auth="+basic("user", "wrong")) {
		t.Fatalf("proxy saw %q", got)
	}
}

// A proxy's bytes behind its 200 belong to the tunnel: the engine reads them as the server's
// answer on ws://, and TLS reads them as the first record on wss://.
func TestProxyBytesBehindTheAnswerAreKept(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t) // dialed by the proxy, which then splices nothing
	p := (&testProxy{early: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: not-the-hash\r\n\r\n"}).start(t)
	err := failure(t, "ws://"+addr+"/", &ClientOptions{Proxy: p.via(nil)})
	if !errors.Is(err, codec.ErrResponseHashMismatch) {
		t.Fatalf("ws:// error %q, want the 101 that came behind the proxy's answer to be read", err)
	}
	err = failure(t, "wss://"+addr+"/", &ClientOptions{Proxy: p.via(nil)})
	if !strings.Contains(err.Error(), "first record does not look like a TLS handshake") {
		t.Fatalf("wss:// error %q, want TLS to have read the bytes behind the proxy's answer", err)
	}
	if got := p.requests(); len(got) != 2 {
		t.Fatalf("proxy saw %q", got)
	}
}

func TestProxyUnsupportedSchemesAndChoiceErrors(t *testing.T) {
	wstest.CheckLeaks(t)
	for _, scheme := range []string{"https", "socks5"} {
		err := failure(t, "ws://127.0.0.1:1/", &ClientOptions{Proxy: http.ProxyURL(&url.URL{Scheme: scheme, Host: "127.0.0.1:1"})})
		if want := `websocket: proxy scheme "` + scheme + `" is not supported (only http://)`; err.Error() != want {
			t.Fatalf("error %q, want %q", err, want)
		}
	}
	bad := errors.New("no proxy today")
	err := failure(t, "ws://127.0.0.1:1/", &ClientOptions{Proxy: func(*http.Request) (*url.URL, error) { return nil, bad }})
	if err != bad {
		t.Fatalf("error %v, want the Proxy function's", err)
	}
}

func TestProxySilentIsBoundedByTheHandshakeTimeoutAndContext(t *testing.T) {
	wstest.CheckLeaks(t)
	p := (&testProxy{silent: true}).start(t)
	start := time.Now()
	err := failure(t, "ws://127.0.0.1:1/", &ClientOptions{Proxy: p.via(nil), HandshakeTimeout: 200 * time.Millisecond})
	if took := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || took < 200*time.Millisecond || took > 2*time.Second {
		t.Fatalf("error %v after %v", err, took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = failure(t, "ws://127.0.0.1:1/", &ClientOptions{Proxy: p.via(nil), Context: ctx})
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Fatalf("error %v after %v", err, took)
	}
	if got := p.requests(); len(got) != 2 || got[0] != "CONNECT 127.0.0.1:1 host=127.0.0.1:1 auth=" {
		t.Fatalf("proxy saw %q", got)
	}
}

// proxyChildURL names the server the child process of TestProxyFromEnvironment connects to.
const proxyChildURL = "WSLOOP_PROXY_TEST_URL"

// http.ProxyFromEnvironment reads the environment once per process, so the test runs it in a
// child process whose environment names the proxy. The target's name is known only to the proxy,
// and is not loopback, which ProxyFromEnvironment never proxies.
func TestProxyFromEnvironment(t *testing.T) {
	if u := os.Getenv(proxyChildURL); u != "" {
		echoThrough(t, u, &ClientOptions{Proxy: http.ProxyFromEnvironment}, "from the environment")
		return
	}
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	_, port, _ := net.SplitHostPort(addr)
	target := "echo.wsloop.test:" + port
	p := (&testProxy{auth: basic("env", "secret"), resolve: map[string]string{target: addr}}).start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*wstest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.count=1", "-test.v")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HTTP_PROXY=http://env:secret@"+p.addr, "HTTPS_PROXY=http://127.0.0.1:1", proxyChildURL+"=ws://"+target+"/env")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestProxyFromEnvironment") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "CONNECT " + target + " host=" + target + " auth=" + basic("env", "secret")
	if got := p.requests(); len(got) != 1 || got[0] != want {
		t.Fatalf("proxy saw %q, want one %q", got, want)
	}
}

// The tunnel of a ws:// connection is the raw *net.TCPConn, which poller.Open enrolls on a loop;
// bytes behind the proxy's answer go to the engine (ws://) or are read first (wss://).
func TestProxyTunnelIsTheRawTCPConn(t *testing.T) {
	wstest.CheckLeaks(t)
	p := (&testProxy{early: "EXTRA"}).start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, secure := range []bool{false, true} {
		c := &Conn{}
		c.cold.Store(&coldState{})
		c.ec.Init(&engine.Config{Role: codec.ClientRole}, c.events())
		host, port := "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
		nc, err := c.dialServer(context.Background(), target{secure: secure, host: host, port: port, path: "/"}, ClientOptions{Proxy: p.via(nil)})
		if err != nil {
			t.Fatal(err)
		}
		_, raw := nc.(*net.TCPConn)
		if raw == secure {
			t.Fatalf("secure %v: conn %T", secure, nc)
		}
		if secure {
			b := make([]byte, 8)
			if n, err := nc.Read(b); err != nil || string(b[:n]) != "EXTRA" {
				t.Fatalf("first read %q %v", b[:n], err)
			}
		}
		nc.Close()
		c.ec.Abandon(nil)
	}
}
