package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// These tests run the cmd/echo binary as a user runs it: as the testee client that client mode
// tests (issue 5), and as a wss:// server that server mode tests (issue 6), with our client under
// TLS too. The binary is built with the race detector when this test binary has it, and a data
// race in it fails the test (the race runtime makes it exit with status 66).

// testeeTimeout bounds one run of `echo -client` (the whole catalogue takes a few seconds).
const testeeTimeout = 90 * time.Second

// moduleRoot returns the folder of this module's go.mod, found upwards from the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/wsloop/wsloop\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/wsloop/wsloop above the working directory")
		}
		dir = parent
	}
}

// buildEcho builds cmd/echo into a temporary folder of t and returns the binary's path.
func buildEcho(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
	if err != nil {
		t.Fatalf("no go command to build cmd/echo: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "echo")
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", bin, "./cmd/echo")
	cmd := exec.Command(goTool, args...)
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// runTesteeClient serves the client catalogue's cases selected by include (all when empty) on a
// free port (over TLS when tlsConfig is set), runs `echo -client URL -agent wsloop -max-message
// 16777216` with extra flags against it, and
// returns the report with the command's output and exit error. The run is bounded: a client that
// hangs is killed after testeeTimeout, and its report then holds the cases it never ran as FAILED.
func runTesteeClient(t *testing.T, bin string, tlsConfig *tls.Config, include string, extra ...string) (rep *Report, out string, runErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String()
	if tlsConfig != nil {
		ln = tlsListener(ln, tlsConfig)
		url = "wss://" + ln.Addr().String()
	}
	cfg := defaultConfig()
	cases, err := selectCases(modeCases("client", cfg), include, "")
	if err != nil {
		t.Fatal(err)
	}
	reports := make(chan *Report, 1)
	go func() { reports <- runClientSuite(ln, cfg, cases, testeeTimeout, "", nil) }()

	ctx, cancel := context.WithTimeout(context.Background(), testeeTimeout)
	defer cancel()
	args := append([]string{"-client", url, "-agent", "wsloop", "-max-message", "16777216"}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	runErr = cmd.Run()
	t.Logf("echo %s: %v in %v", strings.Join(args, " "), runErr, time.Since(start).Round(time.Millisecond))
	if runErr != nil {
		ln.Close() // no report will be asked for: report on what ran
	}
	select {
	case rep = <-reports:
		return rep, output.String(), runErr
	case <-time.After(30 * time.Second):
		ln.Close()
		t.Fatalf("no report 30s after the client ended (%v)\n%s", runErr, output.String())
		return nil, "", nil
	}
}

// checkTestee holds a report on our client to testdata/name (rewritten from this report when
// rewrite is set): no FAILED case.
func checkTestee(t *testing.T, rep *Report, out string, runErr error, name string, rewrite bool) {
	t.Helper()
	if runErr != nil || strings.Contains(out, "DATA RACE") {
		t.Errorf("echo -client: %v\n%s", runErr, out)
	}
	if rep.Agent != "wsloop" {
		t.Errorf("report for agent %q, want wsloop", rep.Agent)
	}
	if rewrite {
		checkExpected(t, rep, name, "wsloop (cmd/echo -client)")
	} else {
		var sum bytes.Buffer
		rep.writeSummary(&sum, false)
		t.Log(sum.String())
		compareExpected(t, rep, name)
	}
	for _, f := range failedCases(rep) {
		t.Errorf("our client FAILED %s", f)
	}
}

// TestEchoCommand builds cmd/echo once and runs, side by side:
//
//   - client: CI's run of wsconform client against our client, `echo -client ws://...` (issue 5),
//     compared with testdata/expected-wsloop-client.json (which -update rewrites from it);
//   - client-wss: the same over TLS (issue 6), client mode serving the test certificate against
//     `echo -client wss://... -insecure`, held to the same file;
//   - server-wss: wsconform server -ca over wss:// against `echo -tls-cert -tls-key`, held to
//     testdata/expected-echo.json like the plain run, then the checks of -ca and -insecure;
//   - client-command-wss: `wsconform client -tls-cert -tls-key` from the command line, on a few
//     cases;
//   - client-wss-untrusted: without -insecure our client refuses the test certificate, and the
//     report says why.
func TestEchoCommand(t *testing.T) {
	wstest.CheckLeaks(t)
	bin := buildEcho(t)
	serverCfg, _ := wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)

	// The longest first: at most two run at once (-parallel defaults to GOMAXPROCS).
	t.Run("server-wss", func(t *testing.T) {
		parallelUnlessUpdate(t)
		addr := startEchoBinary(t, bin, "-max-message", "16777216", "-tls-cert", certFile, "-tls-key", keyFile)
		url := "wss://" + addr + "/"
		jsonPath := filepath.Join(t.TempDir(), "report.json")
		// The certificate file is the only anchor -ca trusts, as with a self-signed certificate.
		var stdout, stderr bytes.Buffer
		code := run([]string{"server", "-q", "-ca", certFile, "-agent", "cmd/echo", "-json", jsonPath, url}, &stdout, &stderr)
		t.Log(stdout.String())
		if code != 0 {
			t.Errorf("wsconform server -ca over wss: exit %d\n%s", code, stderr.String())
		}
		var rep Report
		data, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		compareExpected(t, &rep, "expected-echo.json")
		for _, f := range failedCases(&rep) {
			t.Errorf("cmd/echo over wss FAILED %s", f)
		}

		// Without -ca the certificate is not trusted: the cases fail on the TLS handshake, and
		// after three the rest are not tried. -insecure skips the check.
		stdout.Reset()
		if code := run([]string{"server", "-q", "-cases", "1.1.1,2.1,H.1,H.2", url}, &stdout, &stderr); code != 1 ||
			!strings.Contains(stdout.String(), "unknown authority") || !strings.Contains(stdout.String(), "the server is unreachable") {
			t.Errorf("wss without -ca: exit %d\n%s", code, stdout.String())
		}
		stdout.Reset()
		if code := run([]string{"server", "-q", "-insecure", "-cases", "1.1.1,2.1,H.1", url}, &stdout, &stderr); code != 0 {
			t.Errorf("wss with -insecure: exit %d\n%s", code, stdout.String())
		}
	})

	t.Run("client", func(t *testing.T) {
		parallelUnlessUpdate(t)
		rep, out, runErr := runTesteeClient(t, bin, nil, "")
		checkTestee(t, rep, out, runErr, "expected-wsloop-client.json", *update)
	})

	t.Run("client-wss", func(t *testing.T) {
		parallelUnlessUpdate(t)
		rep, out, runErr := runTesteeClient(t, bin, serverCfg, "", "-insecure")
		checkTestee(t, rep, out, runErr, "expected-wsloop-client.json", false)
	})

	t.Run("client-command-wss", func(t *testing.T) {
		// The command line's -tls-cert and -tls-key, on a few cases.
		parallelUnlessUpdate(t)
		pr, pw := io.Pipe()
		var errOut bytes.Buffer
		code := make(chan int, 1)
		go func() {
			code <- run([]string{"client", "-q", "-listen", "127.0.0.1:0", "-wait", "60s", "-cases", "1.1.1,2.1,H.1",
				"-tls-cert", certFile, "-tls-key", keyFile}, pw, &errOut)
			pw.Close()
		}()
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		rest := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(br)
			rest <- string(b)
		}()
		_, url, ok := strings.Cut(strings.TrimSpace(line), "over TLS (")
		url = strings.TrimSuffix(url, ")")
		if !ok || !strings.HasPrefix(url, "wss://127.0.0.1:") {
			pr.Close()
			t.Fatalf("client mode said %q", line)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testeeTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-client", url, "-agent", "wsloop", "-insecure").CombinedOutput()
		if err != nil {
			t.Errorf("echo -client %s -insecure: %v\n%s", url, err, out)
		}
		select {
		case c := <-code:
			summary := <-rest
			if c != 0 || !strings.Contains(summary, "total         3      3") {
				t.Errorf("wsconform client -tls-cert: exit %d\n%s%s", c, summary, errOut.String())
			}
		case <-time.After(testeeTimeout):
			t.Fatal("wsconform client did not end")
		}
	})

	t.Run("client-wss-untrusted", func(t *testing.T) {
		parallelUnlessUpdate(t)
		rep, out, runErr := runTesteeClient(t, bin, serverCfg, "")
		if runErr == nil {
			t.Fatalf("echo -client trusted an unknown authority\n%s", out)
		}
		if f := failedCases(rep); len(f) != len(rep.Cases) || !strings.Contains(f[0], "TLS handshake") {
			t.Errorf("cases never run: %d of %d, first %q", len(f), len(rep.Cases), f[0])
		}
	})
}

// parallelUnlessUpdate runs t in parallel with its siblings, except under -update: a run over TLS
// is held to the file the plain run before it rewrites.
func parallelUnlessUpdate(t *testing.T) {
	if !*update {
		t.Parallel()
	}
}

// startEchoBinary starts the echo binary on a free port of 127.0.0.1 with args, and returns its
// address. At the end of the test it stops it with SIGTERM and checks it exits cleanly.
func startEchoBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		switch inTime, err := wstest.AwaitExit(cmd, exited, 15*time.Second); {
		case !inTime:
			t.Errorf("echo did not exit 15s after SIGTERM\n%s", stderr.String())
		case err != nil || strings.Contains(stderr.String(), "DATA RACE"):
			t.Errorf("echo exited with %v\n%s", err, stderr.String())
		}
	})
	select {
	case line := <-ready:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("echo said %q", line) // its standard error follows from the cleanup
		}
		return addr
	case <-time.After(15 * time.Second):
		t.Fatal("echo did not start within 15s") // its standard error follows from the cleanup
		return ""
	}
}
