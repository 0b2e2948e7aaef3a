// Command loadgen puts a WebSocket server under load and checks every byte it sends back. It is
// built on wsloop's own client, so its connections run on the event loops of the poller, without
// a goroutine each: one process holds as many connections as it may open files (about 19,000
// under a limit of 20,000).
//
//	loadgen MODE [flags]
//
// The modes, against cmd/echo (go run ./cmd/echo -addr 127.0.0.1:8080):
//
//	# echo: C connections on /echo, P messages in flight on each, for a duration or a count
//	loadgen echo -url ws://127.0.0.1:8080 -c 100 -inflight 1 -size 64 -d 10s
//	loadgen echo -c 10 -inflight 16 -size 16384 -binary -n 1000000
//
//	# idle: open N connections, hold them, check each still echoes, report the server's memory
//	# per connection (RSS from /proc with -server-pid, Go heap from the server's GET /stats)
//	loadgen idle -c 19000 -d 30s -server-pid $(pgrep -n echo) -sources 127.0.0.2-127.0.0.3
//	# the same with a browser-sized request head (about 500 bytes): one 340-byte X-Pad header more
//	loadgen idle -c 19000 -d 30s -server-pid $(pgrep -n echo) -sources 127.0.0.2-127.0.0.3 -head-bytes 340
//
//	# broadcast: C subscribers on /broadcast, one publisher sending M messages; deliveries/s and
//	# the time until the last subscriber got the last message
//	loadgen broadcast -c 1000 -m 1000 -inflight 8
//	# across the three nodes of a cluster: subscriber i on node i mod 3, the publisher on the
//	# second; every delivery on every node is checked, and each node gets a report line
//	loadgen broadcast -url ws://127.0.0.1:8081,ws://127.0.0.1:8082,ws://127.0.0.1:8083 -publish-on 1 -c 999 -m 1000
//
//	# handshake: open and close connections as fast as possible, C at a time; upgrades/s
//	loadgen handshake -c 32 -d 10s -sources 4
//
//	# soak: echo traffic at a steady rate, a broadcast, and handshake churn, for hours; dropped
//	# connections are reconnected, and a report line comes out every interval
//	loadgen soak -c 1000 -inflight 8 -rate 5000 -subscribers 100 -broadcast-rate 10 -churn 20 -d 4h -interval 1m
//
// Every payload carries its sender, a sequence number, its send time, its length and a CRC-32C,
// and a filler regenerated on receipt, so each echoed or broadcast message is checked byte for
// byte: corrupted, lost, duplicated and reordered messages are counted, not missed. Latency
// percentiles (p50, p90, p99, p99.9, max) come from a log-linear histogram that allocates nothing
// per sample.
//
// -url may name several servers, the nodes of one service (repeat -url, or give a comma list):
// echo, broadcast, handshake and soak spread their connections over them round robin, and the
// broadcast publisher (broadcast, soak) connects to the node -publish-on numbers (from 0). A
// broadcast across nodes reports, for each node, its subscribers, their deliveries, their p50
// and p99 publish-to-delivery latency and the faults found on its connections (the publisher's
// own copies included), and a node with faults is named among the failures. idle measures one
// server and takes one -url; soak samples the memory of the first.
//
// -sources spreads the connections over several local addresses (127.0.0.2-127.0.0.9, a list,
// or a count N for 127.0.0.2 onwards) when one address runs out of ephemeral ports (about 28,000
// each). Every run is bounded: by -d (echo, idle, handshake, soak; broadcast gives up after it),
// -n, -connect-timeout and -drain.
//
// A message is lost when it never came back intact on a connection that stayed up; messages in
// flight on a connection the server dropped are counted apart, with the lost connection.
//
// A live progress line is printed once a second when stdout is a terminal, a summary at the end,
// and with -json FILE the whole result for machines. The exit status is 0 when every payload was
// intact (none corrupted, lost, duplicated or reordered) and no connection was lost or failed to
// open, 1 otherwise, 2 for usage errors and runs that could not start.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: loadgen MODE [flags]

modes:
  echo       C connections on /echo, P messages in flight each, for -d or -n messages
  idle       open C connections, hold them for -d, check them, report memory per connection
  broadcast  C subscribers on /broadcast and one publisher sending -m messages; with several
             -url, the subscribers spread over the nodes and the publisher on -publish-on
  handshake  open and close connections, C at a time, for -d or -n upgrades
  soak       steady echo traffic, a broadcast and handshake churn for -d, a report every -interval

Run "loadgen MODE -h" for the flags. Exit status: 0 when every payload was intact and no
connection was lost or failed to open, 1 otherwise, 2 for usage errors.
`

// config holds the flags.
type config struct {
	mode            string
	urls            []string // the nodes, each ws://host:port or wss://host:port
	publishOn       int      // index in urls of the broadcast publisher's node
	path            string
	conns           int
	inflight        int
	size            int
	binary          bool
	duration        time.Duration
	count           int64
	messages        int64
	sources         string
	dialConc        int
	dialTimeout     time.Duration
	connectTimeout  time.Duration
	drain           time.Duration
	rate            float64
	subscribers     int
	bcastRate       float64
	churn           float64
	interval        time.Duration
	serverPID       int
	statsURL        string
	jsonFile        string
	quiet           bool
	progress        string
	insecure        bool
	headBytes       int
	deflate         bool
	deflateTakeover bool
	warm            bool
	gc              bool
}

// modeDefaults are the connection count and duration of each mode when the flags leave them 0.
var modeDefaults = map[string]struct {
	conns    int
	duration time.Duration
}{
	"echo":      {100, 10 * time.Second},
	"idle":      {1000, 10 * time.Second},
	"broadcast": {100, time.Minute},
	"handshake": {16, 10 * time.Second},
	"soak":      {100, time.Hour},
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return nil, errUsage
	}
	c.mode = args[0]
	switch c.mode {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, usage)
		return nil, flag.ErrHelp
	}
	def, ok := modeDefaults[c.mode]
	if !ok {
		fmt.Fprintf(stderr, "loadgen: unknown mode %q\n\n%s", c.mode, usage)
		return nil, errUsage
	}
	fs := flag.NewFlagSet("loadgen "+c.mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := &urlList{urls: []string{"ws://127.0.0.1:8080"}}
	fs.Var(urls, "url", "the server's `URL`, ws://host:port (the mode adds its path); repeat it or give a comma list for the nodes of a cluster, the connections spread over them round robin (idle takes one)")
	fs.IntVar(&c.publishOn, "publish-on", 0, "broadcast, soak: the `INDEX` in -url of the node the publisher connects to (0, the first, by default)")
	fs.StringVar(&c.path, "path", "", "path to connect to instead of the mode's (/echo, /broadcast)")
	fs.IntVar(&c.conns, "c", 0, fmt.Sprintf("connections: echo, idle and soak connections, broadcast subscribers, concurrent handshakes (default %d)", def.conns))
	fs.IntVar(&c.inflight, "inflight", 1, "messages in flight per connection (echo, soak), or the publisher's window (broadcast)")
	fs.IntVar(&c.size, "size", 64, "payload size in bytes (at least 32 binary, 60 text)")
	fs.BoolVar(&c.binary, "binary", false, "send binary messages instead of text")
	fs.DurationVar(&c.duration, "d", 0, fmt.Sprintf("duration of the run; for broadcast the bound on it (default %v)", def.duration))
	fs.Int64Var(&c.count, "n", 0, "stop after this many echoed messages (echo) or upgrades (handshake), or -d, whichever comes first")
	fs.Int64Var(&c.messages, "m", 1000, "messages the broadcast publisher sends")
	fs.StringVar(&c.sources, "sources", "", "local addresses to dial from, round robin: 127.0.0.2-127.0.0.9, a comma list, or a count N (127.0.0.2 onwards)")
	fs.IntVar(&c.dialConc, "dial-concurrency", 256, "connections being opened at once, at most")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 10*time.Second, "bound of one TCP connect and of one opening handshake")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", time.Minute, "bound of opening all the connections")
	fs.DurationVar(&c.drain, "drain", 5*time.Second, "at the end, how long to wait for messages in flight, and for the closes")
	fs.Float64Var(&c.rate, "rate", 1000, "soak: echo messages per second, over all connections")
	fs.IntVar(&c.subscribers, "subscribers", 10, "soak: broadcast subscribers")
	fs.Float64Var(&c.bcastRate, "broadcast-rate", 10, "soak: broadcast messages per second (0: no broadcast)")
	fs.Float64Var(&c.churn, "churn", 10, "soak: connections opened and closed per second (0: none)")
	fs.DurationVar(&c.interval, "interval", 10*time.Second, "soak: time between report lines")
	fs.IntVar(&c.serverPID, "server-pid", 0, "sample this process's RSS from /proc (the server's)")
	fs.StringVar(&c.statsURL, "stats", "auto", "the server's stats URL (JSON with heap_bytes, stack_bytes), \"auto\" for http://HOST/stats of the first -url, \"off\" for none")
	fs.StringVar(&c.jsonFile, "json", "", "write the result as JSON to `FILE`")
	fs.BoolVar(&c.insecure, "insecure", false, "wss://: do not verify the server's certificate")
	fs.IntVar(&c.headBytes, "head-bytes", 0, fmt.Sprintf("pad each upgrade request with one header line (X-Pad) of this many bytes, CRLF included, at least %d: loadgen's own head is about 160 bytes, a browser's about 500", len(padLine)))
	fs.BoolVar(&c.quiet, "q", false, "no progress line")
	fs.BoolVar(&c.deflate, "deflate", false, "offer permessage-deflate (no context takeover) on every connection")
	fs.BoolVar(&c.deflateTakeover, "deflate-takeover", false, "offer permessage-deflate with context takeover both ways (12-bit windows)")
	fs.BoolVar(&c.warm, "warm", false, "idle: each connection echoes one message before the hold, so that what it leaves on the server is counted")
	fs.BoolVar(&c.gc, "gc", false, "ask the server to collect garbage before each memory sample (GET /stats?gc=1), so that its heap figures count live memory")
	fs.StringVar(&c.progress, "progress", "auto", "progress line once a second: auto (when stdout is a terminal), on, off")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return nil, errUsage
	}
	if c.conns == 0 {
		c.conns = def.conns
	}
	if c.duration == 0 {
		c.duration = def.duration
	}
	if c.path == "" {
		c.path = "/echo"
		if c.mode == "broadcast" {
			c.path = "/broadcast"
		}
	}
	c.urls = urls.urls
	switch {
	case c.conns < 0 || c.inflight < 1 || c.dialConc < 1 || c.messages < 1 || c.count < 0:
		return nil, usageErr(stderr, "-c, -inflight, -dial-concurrency and -m must be positive, -n not negative")
	case c.duration < 0 || c.interval <= 0 || c.drain < 0 || c.connectTimeout <= 0:
		return nil, usageErr(stderr, "durations must be positive")
	case c.publishOn < 0 || c.publishOn >= len(c.urls):
		return nil, usageErr(stderr, fmt.Sprintf("-publish-on %d: there are %d URLs, numbered from 0", c.publishOn, len(c.urls)))
	case c.mode == "idle" && len(c.urls) > 1:
		return nil, usageErr(stderr, "idle measures one server's memory per connection: give it one -url")
	case c.gc && c.mode != "idle":
		return nil, usageErr(stderr, "-gc is for idle: a collection on the server stalls its loops, which would distort the latency of the other modes")
	case c.headBytes != 0 && c.headBytes < len(padLine):
		return nil, usageErr(stderr, fmt.Sprintf("-head-bytes is 0 or at least %d", len(padLine)))
	case c.progress != "auto" && c.progress != "on" && c.progress != "off":
		return nil, usageErr(stderr, "-progress is auto, on or off")
	}
	return c, nil
}

var errUsage = errors.New("usage")

func usageErr(stderr io.Writer, msg string) error {
	fmt.Fprintln(stderr, "loadgen:", msg)
	return errUsage
}

// run runs loadgen with args and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	r, err := newRunner(ctx, cfg, args, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	var res *Result
	switch cfg.mode {
	case "echo":
		res, err = r.runEcho()
	case "idle":
		res, err = r.runIdle()
	case "broadcast":
		res, err = r.runBroadcast()
	case "handshake":
		res, err = r.runHandshake()
	case "soak":
		res, err = r.runSoak()
	}
	r.stopProgress()
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		if res == nil {
			return 2
		}
	}
	r.finish(res)
	res.print(stdout)
	if cfg.jsonFile != "" {
		if err := res.writeJSON(cfg.jsonFile); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 2
		}
	}
	if !res.Pass {
		return 1
	}
	return 0
}
