package main

import (
	"bytes"
	"crypto/x509"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

var update = flag.Bool("update", false, "rewrite the expected-results files in testdata from this run")

// startEcho starts, in this process, the echo server cmd/echo builds (newEchoServer: every message
// echoed with SendMessage from the server-wide OnMessage handler), with its message limit raised to
// maxMessage as `echo -max-message` does, and returns its ws:// URL. Running it in-process puts the
// engine under the race detector while the suite drives it.
func startEcho(t *testing.T, maxMessage int) string {
	t.Helper()
	srv := ws.CreateServer(&ws.ServerOptions{MaxBufferLength: maxMessage}, nil)
	srv.OnMessage(func(c *ws.Conn, typ ws.MessageType, payload []byte) { c.SendMessage(typ, payload, nil) })
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan struct{})
		srv.Close(func(*ws.Server) { close(done) })
		for c := range srv.Connections() {
			c.Close(1001, "test over")
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the echo server did not close")
		}
	})
	return "ws://" + srv.Addr().String() + "/"
}

// runServer runs the server-mode cases selected by include against url.
func runServer(t *testing.T, url, include string, cfg *config) *Report {
	t.Helper()
	return runServerRoots(t, url, nil, include, cfg)
}

// runServerRoots is runServer for a wss:// url whose certificate roots trust (nil: the system's).
func runServerRoots(t *testing.T, url string, roots *x509.CertPool, include string, cfg *config) *Report {
	t.Helper()
	tg, err := parseTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	tg.roots = roots
	cases, err := selectCases(modeCases("server", cfg), include, "")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	return newReport("server", url, "test", cfg.full, start, runServerSuite(tg, cfg, cases, nil))
}

// checkExpected compares rep with testdata/name, or rewrites the file under -update.
func checkExpected(t *testing.T, rep *Report, name, agent string) {
	t.Helper()
	var sum bytes.Buffer
	rep.writeSummary(&sum, false)
	t.Log(sum.String())
	path := filepath.Join("testdata", name)
	if *update {
		rep.Agent = agent
		if err := os.WriteFile(path, rep.expectedFile(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	compareExpected(t, rep, name)
}

// compareExpected compares rep with testdata/name, even under -update (for a second run held to
// the same file as a first one, such as the runs over TLS).
func compareExpected(t *testing.T, rep *Report, name string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	want, err := readExpected(path)
	if err != nil {
		t.Fatal(err)
	}
	c := compare(rep, want)
	for _, w := range c.worse {
		t.Errorf("worse than %s: %s", path, w)
	}
	for _, b := range c.better {
		t.Logf("better than %s: %s (run with -update)", path, b)
	}
	for _, b := range c.changed {
		t.Logf("changed from %s: %s", path, b)
	}
	known := map[string]bool{} // a run of some cases is held to a file of more
	for _, c := range modeCases(rep.Mode, defaultConfig()) {
		known[c.ID] = true
	}
	for id := range want {
		if !known[id] {
			t.Errorf("%s names case %s, which the catalogue no longer has (run with -update)", path, id)
		}
	}
}

// failedCases lists the ids of the FAILED cases, with their reasons.
func failedCases(rep *Report) []string {
	var out []string
	for _, c := range rep.Cases {
		if c.Outcome == Failed {
			out = append(out, c.ID+": "+c.Reason)
		}
	}
	return out
}

// TestEchoServer is CI's run of wsconform server against cmd/echo: the whole catalogue, section 9
// at its default sizes, compared with testdata/expected-echo.json. Issue 4 asks for no FAILED case.
func TestEchoServer(t *testing.T) {
	wstest.CheckLeaks(t)
	url := startEcho(t, 16<<20)
	cfg := defaultConfig()
	rep := runServer(t, url, "", cfg)
	checkExpected(t, rep, "expected-echo.json", "cmd/echo")
	for _, f := range failedCases(rep) {
		t.Errorf("cmd/echo FAILED %s", f)
	}
}

// TestHungServer: a server that never answers costs each case its bounded wait, never a hang.
func TestHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-accepted
		for _, c := range conns {
			c.Close()
		}
	})
	cfg := defaultConfig()
	cfg.timeout = 200 * time.Millisecond
	start := time.Now()
	rep := runServer(t, "ws://"+ln.Addr().String()+"/", "1.1.1,2.5,H.7", cfg)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("three cases against a hung server took %v", d)
	}
	for _, c := range rep.Cases {
		if c.Outcome != Failed {
			t.Errorf("%s: %s against a server that never answers", c.ID, c.Outcome)
		}
	}
}

// TestSilentAfterUpgrade: a server that completes the handshake and then ignores everything
// fails every case that expects an answer, within the bounded waits.
func TestSilentAfterUpgrade(t *testing.T) {
	addr := startRawServer(t, serverKnobs{silent: true})
	cfg := defaultConfig()
	cfg.timeout = 200 * time.Millisecond
	start := time.Now()
	rep := runServer(t, "ws://"+addr+"/", "1.1.1,2.1,3.1,7.3.3", cfg)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("four cases against a silent server took %v", d)
	}
	for _, c := range rep.Cases {
		if c.Outcome != Failed {
			t.Errorf("%s: %s against a server that never answers after the upgrade", c.ID, c.Outcome)
		}
		if !strings.Contains(c.Reason, "within") {
			t.Errorf("%s: reason %q does not say it waited", c.ID, c.Reason)
		}
	}
}
