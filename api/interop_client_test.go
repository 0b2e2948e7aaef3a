package api

// Interop tests of our client: Connect against two servers nobody here wrote, Node's ws (8.x) and
// nodejs-websocket (1.7.2). Each test starts one node server process (testdata/interop/
// ws_server.js or nws_server.js; it prints its port, then one JSON line per event it sees), runs a
// scenario with our client against it, and asserts both sides exactly: the client's events in
// order as they come, then the server's, all of them in order, once its stdin was closed and it
// reported that every connection was gone.
//
// Node and its modules are found as for interop_test.go (nodeModules, interopPattern and
// interopSHA live there): a missing one fails the test.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// interopServers are the two peers; script is under testdata/interop.
var interopServers = []struct{ name, script string }{
	{"ws", "ws_server.js"},
	{"nws", "nws_server.js"},
}

// eachInteropServer runs fn as a subtest per server.
func eachInteropServer(t *testing.T, fn func(t *testing.T, name, script string)) {
	for _, s := range interopServers {
		t.Run(s.name, func(t *testing.T) { fn(t, s.name, s.script) })
	}
}

// serverEvent is one line a server script printed. Fields a line does not have stay zero.
type serverEvent struct {
	Ev        string `json:"ev"`
	Port      int    `json:"port,omitempty"`
	Path      string `json:"path,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
	Protocols string `json:"protocols,omitempty"`
	Headers   string `json:"headers,omitempty"`
	Text      string `json:"text,omitempty"`
	Len       int    `json:"len,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Frames    string `json:"frames,omitempty"`
	Hex       string `json:"hex,omitempty"`
	Code      int    `json:"code,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

func (e serverEvent) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// serverBinary is the event of a binary message holding data received by a server.
func serverBinary(data []byte, frames string) serverEvent {
	return serverEvent{Ev: "binary", Len: len(data), SHA256: interopSHA(data), Frames: frames}
}

// nodeServer is a running server script.
type nodeServer struct {
	script string
	addr   string // 127.0.0.1:port
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdin  io.WriteCloser
	stderr bytes.Buffer // written by exec until Wait returned
	read   chan struct{}

	mu     sync.Mutex
	events []serverEvent
	sig    chan struct{}
	ended  bool
}

// startNodeServer starts script with args, bounded in time, and waits until it listens. The
// process is killed when the test ends unless finish ended it.
func startNodeServer(t *testing.T, script string, args ...string) *nodeServer {
	t.Helper()
	dir, node := nodeModules(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s := &nodeServer{script: script, cancel: cancel, read: make(chan struct{}), sig: make(chan struct{}, 1)}
	s.cmd = exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "interop", script)}, args...)...)
	s.cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
	s.cmd.WaitDelay = 2 * time.Second
	s.cmd.Stderr = &s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("node %s: %v", script, err)
	}
	go s.readEvents(stdout)
	t.Cleanup(func() { s.killAfterFailure(t) })
	deadline := time.After(15 * time.Second) // a cold start of node can be slow
	for {
		s.mu.Lock()
		evs := slices.Clone(s.events)
		s.mu.Unlock()
		if len(evs) > 0 {
			if evs[0].Ev != "listening" || evs[0].Port == 0 {
				s.kill()
				t.Fatalf("node %s printed %v first, want the listening port\nstderr:\n%s", script, evs[0], s.stderr.String())
			}
			s.addr = fmt.Sprintf("127.0.0.1:%d", evs[0].Port)
			return s
		}
		select {
		case <-s.sig:
		case <-s.read:
			s.kill()
			t.Fatalf("node %s ended before listening: %v\nstderr:\n%s", script, s.cmd.ProcessState, s.stderr.String())
		case <-deadline:
			s.kill()
			t.Fatalf("node %s did not listen within 15 s\nstderr:\n%s", script, s.stderr.String())
		}
	}
}

func (s *nodeServer) readEvents(stdout io.Reader) {
	defer close(s.read)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev serverEvent
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			ev = serverEvent{Ev: "unparsable", Message: fmt.Sprintf("%q: %v", sc.Text(), err)}
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		select {
		case s.sig <- struct{}{}:
		default:
		}
	}
}

// kill ends the process if it still runs (a failed test), and waits for it.
func (s *nodeServer) kill() {
	if s.ended {
		return
	}
	s.ended = true
	s.stdin.Close()
	s.cancel()
	<-s.read
	s.cmd.Wait()
}

// killAfterFailure ends the process of a test that failed before finish, logging what it saw.
func (s *nodeServer) killAfterFailure(t *testing.T) {
	if s.ended {
		return
	}
	s.kill()
	t.Logf("node %s was killed; it had printed:\n%sstderr:\n%s", s.script, listEvents(s.snapshot()), s.stderr.String())
}

func (s *nodeServer) url(path string) string { return "ws://" + s.addr + path }

func (s *nodeServer) snapshot() []serverEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// waitFor waits until the server printed want (anywhere).
func (s *nodeServer) waitFor(t *testing.T, want serverEvent) {
	t.Helper()
	await(t, s.sig, func() bool { return slices.Contains(s.snapshot(), want) }, func() string {
		return fmt.Sprintf("node %s: no event %v; events so far:\n%s", s.script, want, listEvents(s.snapshot()))
	})
}

// finish closes the server's stdin, waits for it to report that every connection is gone and to
// exit 0, and returns the events it printed between "listening" and "done".
func (s *nodeServer) finish(t *testing.T) []serverEvent {
	t.Helper()
	s.stdin.Close()
	select {
	case <-s.read:
	case <-time.After(10 * time.Second):
		s.kill()
		t.Fatalf("node %s did not end within 10 s of the end of its stdin; events:\n%s", s.script, listEvents(s.snapshot()))
	}
	err := s.cmd.Wait()
	s.cancel()
	s.ended = true
	evs := s.snapshot()
	if err != nil {
		t.Fatalf("node %s: %v\nevents:\n%s\nstderr:\n%s", s.script, err, listEvents(evs), s.stderr.String())
	}
	switch {
	case os.Getenv("INTEROP_TRACE") != "": // common.js traces each event on stderr
		t.Logf("node %s events:\n%strace:\n%s", s.script, listEvents(evs), s.stderr.String())
	case s.stderr.Len() > 0:
		t.Errorf("node %s wrote to stderr:\n%s", s.script, s.stderr.String())
	}
	if len(evs) < 2 || evs[len(evs)-1].Ev != "done" {
		t.Fatalf("node %s did not end with done; events:\n%s", s.script, listEvents(evs))
	}
	return evs[1 : len(evs)-1]
}

// expect ends the server and fails unless it saw exactly want.
func (s *nodeServer) expect(t *testing.T, want ...serverEvent) {
	t.Helper()
	expectServerEvents(t, s.script, s.finish(t), want)
}

func expectServerEvents(t *testing.T, who string, got, want []serverEvent) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s saw:\n%swant:\n%s", who, listEvents(got), listEvents(want))
	}
}

func listEvents(evs []serverEvent) string {
	var sb strings.Builder
	for i, e := range evs {
		fmt.Fprintf(&sb, "  %2d %v\n", i, e)
	}
	return sb.String()
}

// interopClient is our client connection with every event it fires recorded, in order.
type interopClient struct {
	c      *Conn
	mu     sync.Mutex
	events []string
	errs   []error
	chunks [][]int // per binary message received, the end offsets of its InStream chunks
	next   int     // events already checked by expect
	sig    chan struct{}
	closed chan struct{}
	once   sync.Once
}

// dialInterop connects our client to url; the handlers of messages and pongs are set in the
// connect handler, those of errors and close right after Connect returns.
func dialInterop(t *testing.T, url string, opts *ClientOptions) *interopClient {
	t.Helper()
	ic := &interopClient{sig: make(chan struct{}, 1), closed: make(chan struct{})}
	c, err := Connect(url, opts, func(c *Conn) {
		ic.add("open protocol=%q", c.Protocol())
		c.OnText(func(_ *Conn, s string) { ic.add("text %q", s) })
		c.OnBinary(func(_ *Conn, in *InStream) {
			var data []byte
			var ends []int
			in.OnData(func(p []byte) {
				data = append(data, p...)
				ends = append(ends, len(data))
			})
			in.OnEnd(func(err error) {
				ic.mu.Lock()
				ic.chunks = append(ic.chunks, ends)
				ic.mu.Unlock()
				ic.add("binary %d %s %v", len(data), interopSHA(data), err)
			})
		})
		c.OnPong(func(_ *Conn, p []byte) { ic.add("pong %x", p) })
	})
	if err != nil {
		t.Fatalf("Connect(%q): %v", url, err)
	}
	ic.c = c
	c.OnError(func(_ *Conn, err error) {
		ic.mu.Lock()
		ic.errs = append(ic.errs, err)
		ic.mu.Unlock()
		ic.add("error %v", err)
	})
	c.OnClose(func(c *Conn, code int, reason string) {
		ic.add("close %d %q", code, reason)
		if st := c.ReadyState(); st != Closed {
			ic.add("ready state %d in the close handler", st)
		}
		closed := false
		ic.once.Do(func() { close(ic.closed); closed = true })
		if !closed {
			ic.add("a second close event")
		}
	})
	return ic
}

func (ic *interopClient) add(format string, args ...any) {
	ic.mu.Lock()
	ic.events = append(ic.events, fmt.Sprintf(format, args...))
	ic.mu.Unlock()
	select {
	case ic.sig <- struct{}{}:
	default:
	}
}

func (ic *interopClient) snapshot() []string {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	return slices.Clone(ic.events)
}

// expect fails unless the next events are want, in order (waiting for each up to wstest.Timeout).
func (ic *interopClient) expect(t *testing.T, want ...string) {
	t.Helper()
	ic.expectWithin(t, wstest.Timeout, want...)
}

// expectWithin is expect waiting up to d for each event.
func (ic *interopClient) expectWithin(t *testing.T, d time.Duration, want ...string) {
	t.Helper()
	for _, w := range want {
		deadline := time.After(d)
		for len(ic.snapshot()) <= ic.next {
			select {
			case <-ic.sig:
			case <-deadline:
				t.Fatalf("client: no event %d, want %q; events:\n  %s", ic.next, w, strings.Join(ic.snapshot(), "\n  "))
			}
		}
		if got := ic.snapshot(); got[ic.next] != w {
			t.Fatalf("client event %d:\n got %q\nwant %q\nevents:\n  %s", ic.next, got[ic.next], w, strings.Join(got, "\n  "))
		}
		ic.next++
	}
}

// expectEnd fails unless the connection is closed and fired no event beyond those expected.
func (ic *interopClient) expectEnd(t *testing.T) {
	t.Helper()
	select {
	case <-ic.closed:
	case <-time.After(wstest.Timeout):
		t.Fatalf("client: no close event; events:\n  %s", strings.Join(ic.snapshot(), "\n  "))
	}
	time.Sleep(settle)
	if got := ic.snapshot(); len(got) != ic.next {
		t.Fatalf("client: events beyond those expected:\n  %s", strings.Join(got[ic.next:], "\n  "))
	}
}

// closeByServer has the Node server close with 1000 "done", and waits until our client saw the
// close and the connection ended.
func (ic *interopClient) closeByServer(t *testing.T) {
	t.Helper()
	send(t, "SendText", ic.c.SendText("cmd:close:1000:done", nil))
	ic.expect(t, clientClose(1000, "done"))
	ic.expectEnd(t)
}

// expectClosedByServer is closeByServer, then the server's events: want, the close command and
// the close.
func (ic *interopClient) expectClosedByServer(t *testing.T, srv *nodeServer, name string, want []serverEvent) {
	t.Helper()
	ic.closeByServer(t)
	want = append(want, cmdText("cmd:close:1000:done"))
	srv.expect(t, append(want, serverClosed(name, 1000, "done")...)...)
}

// chunkEnds returns the chunk end offsets of the i-th binary message received.
func (ic *interopClient) chunkEnds(i int) []int {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if i >= len(ic.chunks) {
		return nil
	}
	return ic.chunks[i]
}

// send fails the test when a send method returned an error.
func send(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func clientBinary(data []byte) string {
	return fmt.Sprintf("binary %d %s <nil>", len(data), interopSHA(data))
}

func clientClose(code int, reason string) string { return fmt.Sprintf("close %d %q", code, reason) }

// expectFragmentEnds fails unless every fragment end in fragmentEnds (offsets in the message) is
// also the end of an InStream chunk: a frame's payload is never held back to be joined with the
// next frame's.
func expectFragmentEnds(t *testing.T, chunkEnds, fragmentEnds []int) {
	t.Helper()
	for _, e := range fragmentEnds {
		if !slices.Contains(chunkEnds, e) {
			t.Fatalf("no InStream chunk ends at offset %d, the end of a fragment; chunk ends %v", e, chunkEnds)
		}
	}
}

// The closing events a server reports after our client answered its close (cmd:close:CODE:REASON).
func serverClosed(name string, code int, reason string) []serverEvent {
	if name == "ws" {
		return []serverEvent{{Ev: "close", Code: code, Reason: reason}}
	}
	echo := ""
	if code != 0 {
		echo = hex.EncodeToString(codec.AppendClosePayload(nil, codec.CloseCode(code), reason))
	}
	// nws reports its own close at once, with its arguments; then our echo, then the end of TCP
	// (nws closes TCP first, as the side that started the close).
	return []serverEvent{{Ev: "close", Code: code, Reason: reason}, {Ev: "close-frame", Hex: echo}, {Ev: "socket-close"}}
}

func cmdText(cmd string) serverEvent { return serverEvent{Ev: "text", Text: cmd} }

// TestInteropClientText: texts, multi-byte UTF-8 ones and one of 80000 bytes (a 64-bit length)
// included, echoed by the server; then the server closes with 1000 'done'.
func TestInteropClientText(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		ic := dialInterop(t, srv.url("/text"), nil)
		ic.expect(t, `open protocol=""`)
		texts := append(slices.Clone(interopTexts), "", strings.Repeat("€😀x", 10000))
		want := []serverEvent{{Ev: "connection", Path: "/text"}}
		for _, s := range texts {
			send(t, "SendText", ic.c.SendText(s, nil))
			ic.expect(t, fmt.Sprintf("text %q", s))
			want = append(want, serverEvent{Ev: "text", Text: s})
		}
		ic.expectClosedByServer(t, srv, name, want)
	})
}

// TestInteropClientBinary: binaries of 0 B to 4 MiB (MaxBufferLength raised to 8 MiB) echoed
// byte for byte; nws shows that each went out as one frame.
func TestInteropClientBinary(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		ic := dialInterop(t, srv.url("/binary"), &ClientOptions{MaxBufferLength: 8 << 20})
		ic.expect(t, `open protocol=""`)
		want := []serverEvent{{Ev: "connection", Path: "/binary"}}
		for _, n := range interopSizes {
			p := interopPattern(n, uint32(n))
			send(t, "SendBinary", ic.c.SendBinary(p, nil))
			ic.expectWithin(t, 15*time.Second, clientBinary(p)) // MiBs through node on a busy machine
			frames := ""
			if name == "nws" {
				frames = fmt.Sprintf("2/%dF", n)
			}
			want = append(want, serverBinary(p, frames))
		}
		ic.expectClosedByServer(t, srv, name, want)
	})
}

// TestInteropClientStreamOut: a 60000-byte message sent through our BeginBinary in 750-byte writes
// with a 1000-byte ClientOptions.BinaryFragmentation (forty 1500-byte fragments and an empty final
// one, as nws shows), with a ping between the 20th and 21st fragments, arrives whole; the pong
// comes back before the message's echo.
func TestInteropClientStreamOut(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		ic := dialInterop(t, srv.url("/stream"), &ClientOptions{BinaryFragmentation: 1000})
		ic.expect(t, `open protocol=""`)
		data := interopPattern(60000, 7)
		out, err := ic.c.BeginBinary()
		send(t, "BeginBinary", err)
		for i := 0; i < 80; i++ {
			if n, err := out.Write(data[i*750 : (i+1)*750]); n != 750 || err != nil {
				t.Fatalf("OutStream.Write %d: %d, %v", i, n, err)
			}
			if i == 39 {
				send(t, "SendPing", ic.c.SendPing([]byte("mid-stream")))
			}
		}
		send(t, "OutStream.Close", out.Close())
		ic.expect(t, "pong "+hex.EncodeToString([]byte("mid-stream")), clientBinary(data))
		ic.closeByServer(t)

		want := []serverEvent{{Ev: "connection", Path: "/stream"}}
		if name == "ws" {
			want = append(want, serverEvent{Ev: "ping", Hex: hex.EncodeToString([]byte("mid-stream"))}, serverBinary(data, ""))
		} else {
			frames := "2/1500" + strings.Repeat(" 0/1500", 19) + " 9/10" + strings.Repeat(" 0/1500", 20) + " 0/0F"
			want = append(want, serverBinary(data, frames))
		}
		want = append(want, cmdText("cmd:close:1000:done"))
		srv.expect(t, append(want, serverClosed(name, 1000, "done")...)...)
	})
}

// TestInteropClientStreamIn: the server sends fragmented messages. ws: a text cut inside two
// characters with an empty fragment, arriving whole through OnText, and a 300000-byte binary in six
// fragments (two empty) with a ping between them; nws: a 200000-byte beginBinary() stream of ten
// 20000-byte fragments and an empty final one, with a ping. The binary arrives through OnBinary,
// each fragment's end ending an InStream chunk, and the pings are answered at once.
func TestInteropClientStreamIn(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		ic := dialInterop(t, srv.url("/fragments"), nil)
		ic.expect(t, `open protocol=""`)
		send(t, "SendText", ic.c.SendText("cmd:fragments", nil))
		want := []serverEvent{{Ev: "connection", Path: "/fragments"}, cmdText("cmd:fragments")}
		var data []byte
		var fragmentEnds []int
		if name == "ws" {
			ic.expect(t, fmt.Sprintf("text %q", "fragmented: € and 😀 end"))
			data, fragmentEnds = interopPattern(300000, 7), []int{1, 1000, 70000, 300000}
			want = append(want, serverEvent{Ev: "pong", Hex: hex.EncodeToString([]byte("mid-message"))})
		} else {
			data = interopPattern(200000, 99)
			for e := 20000; e <= 200000; e += 20000 {
				fragmentEnds = append(fragmentEnds, e)
			}
			want = append(want, serverEvent{Ev: "pong", Hex: hex.EncodeToString([]byte("mid-stream"))})
		}
		ic.expect(t, clientBinary(data))
		expectFragmentEnds(t, ic.chunkEnds(0), fragmentEnds)
		ic.expectClosedByServer(t, srv, name, want)
	})
}

// TestInteropClientPing: our pings come back as pongs with the same bytes (nws turns the payload
// into a string and back: a non-UTF-8 one comes back with U+FFFD for each bad byte, DNC-7); the
// server's pings, empty ones too, are answered by our client with the same bytes.
func TestInteropClientPing(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		ic := dialInterop(t, srv.url("/ping"), nil)
		ic.expect(t, `open protocol=""`)
		want := []serverEvent{{Ev: "connection", Path: "/ping"}}
		pings := [][]byte{[]byte("Knock knock"), {}, []byte(strings.Repeat("é", 62) + "!")}
		if name == "ws" {
			pings = append(pings, []byte{0xde, 0xad, 0xbe, 0xef, 0, 0xff}, interopPattern(125, 125))
		}
		for _, p := range pings {
			send(t, "SendPing", ic.c.SendPing(p))
			ic.expect(t, "pong "+hex.EncodeToString(p))
			if name == "ws" {
				want = append(want, serverEvent{Ev: "ping", Hex: hex.EncodeToString(p)})
			}
		}
		if name == "nws" {
			send(t, "SendPing", ic.c.SendPing([]byte{0xff, 0, 0x80, 0x41}))
			ic.expect(t, "pong efbfbd00efbfbd41")
		}

		serverPings := []string{hex.EncodeToString([]byte("srv ping ✓\x00")), ""}
		if name == "ws" {
			serverPings = append(serverPings, "00ff80737276", hex.EncodeToString(interopPattern(125, 3)))
		}
		for _, h := range serverPings {
			send(t, "SendText", ic.c.SendText("cmd:ping:"+h, nil))
			srv.waitFor(t, serverEvent{Ev: "pong", Hex: h})
			want = append(want, cmdText("cmd:ping:"+h), serverEvent{Ev: "pong", Hex: h})
		}
		ic.expectClosedByServer(t, srv, name, want)
	})
}

// TestInteropClientProtocols: we offer x, y, b, a; a server supporting a, b, c picks b (the
// client's order decides) and Protocol says so; a server supporting none accepts without a
// protocol, which our client refuses: OnError "Invalid handshake: no protocol was negotiated",
// then OnClose 1006, and the server sees the connection end without a close frame.
func TestInteropClientProtocols(t *testing.T) {
	offered := []string{"x", "y", "b", "a"}
	eachInteropServer(t, func(t *testing.T, name, script string) {
		seen := "x, y, b, a" // ws prints the request's header
		if name == "nws" {
			seen = "x,y,b,a" // nws prints the list it parsed
		}
		t.Run("picked", func(t *testing.T) {
			wstest.CheckLeaks(t)
			srv := startNodeServer(t, script, "a,b,c")
			ic := dialInterop(t, srv.url("/proto"), &ClientOptions{Protocols: offered})
			ic.expect(t, `open protocol="b"`)
			if got := ic.c.Protocol(); got != "b" {
				t.Errorf("Protocol() = %q, want b", got)
			}
			if got := ic.c.Headers().Values("Sec-WebSocket-Protocol"); !slices.Equal(got, []string{"b"}) {
				t.Errorf("response Sec-WebSocket-Protocol %q, want [b]", got)
			}
			if got := ic.c.Protocols(); !slices.Equal(got, offered) {
				t.Errorf("Protocols() = %q, want %q", got, offered)
			}
			ic.closeByServer(t)
			srv.expect(t, append([]serverEvent{
				{Ev: "connection", Path: "/proto", Protocol: "b", Protocols: seen},
				cmdText("cmd:close:1000:done"),
			}, serverClosed(name, 1000, "done")...)...)
		})
		t.Run("none", func(t *testing.T) {
			wstest.CheckLeaks(t)
			srv := startNodeServer(t, script)
			ic := dialInterop(t, srv.url("/noproto"), &ClientOptions{Protocols: offered})
			ic.expect(t, "error Invalid handshake: no protocol was negotiated", clientClose(1006, ""))
			ic.expectEnd(t)
			if !errors.Is(ic.errs[0], codec.ErrResponseNoProtocol) {
				t.Errorf("error %v is not codec.ErrResponseNoProtocol", ic.errs[0])
			}
			want := []serverEvent{{Ev: "connection", Path: "/noproto", Protocols: seen}, {Ev: "close", Code: 1006}}
			if name == "nws" {
				want = append(want, serverEvent{Ev: "socket-close"})
			}
			srv.expect(t, want...)
		})
	})
}

// TestInteropClientHeaders: ClientOptions.ExtraHeaders reach the server after the handshake's own
// headers (a header with two values as two lines: ws shows both, nws keeps the last).
func TestInteropClientHeaders(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		wstest.CheckLeaks(t)
		srv := startNodeServer(t, script)
		extra := http.Header{
			"X-HeaderName": {"header value"},
			"Origin":       {"http://example.test"},
			"X-Multi":      {"one", "two"},
		}
		ic := dialInterop(t, srv.url("/headers"), &ClientOptions{ExtraHeaders: extra})
		ic.expect(t, `open protocol=""`)
		ic.closeByServer(t)

		got := srv.finish(t)
		var head, extras []string
		if name == "ws" {
			head = []string{"Host: " + srv.addr, "Upgrade: websocket", "Connection: Upgrade",
				"Sec-WebSocket-Key: (key)", "Sec-WebSocket-Version: 13"}
			extras = []string{"Origin: http://example.test", "X-HeaderName: header value", "X-Multi: one", "X-Multi: two"}
		} else {
			head = []string{"host: " + srv.addr, "upgrade: websocket", "connection: Upgrade",
				"sec-websocket-key: (key)", "sec-websocket-version: 13"}
			extras = []string{"origin: http://example.test", "x-headername: header value", "x-multi: two"}
		}
		// The extra headers come in no particular order (http.Header is a map), the values of one
		// header in their order.
		for i := range got {
			if got[i].Ev != "headers" {
				continue
			}
			lines := strings.Split(got[i].Headers, "\n")
			rest := slices.Clone(lines[min(len(head), len(lines)):])
			multi := slices.DeleteFunc(slices.Clone(rest), func(l string) bool { return !strings.HasPrefix(strings.ToLower(l), "x-multi:") })
			slices.Sort(rest)
			wantMulti := slices.DeleteFunc(slices.Clone(extras), func(l string) bool { return !strings.HasPrefix(strings.ToLower(l), "x-multi:") })
			if !slices.Equal(lines[:min(len(head), len(lines))], head) || !slices.Equal(rest, extras) || !slices.Equal(multi, wantMulti) {
				t.Errorf("request headers seen by %s:\n  %s\nwant:\n  %s\nthen, in any order:\n  %s", name,
					strings.Join(lines, "\n  "), strings.Join(head, "\n  "), strings.Join(extras, "\n  "))
			}
			got[i].Headers = "(checked)"
		}
		expectServerEvents(t, script, got, append([]serverEvent{
			{Ev: "connection", Path: "/headers"},
			{Ev: "headers", Headers: "(checked)"},
			cmdText("cmd:close:1000:done"),
		}, serverClosed(name, 1000, "done")...))
	})
}

// TestInteropClientClose: we close with 4001 'bye' and with no code, and the server sees that; our
// close event follows the server's reply (its code is the reply's). The server closes with 4002
// 'go away' and with no code (1005) right after the handshake, and our client reports that.
func TestInteropClientClose(t *testing.T) {
	eachInteropServer(t, func(t *testing.T, name, script string) {
		// nws never closes TCP after answering a close (spec section 11): our client closes it when
		// CloseTimeout runs out.
		opts := &ClientOptions{CloseTimeout: 500 * time.Millisecond}
		for _, tc := range []struct {
			name   string
			code   int
			reason string
		}{{"4001", 4001, "bye"}, {"no code", 0, ""}} {
			t.Run("client "+tc.name, func(t *testing.T) {
				wstest.CheckLeaks(t)
				srv := startNodeServer(t, script)
				ic := dialInterop(t, srv.url("/bye"), opts)
				ic.expect(t, `open protocol=""`)
				start := time.Now()
				send(t, "Close", ic.c.Close(tc.code, tc.reason))
				code := tc.code
				if code == 0 {
					code = 1005
				}
				ic.expect(t, clientClose(code, tc.reason))
				t.Logf("%s: the close event came %v after Close", name, time.Since(start).Round(time.Millisecond))
				ic.expectEnd(t)
				want := []serverEvent{{Ev: "connection", Path: "/bye"}}
				if name == "ws" {
					want = append(want, serverEvent{Ev: "close", Code: code, Reason: tc.reason})
				} else {
					echo := ""
					if tc.code != 0 {
						echo = hex.EncodeToString(codec.AppendClosePayload(nil, codec.CloseCode(tc.code), tc.reason))
					}
					want = append(want, serverEvent{Ev: "close-frame", Hex: echo},
						serverEvent{Ev: "close", Code: code, Reason: tc.reason}, serverEvent{Ev: "socket-close"})
				}
				srv.expect(t, want...)
			})
		}
		for _, tc := range []struct {
			path   string
			code   int
			reason string
		}{{"/close4002", 4002, "go away"}, {"/close-nocode", 0, ""}} {
			t.Run("server "+tc.path, func(t *testing.T) {
				wstest.CheckLeaks(t)
				srv := startNodeServer(t, script)
				ic := dialInterop(t, srv.url(tc.path), opts)
				code := tc.code
				if code == 0 {
					code = 1005
				}
				ic.expect(t, `open protocol=""`, clientClose(code, tc.reason))
				ic.expectEnd(t)
				if name == "ws" {
					srv.expect(t, serverEvent{Ev: "connection", Path: tc.path}, serverEvent{Ev: "close", Code: code, Reason: tc.reason})
				} else {
					srv.expect(t, append([]serverEvent{{Ev: "connection", Path: tc.path}}, serverClosed(name, tc.code, tc.reason)...)...)
				}
			})
		}
	})
}

// TestInteropClientRejected: ws's verifyClient refuses the handshake with 401; our client reports
// "Invalid handshake: invalid first line format", then close 1006.
func TestInteropClientRejected(t *testing.T) {
	wstest.CheckLeaks(t)
	srv := startNodeServer(t, "ws_server.js")
	ic := dialInterop(t, srv.url("/reject"), nil)
	select {
	case <-ic.closed:
	case <-time.After(wstest.Timeout):
		t.Fatalf("client: no close event; events %q", ic.snapshot())
	}
	time.Sleep(settle)
	got := ic.snapshot()
	if len(got) != 2 || !strings.HasPrefix(got[0], "error Invalid handshake: invalid first line format") || got[1] != clientClose(1006, "") {
		t.Fatalf("client events %q, want the error %q then %q", got, "Invalid handshake: invalid first line format", clientClose(1006, ""))
	}
	if !errors.Is(ic.errs[0], codec.ErrResponseStatus) {
		t.Errorf("error %v is not codec.ErrResponseStatus", ic.errs[0])
	}
	srv.expect(t, serverEvent{Ev: "rejected", Path: "/reject"})
}
