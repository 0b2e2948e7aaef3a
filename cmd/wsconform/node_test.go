package main

import (
	"bufio"
	"context"
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

// TestNodeWSServer runs the server catalogue against Node's ws echo server: every case OK, or
// what Autobahn itself reports for ws (6.4.x NON-STRICT: ws validates UTF-8 per message, not fail
// fast), as testdata/expected-ws-server.json records.
func TestNodeWSServer(t *testing.T) {
	mods, node := nodeModules(t)
	cmd := exec.Command(node, filepath.Join("testdata", "ws_echo_server.js"), mods)
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
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	var addr string
	select {
	case line := <-ready:
		var ok bool
		if addr, ok = strings.CutPrefix(line, "listening on "); !ok {
			t.Fatalf("ws_echo_server.js said %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ws_echo_server.js did not start")
	}
	rep := runServer(t, "ws://"+addr+"/", "", defaultConfig())
	checkExpected(t, rep, "expected-ws-server.json", "ws@8 (Node)")
	for _, f := range failedCases(rep) {
		t.Errorf("Node's ws server FAILED %s", f)
	}
}

// TestNodeWSClient runs the client catalogue against Node's ws client, driven by
// testdata/ws_testee_client.js through the testee protocol.
func TestNodeWSClient(t *testing.T) {
	mods, node := nodeModules(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cases := modeCases("client", cfg)
	reports := make(chan *Report, 1)
	go func() { reports <- runClientSuite(ln, cfg, cases, 3*time.Minute, "", nil) }()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "ws_testee_client.js"), mods, "ws://"+ln.Addr().String(), "ws")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		ln.Close()
		<-reports
		t.Fatalf("ws_testee_client.js: %v", err)
	}
	var rep *Report
	select {
	case rep = <-reports:
	case <-time.After(30 * time.Second):
		ln.Close()
		t.Fatal("no report after the client asked for it")
	}
	if rep.Agent != "ws" {
		t.Errorf("report for agent %q, want ws", rep.Agent)
	}
	checkExpected(t, rep, "expected-ws-client.json", "ws@8 (Node)")
	for _, f := range failedCases(rep) {
		t.Errorf("Node's ws client FAILED %s", f)
	}
}
