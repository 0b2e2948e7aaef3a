package main

// Plain and TLS side by side, measured the same way (TLS.md has the figures):
//
//   - TestIdleConnectionMemory: the echo server runs in this process; a helper process (this
//     test binary again, running TestIdleClientsHelper) opens N client connections to it, each
//     echoing one message and then idling. The server's heap and stack in use (after a GC) and
//     its goroutines are read before and after, and divided by N; the helper reports the same for
//     its client connections.
//   - BenchmarkEchoRoundTrip: 100 clients in this process (net.Conn, or tls.Conn over it) each
//     send a binary message and wait for its echo, in a loop; messages per second and MB/s.
//
//	go test -run 'TestIdleConnectionMemory' -v -count=1 ./cmd/echo            # N = 2000
//	WSLOOP_IDLE_CONNS=5000 go test -run 'TestIdleConnectionMemory' -v -count=1 ./cmd/echo
//	go test -run '^$' -bench EchoRoundTrip -benchtime 3s -count 3 ./cmd/echo
//
// Under the race detector (make test) TLS handshakes are several times slower and the figures
// are off, so N is 300 there; the test checks only what does not depend on it either way: every
// echo arrives, a TLS connection has two goroutines and a plain one none.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/echoserve"
	"github.com/wsloop/wsloop/internal/wstest"
)

// memSnapshot is a process's memory in use, after a GC.
type memSnapshot struct {
	Heap, Stack int64
	Goroutines  int
}

func takeMem() memSnapshot {
	runtime.GC()
	runtime.GC() // the second GC frees what the first one's finalizers released
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSnapshot{Heap: int64(m.HeapInuse), Stack: int64(m.StackInuse), Goroutines: runtime.NumGoroutine()}
}

// perConn is the difference between two snapshots, per connection.
type perConn struct {
	HeapBytes, StackBytes, Bytes float64
	Goroutines                   float64
}

func diffPerConn(before, after memSnapshot, n int) perConn {
	p := perConn{
		HeapBytes:  float64(after.Heap-before.Heap) / float64(n),
		StackBytes: float64(after.Stack-before.Stack) / float64(n),
		Goroutines: float64(after.Goroutines-before.Goroutines) / float64(n),
	}
	p.Bytes = p.HeapBytes + p.StackBytes
	return p
}

func (p perConn) String() string {
	return fmt.Sprintf("%6.0f B (heap %6.0f + stack %6.0f), %.2f goroutines", p.Bytes, p.HeapBytes, p.StackBytes, p.Goroutines)
}

// The helper process's report, one JSON line on its stdout.
type idleReport struct {
	Ready   bool
	Clients perConn
	Failed  int
}

const idleReportPrefix = "idle-clients: "

// TestIdleConnectionMemory measures the memory and goroutines each idle connection costs the
// server, plain and TLS, with the same N and the same clients (WSLOOP_IDLE_CONNS overrides N).
func TestIdleConnectionMemory(t *testing.T) {
	wstest.CheckLeaks(t)
	n := 2000
	if raceDetector() {
		n = 300
	}
	if s := os.Getenv("WSLOOP_IDLE_CONNS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("WSLOOP_IDLE_CONNS=%q", s)
		}
	}
	serverCfg, _ := wstest.TLSConfigs(t)
	certFile, _ := wstest.WriteCertFiles(t, serverCfg)
	results := map[string]perConn{}
	for _, mode := range []string{"plain", "tls"} {
		t.Run(mode, func(t *testing.T) {
			var cfg *tls.Config
			scheme, caFile := "ws", ""
			if mode == "tls" {
				cfg, scheme, caFile = serverCfg, "wss", certFile
			}
			srv := newEchoServer(0, cfg, false)
			if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
				t.Fatal(err)
			}
			// The first connection of a server warms up what every later one shares (loops,
			// buffer pools, the TLS session ticket keys): open and close one before measuring.
			expectOneEcho(t, scheme+"://"+srv.Addr().String()+"/echo", caFile)
			before := takeMem()

			start := time.Now()
			report, finish := startIdleClients(t, scheme+"://"+srv.Addr().String()+"/echo", n, caFile)
			opened := time.Since(start)
			after := takeMem()
			server := diffPerConn(before, after, n)
			if got := echoserve.Connections(srv); got != n || report.Failed != 0 {
				t.Errorf("%d connections open, %d failed; want %d open", got, report.Failed, n)
			}
			finish()
			if err := shutdownWithin(srv, 10*time.Second); err != nil {
				t.Error(err)
			}
			t.Logf("%s: %d idle connections opened and echoed in %v", mode, n, opened.Round(time.Millisecond))
			t.Logf("%s: server per connection: %v", mode, server)
			t.Logf("%s: client per connection: %v", mode, report.Clients)
			results[mode] = server

			// What does not depend on the race detector: the goroutines a connection costs.
			want := 0.0
			if mode == "tls" {
				want = 1 // the stream transport: a reader per connection (wakes are short-lived)
			}
			for side, g := range map[string]float64{"server": server.Goroutines, "client": report.Clients.Goroutines} {
				if g < want-0.05 || g > want+0.05 {
					t.Errorf("%s: %.2f goroutines per %s connection, want %v", mode, g, side, want)
				}
			}
		})
	}
	if p, s := results["plain"], results["tls"]; p.Bytes > 0 {
		t.Logf("TLS/plain on the server: %.1fx the memory per idle connection", s.Bytes/p.Bytes)
	}
}

// raceDetector reports whether this binary was built with -race.
func raceDetector() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// expectOneEcho opens one connection to url (trusting certFile if not empty), echoes a message
// and closes it.
func expectOneEcho(t *testing.T, url string, certFile string) {
	t.Helper()
	opts := &ws.ClientOptions{}
	if certFile != "" {
		opts.TLSConfig = trustFile(t, certFile)
	}
	got := make(chan string, 2)
	c, err := ws.Connect(url, opts, func(c *ws.Conn) {
		c.OnText(func(c *ws.Conn, s string) { got <- s; c.Close(1000, "") })
		c.SendText("warm up", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	c.OnClose(func(*ws.Conn, int, string) { close(closed) })
	c.OnError(func(_ *ws.Conn, err error) { got <- "error " + err.Error() })
	select {
	case s := <-got:
		if s != "warm up" {
			t.Fatalf("warm-up echo %q", s)
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("no warm-up echo")
	}
	select {
	case <-closed:
	case <-time.After(wstest.Timeout):
		t.Fatal("the warm-up connection did not close")
	}
}

// trustFile is a client configuration whose only root is the certificate in certFile (Go accepts
// a server certificate found among the roots as its own anchor).
func trustFile(t testing.TB, certFile string) *tls.Config {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("no certificate in %s", certFile)
	}
	return &tls.Config{RootCAs: roots}
}

// shutdownWithin shuts srv down, its connections closed, within d.
func shutdownWithin(srv *ws.Server, d time.Duration) error {
	done := make(chan struct{})
	srv.Close(func(*ws.Server) { close(done) })
	for c := range srv.Connections() {
		c.Close(1001, "")
	}
	select {
	case <-done:
		return nil
	case <-time.After(d):
		return fmt.Errorf("%d connections still open %v after Close", echoserve.Connections(srv), d)
	}
}

// startIdleClients runs the helper process with n connections to url and waits for its report.
// finish ends the helper (its stdin closes: it closes every connection, waits for their close
// events and exits) and waits for it.
func startIdleClients(t *testing.T, url string, n int, caFile string) (idleReport, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WSLOOP_IDLE_CLIENTS="+url+" "+strconv.Itoa(n)+" "+caFile)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var output strings.Builder
	reports := make(chan idleReport, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if s, ok := strings.CutPrefix(line, idleReportPrefix); ok {
				var r idleReport
				if json.Unmarshal([]byte(s), &r) == nil {
					reports <- r
				}
				continue
			}
			output.WriteString(line + "\n")
		}
		exited <- cmd.Wait()
	}()
	finish := func() {
		once.Do(func() {
			stdin.Close()
			switch inTime, err := wstest.AwaitExit(cmd, exited, 30*time.Second); {
			case !inTime:
				t.Errorf("idle clients did not end within 30 s of the end of their stdin")
			case err != nil:
				t.Errorf("idle clients: %v\n%s%s", err, output.String(), stderr.String())
			}
		})
	}
	t.Cleanup(finish)
	select {
	case r := <-reports:
		return r, finish
	case err := <-exited:
		exited <- err
		t.Fatalf("idle clients ended before reporting: %v\n%s%s", err, output.String(), stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("idle clients did not report within 60 s\n%s", stderr.String())
	}
	return idleReport{}, finish
}

// TestIdleClientsHelper is the helper process of TestIdleConnectionMemory, and skips otherwise.
// WSLOOP_IDLE_CLIENTS is "URL N [CERTFILE]": it opens N connections to URL (trusting CERTFILE
// for wss://), 100 handshakes at a time, each echoing one text; then it prints its report and
// keeps them open until its stdin ends; then it closes them all and waits for their close events.
func TestIdleClientsHelper(t *testing.T) {
	spec := os.Getenv("WSLOOP_IDLE_CLIENTS")
	if spec == "" {
		t.Skip("the helper process of TestIdleConnectionMemory")
	}
	wstest.CheckLeaks(t)
	f := strings.Fields(spec)
	url := f[0]
	n, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	opts := &ws.ClientOptions{}
	if len(f) > 2 {
		opts.TLSConfig = trustFile(t, f[2])
	}
	before := takeMem()
	var failed, closed atomic.Int64
	allClosed := make(chan struct{})
	conns := make([]*ws.Conn, n)
	sem := make(chan struct{}, 100) // handshakes in flight
	var echoed sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		echoed.Add(1)
		msg := "hello " + strconv.Itoa(i)
		var once sync.Once
		done := func(ok bool) {
			once.Do(func() {
				if !ok {
					failed.Add(1)
				}
				<-sem
				echoed.Done()
			})
		}
		o := *opts
		o.Setup = func(c *ws.Conn) {
			c.OnError(func(*ws.Conn, error) { done(false) })
			c.OnClose(func(*ws.Conn, int, string) {
				done(false)
				if closed.Add(1) == int64(n) {
					close(allClosed)
				}
			})
		}
		c, err := ws.Connect(url, &o, func(c *ws.Conn) {
			c.OnText(func(_ *ws.Conn, s string) { done(s == msg) })
			c.SendText(msg, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	echoed.Wait()
	after := takeMem()
	r := idleReport{Ready: true, Clients: diffPerConn(before, after, n), Failed: int(failed.Load())}
	b, _ := json.Marshal(r)
	fmt.Println(idleReportPrefix + string(b))
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close(1000, "")
	}
	select {
	case <-allClosed:
	case <-time.After(20 * time.Second):
		t.Fatalf("%d of %d connections closed", closed.Load(), n)
	}
}

// BenchmarkEchoRoundTrip: 100 clients, each sending a binary message of the given size to the
// echo server and waiting for its echo, in a loop; plain and TLS (TLS 1.3, ECDSA P-256,
// AES-128-GCM on this machine) side by side. Clients and server share this process and its cores.
func BenchmarkEchoRoundTrip(b *testing.B) {
	serverCfg, _ := wstest.TLSConfigs(b)
	certFile, _ := wstest.WriteCertFiles(b, serverCfg)
	clientCfg := trustFile(b, certFile)
	for _, size := range []int{64, 16 << 10} {
		for _, mode := range []string{"plain", "tls"} {
			b.Run(fmt.Sprintf("%s/%dB", mode, size), func(b *testing.B) {
				var cfg *tls.Config
				if mode == "tls" {
					cfg = serverCfg
				}
				benchEcho(b, cfg, clientCfg, size)
			})
		}
	}
}

func benchEcho(b *testing.B, serverCfg, clientCfg *tls.Config, size int) {
	wstest.CheckLeaks(b)
	const clients = 100
	srv := newEchoServer(0, serverCfg, false)
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		b.Fatal(err)
	}
	defer shutdownWithin(srv, 10*time.Second)
	conns := make([]net.Conn, clients)
	for i := range conns {
		var nc net.Conn
		var err error
		if serverCfg != nil {
			nc, err = tls.Dial("tcp", srv.Addr().String(), clientCfg)
		} else {
			nc, err = net.Dial("tcp", srv.Addr().String())
		}
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte(wstest.Request("/echo")))
		if _, err := io.ReadFull(nc, make([]byte, 129)); err != nil {
			b.Fatal(err)
		}
		conns[i] = nc
	}
	frame := wstest.FrameBytes(true, codec.OpBinary, make([]byte, size))
	echoLen := len(codec.AppendFrame(nil, true, codec.OpBinary, make([]byte, size), codec.ServerRole, [4]byte{}))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := max(b.N/clients, 1)
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			echo := make([]byte, echoLen)
			for range per {
				if _, err := nc.Write(frame); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(nc, echo); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*clients)/time.Since(start).Seconds(), "msgs/s")
}
