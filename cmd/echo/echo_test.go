package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/echoserve"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The echo command's server, built by newEchoServer and run in the test process.

// listenEcho starts newEchoServer on a free loopback port; the server is closed when the test ends.
func listenEcho(t *testing.T, maxMessage int) (*ws.Server, string) {
	t.Helper()
	srv := newEchoServer(maxMessage, nil, false)
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
		case <-time.After(wstest.Timeout):
			t.Error("the echo server did not close")
		}
	})
	return srv, srv.Addr().String()
}

// closeClean sends a close, expects its echo and the end of the connection.
func closeClean(t *testing.T, p *wstest.Peer) {
	t.Helper()
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	if r := p.ExpectClose(1000); r != "" {
		t.Fatalf("close reason %q", r)
	}
	p.ExpectEOF()
}

// expectNext reads the next frame and fails unless it is exactly a final frame of op and payload
// (ExpectFrame, but also checking that nothing else came first).
func expectNext(t *testing.T, p *wstest.Peer, op codec.Opcode, payload []byte) {
	t.Helper()
	f := p.MustFrame()
	if f.Op != op || !f.Fin || f.Rsv != 0 || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("got %v fin=%v %q, want %v %q", f.Op, f.Fin, f.Payload, op, payload)
	}
}

// / and /echo send every message back with its type: text, binary, empty, large, fragmented,
// and answer pings.
func TestEchoPaths(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := listenEcho(t, 0)
	big := bytes.Repeat([]byte{0, 0xff, 7}, 100000)
	for _, path := range []string{"/", "/echo", "/echo?x=1"} {
		t.Run(path, func(t *testing.T) {
			wstest.CheckLeaks(t)
			p := wstest.Dial(t, addr, path)
			p.WriteFrame(true, codec.OpText, []byte("héllo"))
			expectNext(t, p, codec.OpText, []byte("héllo"))
			p.WriteFrame(true, codec.OpBinary, []byte{0xff, 0, 0x80})
			expectNext(t, p, codec.OpBinary, []byte{0xff, 0, 0x80})
			p.WriteFrame(true, codec.OpText, nil)
			expectNext(t, p, codec.OpText, []byte{})
			p.WriteFrame(true, codec.OpBinary, big)
			expectNext(t, p, codec.OpBinary, big)
			p.WriteFrame(false, codec.OpText, []byte("frag"))
			p.WriteFrame(true, codec.OpPing, []byte("ping"))
			p.WriteFrame(true, codec.OpContinuation, []byte("ment"))
			expectNext(t, p, codec.OpPong, []byte("ping"))
			expectNext(t, p, codec.OpText, []byte("fragment"))
			closeClean(t, p)
		})
	}
}

// /broadcast sends each message to every connection on /broadcast, the sender included, with its
// type; connections on other paths get nothing, and one that left gets nothing more.
func TestEchoBroadcast(t *testing.T) {
	wstest.CheckLeaks(t)
	srv, addr := listenEcho(t, 0)
	a := wstest.Dial(t, addr, "/broadcast")
	b := wstest.Dial(t, addr, "/broadcast")
	c := wstest.Dial(t, addr, "/broadcast")
	other := wstest.Dial(t, addr, "/echo")
	waitConns(t, srv, 4)
	a.WriteFrame(true, codec.OpText, []byte("from a"))
	for _, p := range []*wstest.Peer{a, b, c} {
		expectNext(t, p, codec.OpText, []byte("from a"))
	}
	c.WriteFrame(true, codec.OpBinary, []byte{1, 2, 3})
	for _, p := range []*wstest.Peer{a, b, c} {
		expectNext(t, p, codec.OpBinary, []byte{1, 2, 3})
	}
	other.ExpectSilence(100 * time.Millisecond)
	closeClean(t, b)
	waitConns(t, srv, 3)
	a.WriteFrame(true, codec.OpText, []byte("b left"))
	expectNext(t, a, codec.OpText, []byte("b left"))
	expectNext(t, c, codec.OpText, []byte("b left"))
	other.WriteFrame(true, codec.OpText, []byte("echo only"))
	expectNext(t, other, codec.OpText, []byte("echo only"))
	a.ExpectSilence(100 * time.Millisecond)
	for _, p := range []*wstest.Peer{a, c, other} {
		closeClean(t, p)
	}
}

func waitConns(t *testing.T, srv *ws.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for echoserve.Connections(srv) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", echoserve.Connections(srv), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// GET /stats answers JSON with exactly heap_bytes, stack_bytes, goroutines and connections (the
// open WebSocket connections), after two collections with ?gc=1; other paths are 404, other methods 405; upgrades still work.
func TestEchoStats(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := listenEcho(t, 0)
	get := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	defer http.DefaultClient.CloseIdleConnections()
	stats := func() map[string]float64 {
		t.Helper()
		resp, body := get("GET", "/stats")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("stats: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var m map[string]float64
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("stats body %q: %v", body, err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"connections", "goroutines", "heap_bytes", "stack_bytes"}) {
			t.Fatalf("stats keys %q", keys)
		}
		if m["heap_bytes"] <= 0 || m["stack_bytes"] <= 0 || m["goroutines"] < 1 {
			t.Fatalf("stats %v", m)
		}
		return m
	}
	if m := stats(); m["connections"] != 0 {
		t.Fatalf("connections %v with none open", m["connections"])
	}
	p1 := wstest.Dial(t, addr, "/echo")
	p2 := wstest.Dial(t, addr, "/broadcast")
	deadline := time.Now().Add(wstest.Timeout)
	for stats()["connections"] != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("connections %v, want 2", stats()["connections"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	// With ?gc=1 the server collects garbage twice before it answers (loadgen idle -gc).
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if resp, body := get("GET", "/stats?gc=1"); resp.StatusCode != 200 || !json.Valid(body) {
		t.Fatalf("GET /stats?gc=1: %d %q", resp.StatusCode, body)
	}
	if runtime.ReadMemStats(&after); after.NumForcedGC < before.NumForcedGC+2 {
		t.Fatalf("GET /stats?gc=1 forced %d collections, want 2", after.NumForcedGC-before.NumForcedGC)
	}
	if resp, _ := get("GET", "/nothing"); resp.StatusCode != 404 {
		t.Fatalf("GET /nothing: %d", resp.StatusCode)
	}
	if resp, _ := get("POST", "/stats"); resp.StatusCode != 405 {
		t.Fatalf("POST /stats: %d", resp.StatusCode)
	}
	// A raw request sees a whole response and the end of the connection.
	raw := wstest.DialRaw(t, addr)
	raw.Write([]byte("GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"))
	raw.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	all, err := io.ReadAll(raw.Conn)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(all), "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "\r\nConnection: close") ||
		!strings.Contains(head, "\r\nContent-Length: "+itoa(len(body))) || !json.Valid([]byte(body)) {
		t.Fatalf("raw stats response %q", all)
	}
	closeClean(t, p1)
	closeClean(t, p2)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// The max-message flag: a message past it closes the connection with 1009.
func TestEchoMaxMessage(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := listenEcho(t, 1000)
	p := wstest.Dial(t, addr, "/echo")
	p.WriteFrame(true, codec.OpBinary, make([]byte, 1000))
	expectNext(t, p, codec.OpBinary, make([]byte, 1000))
	p.WriteFrame(true, codec.OpBinary, make([]byte, 1001))
	p.ExpectClose(codec.CloseMessageTooBig)
	p.ExpectEOF()
}
