package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// nodeModules returns the npm folder holding ws@8 and the node binary, or fails the test saying
// what to install (wstest.Node).
func nodeModules(t *testing.T) (mods, node string) {
	t.Helper()
	return wstest.Node(t, "ws")
}

// startNodeEcho starts testdata/ws_echo_server.js (permessage-deflate enabled; over TLS with
// certificate and key files in args) and returns its address. The script ends with the test.
func startNodeEcho(t *testing.T, args ...string) string {
	t.Helper()
	mods, node := nodeModules(t)
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", "ws_echo_server.js"), mods}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the script exits when its standard input closes
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		wstest.AwaitExit(cmd, exited, 5*time.Second)
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("ws_echo_server.js said %q", line)
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("ws_echo_server.js did not start")
		return ""
	}
}

// TestNodeWSServer runs the server catalogue against Node's ws echo server with permessage-deflate:
// every case OK, or what Autobahn itself reports for ws (6.4.x NON-STRICT: ws validates UTF-8 per
// message, not fail fast), as testdata/expected-ws-server.json records; sections 12 and 13 all
// OK. Then sections 12 and 13 over wss://, every case OK.
func TestNodeWSServer(t *testing.T) {
	addr := startNodeEcho(t)
	rep := runServer(t, "ws://"+addr+"/", "", defaultConfig())
	checkExpected(t, rep, "expected-ws-server.json", "ws@8 (Node)")
	for _, f := range failedCases(rep) {
		t.Errorf("Node's ws server FAILED %s", f)
	}
	checkDeflateUsed(t, rep, 87)

	t.Run("wss-deflate", func(t *testing.T) {
		serverCfg, _ := wstest.TLSConfigs(t)
		certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
		addr := startNodeEcho(t, certFile, keyFile)
		tg, err := parseTarget("wss://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		if tg.roots, err = loadRoots(certFile); err != nil {
			t.Fatal(err)
		}
		cfg := defaultConfig()
		cases, err := selectCases(modeCases("server", cfg), "12,13", "")
		if err != nil {
			t.Fatal(err)
		}
		rep := newReport("server", "wss://"+addr+"/", "ws@8 (Node)", false, time.Now(), runServerSuite(tg, cfg, cases, nil))
		checkAllOK(t, rep, 87)
		checkDeflateUsed(t, rep, 87)
	})
}

// TestNodeWSClient runs the client catalogue against Node's ws client, driven by
// testdata/ws_testee_client.js through the testee protocol; then sections 12 and 13 over wss://.
func TestNodeWSClient(t *testing.T) {
	cfg := defaultConfig()
	rep := runNodeTestee(t, modeCases("client", cfg), nil)
	checkExpected(t, rep, "expected-ws-client.json", "ws@8 (Node)")
	for _, f := range failedCases(rep) {
		t.Errorf("Node's ws client FAILED %s", f)
	}
	checkDeflateUsed(t, rep, 87)

	t.Run("wss-deflate", func(t *testing.T) {
		serverCfg, _ := wstest.TLSConfigs(t)
		cases, err := selectCases(modeCases("client", cfg), "12,13", "")
		if err != nil {
			t.Fatal(err)
		}
		rep := runNodeTestee(t, cases, serverCfg)
		checkAllOK(t, rep, 87)
		checkDeflateUsed(t, rep, 87)
	})
}

// runNodeTestee serves cases (over TLS with tlsConfig) to ws_testee_client.js and returns the
// report on it.
func runNodeTestee(t *testing.T, cases []*Case, tlsConfig *tls.Config) *Report {
	t.Helper()
	mods, node := nodeModules(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "ws://"
	if tlsConfig != nil {
		ln, scheme = tlsListener(ln, tlsConfig), "wss://"
	}
	reports := make(chan *Report, 1)
	go func() { reports <- runClientSuite(ln, defaultConfig(), cases, 3*time.Minute, "", nil) }()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "ws_testee_client.js"), mods, scheme+ln.Addr().String(), "ws")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		ln.Close()
		<-reports
		t.Fatalf("ws_testee_client.js: %v", err)
	}
	select {
	case rep := <-reports:
		if rep.Agent != "ws" {
			t.Errorf("report for agent %q, want ws", rep.Agent)
		}
		return rep
	case <-time.After(30 * time.Second):
		ln.Close()
		t.Fatal("no report after the client asked for it")
		return nil
	}
}

// checkAllOK requires n cases in rep, every one OK.
func checkAllOK(t *testing.T, rep *Report, n int) {
	t.Helper()
	if len(rep.Cases) != n {
		t.Errorf("%d cases, want %d", len(rep.Cases), n)
	}
	for _, c := range rep.Cases {
		if c.Outcome != OK {
			t.Errorf("%s: %s (%s)", c.ID, c.Outcome, c.Reason)
		}
	}
}

// checkDeflateUsed requires want cases of sections 12 and 13 in rep, every one having agreed
// permessage-deflate, and each group of cases (12.1, 13.2, ...) to have got compressed frames
// back: RSV1 on the wire,
// not the extension merely tolerated. (ws leaves messages below 1 KiB uncompressed when it has no
// context to reuse, as RFC 7692 allows: a case of small messages may have none.)
func checkDeflateUsed(t *testing.T, rep *Report, want int) {
	t.Helper()
	n := 0
	compressed := map[string]bool{}
	for _, c := range rep.Cases {
		if c.Section != "12" && c.Section != "13" {
			continue
		}
		n++
		if len(c.Notes) == 0 || !strings.HasPrefix(c.Notes[len(c.Notes)-1], "permessage-deflate agreed") {
			t.Errorf("%s: permessage-deflate not agreed (notes %q)", c.ID, c.Notes)
		}
		group := c.ID[:strings.LastIndex(c.ID, ".")]
		for _, f := range c.Frames {
			compressed[group] = compressed[group] || !f.Sent && f.RSV == 4
		}
	}
	if n != want {
		t.Errorf("%d cases of sections 12 and 13, want %d", n, want)
	}
	for group, ok := range compressed {
		if !ok {
			t.Errorf("cases %s.*: no compressed frame from the peer", group)
		}
	}
	if len(compressed) != 21 {
		t.Errorf("%d groups of cases in sections 12 and 13, want 21", len(compressed))
	}
}
