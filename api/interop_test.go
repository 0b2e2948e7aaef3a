package api

// Interop tests: a wsloop server against two clients nobody here wrote, Node's ws (8.x) and
// nodejs-websocket (1.7.2). Each test starts a server, runs one node process per scenario
// (testdata/interop/*.js) and asserts both what the client printed (one JSON line per event, in
// order) and what the server saw (per connection, in order).
//
// Node and the npm modules are found by wstest.Node (WSLOOP_NODE_MODULES, else the npm folder make
// deps fills): a missing one is a failure, and the tests skip only with WSLOOP_SKIP_INTEROP=1.
// INTEROP_TRACE=1 makes the scripts log each event's time since start (logged with -v).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// interopClients are the two peers; script is under testdata/interop.
var interopClients = []struct{ name, script string }{
	{"ws", "ws_client.js"},
	{"nws", "nws_client.js"},
}

// The data the scripts send (common.js has the same).
var (
	interopTexts = []string{
		"hello",
		"héllo wörld — 你好, 🎉 ñ",
		strings.Repeat("ü€😀", 40),
	}
	interopSizes = []int{0, 125, 126, 64 << 10, 1 << 20, 4 << 20}
)

// interopPattern returns n pseudo-random bytes for seed: xorshift32, as pattern in common.js.
func interopPattern(n int, seed uint32) []byte {
	b := make([]byte, n)
	x := seed ^ 0x9e3779b9
	if x == 0 {
		x = 1
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func interopSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// nodeEvent is one line a client script printed. Fields a line does not have stay zero.
type nodeEvent struct {
	Ev         string `json:"ev"`
	Text       string `json:"text,omitempty"`
	Len        int    `json:"len,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	Frames     string `json:"frames,omitempty"`
	Hex        string `json:"hex,omitempty"`
	Code       int    `json:"code,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Protocol   string `json:"protocol,omitempty"`
	Extensions string `json:"extensions,omitempty"`
	Message    string `json:"message,omitempty"`
}

func (e nodeEvent) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// binaryEvent is the event of a received binary message holding data.
func nodeBinary(data []byte, frames string) nodeEvent {
	return nodeEvent{Ev: "binary", Len: len(data), SHA256: interopSHA(data), Frames: frames}
}

// interopPackages are the npm packages of the interop peers.
var interopPackages = []string{"ws", "nodejs-websocket"}

// nodeModules returns the npm folder holding the interop peers and the node binary; it fails the
// test when one is missing (wstest.Node).
func nodeModules(t *testing.T) (dir, node string) {
	t.Helper()
	return wstest.Node(t, interopPackages...)
}

// runNode runs a client script with args, bounded in time, and returns the events it printed.
// The script must exit 0 and end with {"ev":"done"}.
func runNode(t *testing.T, script string, args ...string) []nodeEvent {
	t.Helper()
	dir, node := nodeModules(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "interop", script)}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("node %s %s: %v", script, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("node %s %s: %v (context: %v)\nstdout:\n%s\nstderr:\n%s", script, strings.Join(args, " "),
			err, ctx.Err(), stdout.String(), stderr.String())
	}
	var evs []nodeEvent
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var ev nodeEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("node %s printed %q: %v\nstderr:\n%s", script, sc.Text(), err, stderr.String())
		}
		evs = append(evs, ev)
	}
	switch {
	case os.Getenv("INTEROP_TRACE") != "":
		t.Logf("node %s trace:\n%s", script, stderr.String())
	case stderr.Len() > 0:
		t.Errorf("node %s wrote to stderr:\n%s", script, stderr.String())
	}
	return evs
}

// expectEvents fails unless got is want followed by the script's "done".
func expectNodeEvents(t *testing.T, who string, got, want []nodeEvent) {
	t.Helper()
	want = append(want, nodeEvent{Ev: "done"})
	n := max(len(got), len(want))
	for i := range n {
		var g, w nodeEvent
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			var sb strings.Builder
			for j, e := range got {
				fmt.Fprintf(&sb, "  %2d %v\n", j, e)
			}
			t.Fatalf("%s event %d:\n got %v\nwant %v\nall events (%d, want %d):\n%s", who, i, g, w,
				len(got), len(want), sb.String())
		}
	}
}

// interopLog records what a server saw, per connection (by request path), in order.
type interopLog struct {
	mu     sync.Mutex
	events map[string][]string
	chunks map[string][]int // the number of data chunks of each binary message
}

func newInteropLog() *interopLog {
	return &interopLog{events: make(map[string][]string), chunks: make(map[string][]int)}
}

func (l *interopLog) add(c *Conn, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events[c.Path()] = append(l.events[c.Path()], fmt.Sprintf(format, args...))
}

func (l *interopLog) addChunks(c *Conn, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chunks[c.Path()] = append(l.chunks[c.Path()], n)
}

// expect waits until the connection on path has as many events as want (up to wstest.Timeout),
// then fails unless they are exactly want.
func (l *interopLog) expect(t *testing.T, path string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	var got []string
	for {
		l.mu.Lock()
		got = append([]string(nil), l.events[path]...)
		l.mu.Unlock()
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("server events of %s:\n got %d:\n  %s\nwant %d:\n  %s", path, len(got),
			strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

func (l *interopLog) chunksOf(path string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.chunks[path]...)
}

func interopBinaryLine(data []byte) string {
	return fmt.Sprintf("binary %d %s <nil>", len(data), interopSHA(data))
}

// TestInteropData: texts (multi-byte UTF-8 too), binaries of 0 B to 4 MiB byte for byte,
// fragmented messages from the client arriving whole (a ping between fragments answered at
// once), a BeginBinary stream arriving whole at the client (a ping between its fragments), pings
// both ways, and a close from the client with 4001 'bye'.
func TestInteropData(t *testing.T) { runInteropData(t, false) }

// runInteropData runs the data scenario between Node's clients and our server, over wss:// when
// secure.
func runInteropData(t *testing.T, secure bool) {
	for _, cl := range interopClients {
		t.Run(cl.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			nodeModules(t)
			var cfg *tls.Config
			url, connLine := "ws://", `connection protocol=""`
			if secure {
				certs := newInteropCerts(t)
				certs.nodeTrusts(t)
				cfg, url, connLine = certs.server, "wss://", connLine+" TLS 1.3"
			}
			log, addr := startInteropDataServerTLS(t, cfg)
			got := runNode(t, cl.script, "data", url+addr+"/data")

			want, server, minChunks := interopDataWant(cl.name)
			expectNodeEvents(t, cl.name, got, want)
			log.expect(t, "/data", append([]string{connLine}, server...)...)
			chunks := log.chunksOf("/data")
			if len(chunks) != len(interopSizes)+1 {
				t.Fatalf("chunk counts %v: want one per binary message", chunks)
			}
			if c := chunks[len(interopSizes)]; c < minChunks {
				t.Errorf("the fragmented message came in %d chunks, want at least %d (one per non-empty fragment)", c, minChunks)
			}
		})
	}
}

// TestInteropHandshake: the server picks the first of the client's protocols that it supports,
// both sides agree on it; a client offering protocols to a server that has none fails; extra
// request headers reach Conn.Headers; a close without a code from the client is 1005.
func TestInteropHandshake(t *testing.T) {
	for _, cl := range interopClients {
		t.Run(cl.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			nodeModules(t)
			log := newInteropLog()
			onConn := func(c *Conn) {
				log.add(c, "connection protocols=%q protocol=%q x-headername=%q", c.Protocols(), c.Protocol(),
					c.Headers().Values("X-HeaderName"))
			}
			with, withAddr := startServer(t, &ServerOptions{ValidProtocols: []string{"a", "b", "c"}}, onConn)
			without, withoutAddr := startServer(t, nil, onConn)
			for _, s := range []*Server{with, without} {
				s.OnConnError(func(c *Conn, err error) { log.add(c, "error %v", err) })
				s.OnConnClose(func(c *Conn, code int, reason string) { log.add(c, "close %d %q", code, reason) })
			}
			got := runNode(t, cl.script, "handshake", "ws://"+withAddr, "ws://"+withoutAddr)

			var want []nodeEvent
			if cl.name == "ws" {
				want = []nodeEvent{
					{Ev: "open", Protocol: "b"},
					{Ev: "close", Code: 1000, Reason: "done"},
					{Ev: "open"},
					{Ev: "close", Code: 1005},
					{Ev: "error", Message: "Server sent no subprotocol"},
					{Ev: "close", Code: 1006},
				}
			} else {
				want = []nodeEvent{
					{Ev: "open", Protocol: "b"},
					{Ev: "close", Code: 1000, Reason: "done"},
					{Ev: "close-frame", Hex: "03e8646f6e65"},
					{Ev: "socket-close"},
					{Ev: "open"},
					{Ev: "close"}, // nws reports close() with no code as it was called
					{Ev: "close-frame"},
					{Ev: "socket-close"},
					{Ev: "error", Message: "Invalid handshake: no protocol was negotiated"},
					{Ev: "close", Code: 1006},
					{Ev: "socket-close"},
				}
			}
			expectNodeEvents(t, cl.name, got, want)
			log.expect(t, "/proto?q=1",
				`connection protocols=["x" "y" "b" "a"] protocol="b" x-headername=["header value"]`,
				`close 1000 "done"`)
			log.expect(t, "/plain", `connection protocols=[] protocol="" x-headername=[]`, `close 1005 ""`)
			log.expect(t, "/noproto", `connection protocols=["x" "y" "b" "a"] protocol="" x-headername=[]`,
				`close 1006 ""`)
		})
	}
}

// TestInteropServerClose: the server sends a text then closes, with 4002 'go away', with no
// code, and with 4003 and a 140-byte reason of two-byte characters (cut to 122 bytes, at a
// character boundary); the client sees the text, then the close with that code (1005 for none)
// and reason, and echoes it.
func TestInteropServerClose(t *testing.T) { runInteropServerClose(t, false) }

// runInteropServerClose runs the server-close scenario with Node's clients, over wss:// when
// secure.
func runInteropServerClose(t *testing.T, secure bool) {
	for _, cl := range interopClients {
		t.Run(cl.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			nodeModules(t)
			opts, url, connLine := &ServerOptions{}, "ws://", "connection"
			if secure {
				certs := newInteropCerts(t)
				certs.nodeTrusts(t)
				opts.TLSConfig, url, connLine = certs.server, "wss://", "connection TLS 1.3"
			}
			log := newInteropLog()
			s, addr := startServer(t, opts, func(c *Conn) {
				log.add(c, "%s", connLine)
				if err := c.SendText("last words", nil); err != nil {
					log.add(c, "SendText: %v", err)
				}
				code, reason := 4002, "go away"
				switch c.Path() {
				case "/close-nocode":
					code, reason = 0, ""
				case "/close-long":
					code, reason = 4003, strings.Repeat("ü", 70)
				}
				if err := c.Close(code, reason); err != nil {
					log.add(c, "Close: %v", err)
				}
			})
			s.OnConnError(func(c *Conn, err error) { log.add(c, "error %v", err) })
			s.OnConnClose(func(c *Conn, code int, reason string) { log.add(c, "close %d %q", code, reason) })
			got := runNode(t, cl.script, "close", url+addr)

			cut := strings.Repeat("ü", 61)
			var want []nodeEvent
			if cl.name == "ws" {
				want = []nodeEvent{
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close", Code: 4002, Reason: "go away"},
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close", Code: 1005},
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close", Code: 4003, Reason: cut},
				}
			} else {
				want = []nodeEvent{
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close-frame", Hex: "0fa2676f2061776179"},
					{Ev: "close", Code: 4002, Reason: "go away"}, {Ev: "socket-close"},
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close-frame"},
					{Ev: "close", Code: 1005}, {Ev: "socket-close"},
					{Ev: "open"}, {Ev: "text", Text: "last words"}, {Ev: "close-frame", Hex: "0fa3" + hex.EncodeToString([]byte(cut))},
					{Ev: "close", Code: 4003, Reason: cut}, {Ev: "socket-close"},
				}
			}
			expectNodeEvents(t, cl.name, got, want)
			log.expect(t, "/close4002", connLine, `close 4002 "go away"`)
			log.expect(t, "/close-nocode", connLine, `close 1005 ""`)
			log.expect(t, "/close-long", connLine, fmt.Sprintf("close 4003 %q", cut))
		})
	}
}
