package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// permessage-deflate on sockets, between our client and server and against Node's ws both ways.
// Every connection goes through wireWatch, a relay that parses the frames each way, so that the
// tests see on the wire that the extension was negotiated and that compressed (RSV1) frames were
// exchanged, not merely tolerated.

// deflateMessage is the message deflate_ws.js sends: 200 JSON records, about 8 KiB.
var deflateMessage = func() string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"user%d","online":%v}`, i, i, i%2 == 0)
	}
	b.WriteByte(']')
	return b.String()
}()

// wireWatch relays connections to target and records, per direction, the answer's
// Sec-WebSocket-Extensions and the RSV bits of every frame.
type wireWatch struct {
	addr string
	mu   sync.Mutex
	ext  string // the server's Sec-WebSocket-Extensions in the last 101
	rsv1 [2]int // frames with RSV1: client to server, server to client
	all  [2]int // data frames
	err  error  // a frame that does not parse
}

func newWireWatch(t *testing.T, target string) *wireWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wireWatch{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		w.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		w.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			w.mu.Lock()
			conns = append(conns, in, out)
			w.mu.Unlock()
			wg.Go(func() { w.relay(in, out, 0) })
			wg.Go(func() { w.relay(out, in, 1) })
		}
	})
	return w
}

// relay copies src to dst, parsing it: an HTTP head, then frames; dir 0 is the client's.
func (w *wireWatch) relay(src, dst net.Conn, dir int) {
	defer dst.Close()
	defer src.Close()
	role := codec.ServerRole // the reader of client frames
	if dir == 1 {
		role = codec.ClientRole
	}
	var buf []byte
	head, skip := true, int64(0)
	chunk := make([]byte, 32<<10)
	for {
		n, err := src.Read(chunk)
		if n > 0 {
			if _, werr := dst.Write(chunk[:n]); werr != nil {
				return
			}
			buf = append(buf, chunk[:n]...)
		}
		for len(buf) > 0 {
			if head {
				i := bytes.Index(buf, []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				if dir == 1 {
					w.recordHead(buf[:i+4])
				}
				buf, head = buf[i+4:], false
				continue
			}
			if skip > 0 {
				k := min(skip, int64(len(buf)))
				buf, skip = buf[k:], skip-k
				continue
			}
			h, hn, perr := codec.ParseHeaderDeflate(buf, role, 0)
			if perr != nil {
				w.mu.Lock()
				w.err = perr
				w.mu.Unlock()
				return
			}
			if hn == 0 {
				break
			}
			w.mu.Lock()
			if !h.Opcode.IsControl() {
				w.all[dir]++
			}
			if h.Rsv == 4 {
				w.rsv1[dir]++
			}
			w.mu.Unlock()
			buf, skip = buf[hn:], h.Length
		}
		if err != nil {
			return
		}
	}
}

func (w *wireWatch) recordHead(head []byte) {
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Sec-WebSocket-Extensions") {
			w.mu.Lock()
			w.ext = strings.TrimSpace(value)
			w.mu.Unlock()
		}
	}
}

// expect fails unless the last 101 answered ext and at least min frames went compressed each way.
func (w *wireWatch) expect(t *testing.T, ext string, min int) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for {
		w.mu.Lock()
		e, rsv1, all, err := w.ext, w.rsv1, w.all, w.err
		w.mu.Unlock()
		if err != nil {
			t.Fatalf("a frame on the wire does not parse: %v", err)
		}
		if e == ext && rsv1[0] >= min && rsv1[1] >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("on the wire: extensions %q (want %q), compressed frames %v of %v (want %d each way)", e, ext, rsv1, all, min)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	answerDefault  = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	answerTakeover = "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
)

// deflateModes are the two modes, with the answer our server gives our client in each.
var deflateModes = []struct {
	name   string
	opts   *DeflateOptions
	answer string
}{
	{"default", &DeflateOptions{Threshold: 64}, answerDefault},
	{"takeover", &DeflateOptions{ContextTakeover: true, Threshold: 64}, answerTakeover},
}

// deflateEchoes dials url with opts, sends deflateMessage as text and binary, then each of more as
// text, and returns what came back in order: type, length and whether it is what was sent there.
func deflateEchoes(t *testing.T, url string, opts *ClientOptions, more ...string) []string {
	t.Helper()
	sent := append([]string{deflateMessage, deflateMessage}, more...)
	type message struct {
		typ      MessageType
		p, error string
	}
	got := make(chan message, len(sent)+2)
	opened := make(chan *Conn, 1)
	c, err := Connect(url, opts, func(c *Conn) { opened <- c })
	if err != nil {
		t.Fatal(err)
	}
	c.OnMessage(func(c *Conn, typ MessageType, p []byte) { got <- message{typ: typ, p: string(p)} })
	c.OnError(func(c *Conn, err error) { got <- message{error: "error " + err.Error()} })
	recv(t, opened)
	c.SendText(deflateMessage, nil)
	c.SendBinary([]byte(deflateMessage), nil)
	for _, m := range more {
		c.SendText(m, nil)
	}
	var out []string
	for i := range sent {
		m := recv(t, got)
		if m.error != "" {
			out = append(out, m.error)
			continue
		}
		out = append(out, fmt.Sprintf("%s %d %v", typeName(m.typ), len(m.p), m.p == sent[i]))
	}
	c.Close(1000, "")
	return out
}

func typeName(typ MessageType) string {
	if typ == TextMessage {
		return "text"
	}
	return "binary"
}

var deflateEchoed = []string{fmt.Sprintf("text %d true", len(deflateMessage)), fmt.Sprintf("binary %d true", len(deflateMessage))}

func TestDeflateSockets(t *testing.T) {
	for _, m := range deflateModes {
		t.Run(m.name, func(t *testing.T) {
			s, addr := startServer(t, &ServerOptions{Deflate: m.opts}, nil)
			s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
			w := newWireWatch(t, addr)
			got := deflateEchoes(t, "ws://"+w.addr+"/", &ClientOptions{Deflate: m.opts})
			if fmt.Sprint(got) != fmt.Sprint(deflateEchoed) {
				t.Fatalf("echoes %q, want %q", got, deflateEchoed)
			}
			w.expect(t, m.answer, 2)
		})
	}
}

// A broadcast reaches deflate connections compressed and plain ones as they are.
func TestDeflateBroadcast(t *testing.T) {
	s, addr := startServer(t, &ServerOptions{Deflate: &DeflateOptions{}}, nil)
	w := newWireWatch(t, addr)
	got := make(chan string, 8)
	var conns []*Conn
	for _, opts := range []*ClientOptions{{Deflate: &DeflateOptions{}}, {Deflate: &DeflateOptions{ContextTakeover: true}}, nil} {
		opened := make(chan *Conn, 1)
		c, err := Connect("ws://"+w.addr+"/", opts, func(c *Conn) { opened <- c })
		if err != nil {
			t.Fatal(err)
		}
		c.OnMessage(func(c *Conn, typ MessageType, p []byte) {
			got <- fmt.Sprintf("%s %v", typeName(typ), string(p) == deflateMessage)
		})
		conns = append(conns, recv(t, opened))
	}
	waitSockets(t, s, 3)
	pm, err := NewPreparedMessage(TextMessage, []byte(deflateMessage))
	if err != nil {
		t.Fatal(err)
	}
	s.Broadcast(pm)
	s.Broadcast(pm)
	pm.Release()
	for range 6 {
		if g := recv(t, got); g != "text true" {
			t.Fatalf("received %q", g)
		}
	}
	w.mu.Lock()
	rsv1, all := w.rsv1[1], w.all[1]
	w.mu.Unlock()
	if rsv1 != 4 || all != 6 {
		t.Fatalf("the server sent %d compressed frames of %d, want 4 of 6 (two subscribers with deflate)", rsv1, all)
	}
	for _, c := range conns {
		c.Close(1000, "")
	}
}

// nodeDeflateEvent is a line deflate_ws.js prints.
type nodeDeflateEvent struct {
	Ev         string `json:"ev"`
	Extensions string `json:"extensions,omitempty"`
	Len        int    `json:"len,omitempty"`
	Same       bool   `json:"same,omitempty"`
	Code       int    `json:"code,omitempty"`
	Port       int    `json:"port,omitempty"`
	Message    string `json:"message,omitempty"`
}

func (e nodeDeflateEvent) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// Node's ws client with perMessageDeflate against our server, in both modes.
func TestInteropDeflateWsClient(t *testing.T) {
	dir, node := wstest.Node(t, "ws")
	for _, m := range []struct {
		name   string
		opts   *DeflateOptions
		answer string
	}{
		{"default", &DeflateOptions{}, answerDefault},
		// ws offers client_max_window_bits without a value: the server bounds it to 12.
		{"takeover", &DeflateOptions{ContextTakeover: true}, answerTakeover},
	} {
		t.Run(m.name, func(t *testing.T) {
			s, addr := startServer(t, &ServerOptions{Deflate: m.opts}, nil)
			s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
			w := newWireWatch(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "interop", "deflate_ws.js"), "client", "ws://"+w.addr+"/")
			cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
			outb, err := cmd.Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, outb)
			}
			want := []nodeDeflateEvent{
				{Ev: "open", Extensions: "permessage-deflate"}, // ws.extensions names them; the wire has the parameters
				{Ev: "text", Len: len(deflateMessage), Same: true},
				{Ev: "binary", Len: len(deflateMessage), Same: true},
				{Ev: "close", Code: 1000},
			}
			if got := nodeDeflateEvents(t, outb); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("node printed\n %v\nwant\n %v", got, want)
			}
			w.expect(t, m.answer, 2)
		})
	}
}

// Our client with deflate against Node's ws server with perMessageDeflate, in both modes.
func TestInteropDeflateWsServer(t *testing.T) {
	dir, node := wstest.Node(t, "ws")
	for _, m := range []struct {
		name   string
		opts   *DeflateOptions
		answer string
	}{
		{"default", &DeflateOptions{Threshold: 64}, answerDefault},
		{"takeover", &DeflateOptions{ContextTakeover: true, Threshold: 64}, answerTakeover},
	} {
		t.Run(m.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "interop", "deflate_ws.js"), "server")
			cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(stdout)
			var port nodeDeflateEvent
			if !lines.Scan() || json.Unmarshal(lines.Bytes(), &port) != nil || port.Port == 0 {
				t.Fatalf("node server printed %q", lines.Text())
			}
			w := newWireWatch(t, fmt.Sprintf("127.0.0.1:%d", port.Port))
			got := deflateEchoes(t, "ws://"+w.addr+"/", &ClientOptions{Deflate: m.opts})
			if fmt.Sprint(got) != fmt.Sprint(deflateEchoed) {
				t.Fatalf("echoes %q, want %q", got, deflateEchoed)
			}
			w.expect(t, m.answer, 2)
			var rest []byte
			for range 4 { // connection, text, binary, close
				if !lines.Scan() {
					break
				}
				rest = append(append(rest, lines.Bytes()...), '\n')
			}
			stdin.Close()
			cmd.Wait()
			want := []nodeDeflateEvent{
				{Ev: "connection", Extensions: "permessage-deflate"},
				{Ev: "text", Len: len(deflateMessage), Same: true},
				{Ev: "binary", Len: len(deflateMessage), Same: true},
				{Ev: "close", Code: 1000},
			}
			if got := nodeDeflateEvents(t, rest); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("node server printed\n %v\nwant\n %v", got, want)
			}
		})
	}
}

func nodeDeflateEvents(t *testing.T, b []byte) []nodeDeflateEvent {
	t.Helper()
	var evs []nodeDeflateEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var ev nodeDeflateEvent
		if err := dec.Decode(&ev); err == io.EOF {
			return evs
		} else if err != nil {
			t.Fatalf("node printed %q: %v", b, err)
		}
		evs = append(evs, ev)
	}
}
