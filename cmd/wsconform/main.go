// Command wsconform is an RFC 6455 conformance suite modelled on Autobahn TestSuite's case
// catalogue, with no Python and no Docker: `go run` it against any WebSocket echo server or client.
//
//	wsconform server [flags] ws://host:port/path     test an echo server (the tool is the client)
//	wsconform client -listen host:port [flags]       test a client through Autobahn's testee protocol
//	wsconform list server|client                     print the case catalogue
//
// Each case comes out OK, NON-STRICT, INFORMATIONAL or FAILED, with what was sent, what was
// expected and what came back. Every wait is bounded. See README.md.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  wsconform server [flags] ws://host:port/path   test an echo server (every message echoed with its type)
  wsconform client -listen host:port [flags]     serve Autobahn's testee protocol to a client under test
  wsconform list server|client                   print the cases of a mode

Run "wsconform server -h" or "wsconform client -h" for the flags.
Exit status: 0 when no case FAILED (with -expect: when no case got worse), 1 otherwise, 2 for usage errors.
`

// options are the flags both modes share.
type options struct {
	cfg         *config
	cases       string
	exclude     string
	jsonPath    string
	expectPath  string
	writeExpect string
	reportDir   string
	agent       string
	verbose     bool
	quiet       bool
}

func commonFlags(fs *flag.FlagSet) *options {
	o := &options{cfg: defaultConfig()}
	fs.StringVar(&o.cases, "cases", "", "comma-separated case ids or prefixes to run (\"1.1.1\", \"6.4\", \"6.*\", \"H\"); default all")
	fs.StringVar(&o.exclude, "exclude", "", "comma-separated case ids or prefixes to skip (\"9\" skips section 9)")
	fs.StringVar(&o.jsonPath, "json", "", "write the full JSON report to `FILE`")
	fs.StringVar(&o.expectPath, "expect", "", "compare with the expected results in `FILE`; fail on any case that got worse")
	fs.StringVar(&o.writeExpect, "write-expect", "", "write this run's outcomes as an expected-results `FILE`")
	fs.StringVar(&o.reportDir, "report", "", "write a browsable HTML report (index.html, cases/*.html) into `DIR`")
	fs.StringVar(&o.agent, "agent", "", "name of the implementation under test, for the report")
	fs.DurationVar(&o.cfg.timeout, "timeout", o.cfg.timeout, "bound of every wait for the peer (section 9 and the 3 MiB cases allow at least 30s)")
	fs.DurationVar(&o.cfg.failFast, "fail-fast-wait", o.cfg.failFast, "how long the fail-fast cases (6.4.*) wait after the invalid bytes")
	fs.BoolVar(&o.cfg.full, "full", false, "run section 9 at Autobahn's sizes (messages up to 16 MiB, 1000 round trips) instead of 1/16 of them")
	fs.BoolVar(&o.verbose, "v", false, "print every case with what was sent, expected and received")
	fs.BoolVar(&o.quiet, "q", false, "print no line per case while running")
	return o
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return runServerCmd(args[1:], stdout, stderr)
	case "client":
		return runClientCmd(args[1:], stdout, stderr)
	case "list":
		return runList(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "wsconform: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func runList(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "server" && args[0] != "client" {
		fmt.Fprint(stderr, "usage: wsconform list server|client\n")
		return 2
	}
	for _, c := range modeCases(args[0], defaultConfig()) {
		mark := ""
		if c.Extra {
			mark = " (not in Autobahn)"
		}
		fmt.Fprintf(stdout, "%-9s %s%s\n", c.ID, c.Desc, mark)
	}
	return 0
}

// modeCases returns a mode's catalogue: sections 1-13, then its handshake section.
func modeCases(mode string, cfg *config) []*Case {
	cs := catalogue(cfg)
	if mode == "server" {
		return append(cs, serverHandshakeCases(cfg)...)
	}
	return append(cs, clientHandshakeCases(cfg)...)
}

// selectCases keeps the cases matching include (all when empty) and not exclude.
func selectCases(cs []*Case, include, exclude string) ([]*Case, error) {
	var out []*Case
	for _, c := range cs {
		if (include == "" || matchAny(c.ID, include)) && (exclude == "" || !matchAny(c.ID, exclude)) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no case matches -cases %q -exclude %q", include, exclude)
	}
	return out, nil
}

// matchAny reports whether id matches one of the comma-separated patterns: an id, a prefix of
// whole parts ("6.4" matches "6.4.1"), or a prefix ending in "*" ("6.*").
func matchAny(id, patterns string) bool {
	for _, p := range strings.Split(patterns, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case p == id:
			return true
		case strings.HasSuffix(p, "*") && strings.HasPrefix(id, strings.TrimSuffix(p, "*")):
			return true
		case strings.HasPrefix(id, p+"."):
			return true
		}
	}
	return false
}

// parseInterspersed parses flags before and after the positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		if fs.NArg() == 0 {
			return pos, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runServerCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsconform server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := commonFlags(fs)
	insecure := fs.Bool("insecure", false, "wss: do not verify the server's certificate")
	caFile := fs.String("ca", "", "wss: trust the certificate authorities in the PEM `FILE` (instead of the system's)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: wsconform server [flags] ws://host:port/path\n\nTests an echo server: every text message must come back as text, every binary one as binary.\n"+
			"A wss:// URL tests it over TLS (-ca, -insecure).\n\n")
		fs.PrintDefaults()
	}
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	url := pos[0]
	t, err := parseTarget(url)
	if err != nil {
		fmt.Fprintln(stderr, "wsconform:", err)
		return 2
	}
	if !t.tls && (*insecure || *caFile != "") {
		fmt.Fprintln(stderr, "wsconform: -ca and -insecure apply to wss:// URLs only")
		return 2
	}
	t.insecure = *insecure
	if *caFile != "" {
		if t.roots, err = loadRoots(*caFile); err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			return 2
		}
	}
	cases, err := selectCases(modeCases("server", o.cfg), o.cases, o.exclude)
	if err != nil {
		fmt.Fprintln(stderr, "wsconform:", err)
		return 2
	}
	if o.agent == "" {
		o.agent = url
	}
	var progress io.Writer
	if !o.quiet {
		progress = stdout
	}
	start := time.Now()
	runs := runServerSuite(t, o.cfg, cases, progress)
	rep := newReport("server", url, o.agent, o.cfg.full, start, runs)
	return o.finish(rep, stdout, stderr)
}

// runServerSuite runs cases one after the other against t. After three cases in a row could not
// even connect, the rest are FAILED without trying.
func runServerSuite(t *target, cfg *config, cases []*Case, progress io.Writer) []*caseRun {
	var runs []*caseRun
	unreachable := 0
	for _, c := range cases {
		var r result
		if unreachable >= 3 {
			r = result{Outcome: Failed, Reason: "not run: the server is unreachable", Expected: "a server to test"}
		} else {
			r = runServerCase(t, cfg, c)
			if strings.Contains(r.Reason, "dial "+t.addr) {
				unreachable++
			} else {
				unreachable = 0
			}
		}
		runs = append(runs, &caseRun{c, r})
		if progress != nil {
			fmt.Fprintf(progress, "%-9s %-13s %5dms  %s\n", c.ID, r.Outcome, r.Millis, c.Desc)
		}
	}
	return runs
}

func runClientCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsconform client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := commonFlags(fs)
	listen := fs.String("listen", "127.0.0.1:9001", "`host:port` to listen on (port 0 picks one)")
	wait := fs.Duration("wait", 15*time.Minute, "give up when no client has asked for /updateReports by then")
	certFile := fs.String("tls-cert", "", "serve wss:// with the PEM certificate chain in `FILE` (with -tls-key)")
	keyFile := fs.String("tls-key", "", "the PEM private key of -tls-cert, in `FILE`")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: wsconform client -listen host:port [flags]\n\n"+
			"Serves Autobahn's testee protocol: the client under test gets the count from /getCaseCount,\n"+
			"runs /runCase?case=N&agent=NAME for N = 1..count, echoing every message, then asks for\n"+
			"/updateReports?agent=NAME; the tool then reports on NAME and exits. With -tls-cert and\n"+
			"-tls-key it serves wss:// instead, to test the client over TLS.\n\n")
		fs.PrintDefaults()
	}
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) != 0 {
		fs.Usage()
		return 2
	}
	cases, err := selectCases(modeCases("client", o.cfg), o.cases, o.exclude)
	if err != nil {
		fmt.Fprintln(stderr, "wsconform:", err)
		return 2
	}
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(stderr, "wsconform: -tls-cert and -tls-key go together")
		return 2
	}
	var tlsConfig *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			return 2
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "wsconform:", err)
		return 1
	}
	over := ""
	if tlsConfig != nil {
		ln = tlsListener(ln, tlsConfig)
		over = fmt.Sprintf(" over TLS (wss://%s)", ln.Addr())
	}
	fmt.Fprintf(stdout, "listening on %s: %d cases%s\n", ln.Addr(), len(cases), over)
	var progress io.Writer
	if !o.quiet {
		progress = stdout
	}
	rep := runClientSuite(ln, o.cfg, cases, *wait, o.agent, progress)
	return o.finish(rep, stdout, stderr)
}

// runClientSuite serves cases on ln until a client asks for its report, wait passes or ln is
// closed, then closes ln and reports on that client (agent, when set, names the report; else the
// client's own name; with no report asked for, the first client seen).
func runClientSuite(ln net.Listener, cfg *config, cases []*Case, wait time.Duration, agent string, progress io.Writer) *Report {
	start := time.Now()
	cs := newClientSuite(cfg, cases, progress)
	served := make(chan struct{})
	go func() {
		cs.serve(ln)
		close(served)
	}()
	name := ""
	select {
	case name = <-cs.updated:
	case <-served: // someone else closed ln: report on what ran
	case <-time.After(wait):
	}
	ln.Close()
	<-served
	if name == "" {
		cs.mu.Lock()
		name = "client"
		if len(cs.agents) > 0 {
			name = cs.agents[0]
		}
		cs.mu.Unlock()
	}
	if agent == "" {
		agent = name
	}
	return newReport("client", ln.Addr().String(), agent, cfg.full, start, cs.results(name))
}

// finish prints the summary, writes the files asked for and returns the exit status.
func (o *options) finish(rep *Report, stdout, stderr io.Writer) int {
	rep.writeSummary(stdout, o.verbose)
	status := 0
	if o.jsonPath != "" {
		if err := rep.writeJSON(o.jsonPath); err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			status = 1
		}
	}
	if o.reportDir != "" {
		if err := rep.writeHTML(o.reportDir); err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			status = 1
		}
	}
	if o.writeExpect != "" {
		if err := os.WriteFile(o.writeExpect, rep.expectedFile(), 0o644); err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			status = 1
		}
	}
	if o.expectPath != "" {
		want, err := readExpected(o.expectPath)
		if err != nil {
			fmt.Fprintln(stderr, "wsconform:", err)
			return 1
		}
		c := compare(rep, want)
		c.write(stdout, o.expectPath)
		if len(c.worse) > 0 {
			status = 1
		}
	} else if rep.total().Failed > 0 {
		status = 1
	}
	return status
}

// loadRoots reads the PEM certificates of the authorities -ca trusts.
func loadRoots(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("-ca %s: no PEM certificate in the file", file)
	}
	return roots, nil
}

// tlsListener serves TLS on ln with cfg (HTTP/1.1 only: the testee protocol is WebSocket over
// HTTP/1.1).
func tlsListener(ln net.Listener, cfg *tls.Config) net.Listener {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	return tls.NewListener(ln, cfg)
}
