package api

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// rawServer accepts one connection, reads the upgrade request and hands both to script.
func rawServer(t *testing.T, script func(nc net.Conn, request string)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(wstest.Timeout))
		br := bufio.NewReader(nc)
		var req strings.Builder
		for !strings.HasSuffix(req.String(), "\r\n\r\n") {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			req.WriteByte(b)
		}
		script(nc, req.String())
	}()
	return ln.Addr().String()
}

// accept101 answers the request with a valid 101 followed by extra bytes.
func accept101(nc net.Conn, request string, extra ...[]byte) {
	key := ""
	for _, line := range strings.Split(request, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Sec-WebSocket-Key: "); ok {
			key = v
		}
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		string(codec.AppendAccept(nil, []byte(key))) + "\r\n\r\n"
	nc.Write(append([]byte(resp), bytes.Join(extra, nil)...))
}

// readClientFrame reads one masked client frame and unmasks it.
func readClientFrame(t *testing.T, r io.Reader) (codec.Opcode, []byte) {
	var head []byte
	for {
		var b [1]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			t.Errorf("reading a client frame: %v", err)
			return 0, nil
		}
		head = append(head, b[0])
		h, n, err := codec.ParseHeader(head, codec.ServerRole, 0)
		if err != nil {
			t.Errorf("client frame: %v", err)
			return 0, nil
		}
		if n == 0 {
			continue
		}
		p := make([]byte, h.Length)
		io.ReadFull(r, p)
		codec.Mask(h.Mask, 0, p)
		return h.Opcode, p
	}
}

func TestClientRequestBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	requests := make(chan string, 1)
	addr := rawServer(t, func(nc net.Conn, req string) { requests <- req })
	_, port, _ := net.SplitHostPort(addr)
	r := newRecorder()
	_, err := Connect("ws://localhost:"+port+"/chat?x=1", r.opts(&ClientOptions{
		Protocols:    []string{"a", "b"},
		ExtraHeaders: map[string][]string{"X-Headername": {"header value"}},
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	req := <-requests
	lines := strings.Split(strings.TrimSuffix(req, "\r\n\r\n"), "\r\n")
	want := []string{
		"GET /chat?x=1 HTTP/1.1",
		"Host: localhost:" + port, // RFC 6455 section 4.1: the port when it is not the default
		"Upgrade: websocket",
		"Connection: Upgrade",
		"", // the key, checked below
		"Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Protocol: a, b",
		"X-Headername: header value",
	}
	if len(lines) != len(want) {
		t.Fatalf("request %q", req)
	}
	for i, w := range want {
		if i == 4 {
			key, ok := strings.CutPrefix(lines[i], "Sec-WebSocket-Key: ")
			if !ok || len(key) != 24 {
				t.Fatalf("key line %q", lines[i])
			}
			continue
		}
		if lines[i] != w {
			t.Fatalf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	r.wait(t) // the server hung up without answering
	if got := r.snapshot(); strings.Join(got, "|") != "close 1006 " {
		t.Fatalf("events %q", got)
	}
}

func TestClientMasksEveryFrameWithFreshKeys(t *testing.T) {
	wstest.CheckLeaks(t)
	keys := make(chan [][]byte, 1)
	addr := rawServer(t, func(nc net.Conn, req string) {
		accept101(nc, req)
		var seen [][]byte
		for range 3 {
			var head [6]byte
			io.ReadFull(nc, head[:])
			seen = append(seen, bytes.Clone(head[2:6]))
			if head[1]&0x80 == 0 {
				t.Error("unmasked client frame")
			}
			io.ReadFull(nc, make([]byte, head[1]&0x7f))
		}
		keys <- seen
	})
	r := newRecorder()
	c, err := Connect("ws://"+addr, r.opts(nil), func(c *Conn) {
		payload := []byte("same")
		for range 3 {
			c.SendBinary(payload, nil)
		}
		if string(payload) != "same" {
			t.Error("the caller's payload was masked in place")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	k := <-keys
	if bytes.Equal(k[0], k[1]) || bytes.Equal(k[1], k[2]) {
		t.Fatalf("mask keys repeat: %x", k)
	}
	c.Close(1000, "")
	r.wait(t)
}

func TestClientLenientAccepts(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := rawServer(t, func(nc net.Conn, req string) {
		key := req[strings.Index(req, "Sec-WebSocket-Key: ")+19:][:24]
		nc.Write([]byte("HTTP/1.1 101\r\nupgrade: WEBSOCKET\r\nconnection: keep-alive,upgrade\r\nsec-websocket-accept: " +
			string(codec.AppendAccept(nil, []byte(key))) + "\r\n\r\n"))
		nc.Write(wstest.ServerFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, "")))
		readClientFrame(t, nc) // the echo; then the server closes TCP first
	})
	r := newRecorder()
	_, err := Connect("ws://"+addr, r.opts(nil), func(c *Conn) { r.add("connect") })
	if err != nil {
		t.Fatal(err)
	}
	if got := r.wait(t); strings.Join(got, "|") != "connect|close 1000 " {
		t.Fatalf("events %q", got)
	}
}

// The closing cases of spec section 11, seen from the client.
func TestClientClosing(t *testing.T) {
	cases := []struct {
		name   string
		script func(t *testing.T, nc net.Conn)
		want   string
	}{
		{"server closes with code and reason; the client echoes and waits for the server's FIN",
			func(t *testing.T, nc net.Conn) {
				nc.Write(wstest.ServerFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 4002, "go away")))
				op, p := readClientFrame(t, nc)
				if op != codec.OpClose || string(p) != string(codec.AppendClosePayload(nil, 4002, "go away")) {
					t.Errorf("echo %v %q", op, p)
				}
			}, "close 4002 go away"},
		{"server sends an empty close", func(t *testing.T, nc net.Conn) {
			nc.Write(wstest.ServerFrame(true, codec.OpClose, nil))
			if op, p := readClientFrame(t, nc); op != codec.OpClose || len(p) != 0 {
				t.Errorf("echo %v %q", op, p)
			}
		}, "close 1005 "},
		{"server closes TCP without a close frame", func(t *testing.T, nc net.Conn) {}, "close 1006 "},
		{"server resets the connection", func(t *testing.T, nc net.Conn) {
			nc.(*net.TCPConn).SetLinger(0)
		}, "error|close 1006 "},
		{"masked frame from the server", func(t *testing.T, nc net.Conn) {
			nc.Write(codec.AppendFrame(nil, true, codec.OpText, []byte("x"), codec.ClientRole, [4]byte{1, 2, 3, 4}))
			op, p := readClientFrame(t, nc)
			if op != codec.OpClose || len(p) < 2 || p[0] != 0x03 || p[1] != 0xea {
				t.Errorf("client answered %v %q, want close 1002", op, p)
			}
		}, "error|close 1002 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr := rawServer(t, func(nc net.Conn, req string) {
				accept101(nc, req)
				tc.script(t, nc)
			})
			r := newRecorder()
			_, err := Connect("ws://"+addr, r.opts(nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.wait(t), "|"); got != tc.want {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
		})
	}
}

func TestClientInitiatedCloseWaitsForTheReply(t *testing.T) {
	wstest.CheckLeaks(t)
	replied := make(chan struct{})
	addr := rawServer(t, func(nc net.Conn, req string) {
		accept101(nc, req)
		op, p := readClientFrame(t, nc)
		if op != codec.OpClose || string(p[2:]) != "bye" {
			t.Errorf("client sent %v %q", op, p)
		}
		time.Sleep(100 * time.Millisecond) // the close event must wait for the reply
		nc.Write(wstest.ServerFrame(true, codec.OpClose, p))
		close(replied)
	})
	r := newRecorder()
	c, err := Connect("ws://"+addr, r.opts(nil), func(c *Conn) { c.Close(4001, "bye") })
	if err != nil {
		t.Fatal(err)
	}
	got := r.wait(t)
	select {
	case <-replied:
	default:
		t.Fatal("close fired before the server replied")
	}
	if strings.Join(got, "|") != "close 4001 bye" {
		t.Fatalf("events %q", got)
	}
	if err := c.SendText("late", nil); err != ErrNotOpen {
		t.Fatalf("send after close: %v", err)
	}
	if err := c.Close(1000, ""); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
