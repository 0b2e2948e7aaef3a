package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	ws "github.com/wsloop/wsloop/api"
)

// faultyServer is an echo server that misbehaves once per connection, at the fourth message
// (seq 3), in the way its path says: /corrupt flips a bit, /drop does not echo it, /dup echoes it
// twice, /reorder echoes it after the fifth, /close closes the connection instead. /echo echoes
// and records the client's address.
type faultyServer struct {
	srv   *ws.Server
	addr  string
	mu    sync.Mutex
	peers map[string]bool // client IP addresses seen
}

func startFaulty(t *testing.T) *faultyServer {
	t.Helper()
	fs := &faultyServer{peers: map[string]bool{}}
	fs.srv = ws.CreateServer(nil, func(c *ws.Conn) {
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			fs.mu.Lock()
			fs.peers[a.IP.String()] = true
			fs.mu.Unlock()
		}
		n := 0
		var held []byte
		var heldType ws.MessageType
		c.OnMessage(func(c *ws.Conn, typ ws.MessageType, p []byte) {
			n++
			if n != 4 {
				c.SendMessage(typ, p, nil)
				if held != nil {
					c.SendMessage(heldType, held, nil)
					held = nil
				}
				return
			}
			switch c.Path() {
			case "/corrupt":
				q := append([]byte(nil), p...)
				q[len(q)-1] ^= 1 // the last byte of a text filler stays ASCII
				if q[len(q)-1] >= 0x80 || q[len(q)-1] < 0x20 {
					q[len(q)-1] = '#'
				}
				c.SendMessage(typ, q, nil)
			case "/drop":
			case "/dup":
				c.SendMessage(typ, p, nil)
				c.SendMessage(typ, p, nil)
			case "/reorder":
				held, heldType = append([]byte(nil), p...), typ
			case "/close":
				c.Close(1011, "misbehaving on purpose")
			default:
				c.SendMessage(typ, p, nil)
			}
		})
	})
	if err := fs.srv.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	fs.addr = fs.srv.Addr().String()
	stopServer(t, fs.srv)
	return fs
}

// runLoadgen runs loadgen in this process with args and -json, and returns its status and
// result.
func runLoadgen(t *testing.T, args ...string) (int, *Result) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "result.json")
	var out strings.Builder
	args = append(args, "-json", file, "-progress", "off")
	code := run(context.Background(), args, &out, &out)
	t.Logf("loadgen %s -> %d\n%s", strings.Join(args, " "), code, out.String())
	b, err := os.ReadFile(file)
	if err != nil {
		if code == 2 {
			return code, nil
		}
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return code, &res
}

// TestEchoCatchesFaultyServer runs the echo mode against servers that corrupt, lose, duplicate
// or reorder one message per connection, or drop the connection, and checks that each fault is
// counted exactly and fails the run.
func TestEchoCatchesFaultyServer(t *testing.T) {
	fs := startFaulty(t)
	type want struct{ corrupted, lost, dup, reordered, connsLost int64 }
	for _, c := range []struct {
		path   string
		binary bool
		want   want
	}{
		{"/corrupt", false, want{corrupted: 2}},
		{"/corrupt", true, want{corrupted: 2}},
		{"/drop", false, want{lost: 2}},
		{"/dup", true, want{dup: 2}},
		{"/reorder", false, want{reordered: 2}},
		{"/close", false, want{connsLost: 2}},
	} {
		t.Run(strings.TrimPrefix(c.path, "/")+map[bool]string{false: "-text", true: "-binary"}[c.binary], func(t *testing.T) {
			args := []string{"echo", "-url", "ws://" + fs.addr, "-path", c.path, "-c", "2", "-inflight", "4",
				"-d", "500ms", "-drain", "300ms"}
			if c.binary {
				args = append(args, "-binary")
			}
			code, res := runLoadgen(t, args...)
			v := res.Verify
			got := want{v.Corrupted, v.Lost, v.Duplicated, v.Reordered, res.Conns.Lost}
			if got != c.want {
				t.Errorf("counted %+v, want %+v", got, c.want)
			}
			if code != 1 || res.Pass {
				t.Errorf("exit status %d, pass %v: want 1, false", code, res.Pass)
			}
			if res.Messages.Received < 6 {
				t.Errorf("only %d messages received", res.Messages.Received)
			}
		})
	}
}

// TestEchoSources: -sources spreads the connections over the source addresses.
func TestEchoSources(t *testing.T) {
	fs := startFaulty(t)
	code, res := runLoadgen(t, "echo", "-url", "ws://"+fs.addr, "-c", "4", "-d", "200ms", "-sources", "127.0.0.2-127.0.0.3")
	if code != 0 || res.Conns.Sources != 2 {
		t.Fatalf("exit status %d, sources %d", code, res.Conns.Sources)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.peers["127.0.0.2"] || !fs.peers["127.0.0.3"] || len(fs.peers) != 2 {
		t.Fatalf("the server saw clients from %v", fs.peers)
	}
}

func TestParseSources(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"3":                       "127.0.0.2 127.0.0.3 127.0.0.4",
		"127.0.0.5":               "127.0.0.5",
		"127.0.0.254-127.0.1.1":   "127.0.0.254 127.0.0.255 127.0.1.0 127.0.1.1",
		"127.0.0.2, 127.0.0.9-10": "",
	} {
		addrs, err := parseSources(in)
		var got []string
		for _, a := range addrs {
			got = append(got, a.(*net.TCPAddr).IP.String())
		}
		if want == "" && in != "" {
			if err == nil {
				t.Errorf("%q: no error, got %v", in, got)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != want {
			t.Errorf("%q: %v, %v; want %s", in, got, err, want)
		}
	}
}

// TestUnreachableServer: connections that cannot open fail the run, with their error counted.
func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, res := runLoadgen(t, "echo", "-url", "ws://"+addr, "-c", "3", "-d", "200ms")
	if code != 1 || res.Conns.Failed != 3 || res.Errors["connection refused"] != 3 {
		t.Fatalf("exit status %d, failed %d, errors %v", code, res.Conns.Failed, res.Errors)
	}
}

// TestUsage: bad flags and modes exit 2.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{}, {"nonsense"}, {"echo", "-c", "-1"}, {"echo", "-size", "10"}, {"echo", "-url", "http://x"},
		{"echo", "-sources", "localhost"}, {"idle", "-c", "100000"}, {"echo", "extra"},
	} {
		if code := run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
	}
	if code := run(context.Background(), []string{"echo", "-h"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("-h: exit status %d", code)
	}
}
