package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// permessage-deflate on sockets, between our client and server and against Node's ws both ways.
// Every connection goes through wstest.WireWatch, a relay that parses the frames each way, so that
// the tests see on the wire that the extension was negotiated and that compressed (RSV1) frames
// were exchanged, not merely tolerated.

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
			w := wstest.NewWireWatch(t, addr)
			got := deflateEchoes(t, "ws://"+w.Addr+"/", &ClientOptions{Deflate: m.opts})
			if fmt.Sprint(got) != fmt.Sprint(deflateEchoed) {
				t.Fatalf("echoes %q, want %q", got, deflateEchoed)
			}
			w.Expect(t, m.answer, 2)
		})
	}
}

// A broadcast reaches deflate connections compressed and plain ones as they are.
func TestDeflateBroadcast(t *testing.T) {
	s, addr := startServer(t, &ServerOptions{Deflate: &DeflateOptions{}}, nil)
	w := wstest.NewWireWatch(t, addr)
	got := make(chan string, 8)
	var conns []*Conn
	for _, opts := range []*ClientOptions{{Deflate: &DeflateOptions{}}, {Deflate: &DeflateOptions{ContextTakeover: true}}, nil} {
		opened := make(chan *Conn, 1)
		c, err := Connect("ws://"+w.Addr+"/", opts, func(c *Conn) { opened <- c })
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
	rsv1, all := w.Counts()
	if rsv1[1] != 4 || all[1] != 6 {
		t.Fatalf("the server sent %d compressed frames of %d, want 4 of 6 (two subscribers with deflate)", rsv1[1], all[1])
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
			w := wstest.NewWireWatch(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "interop", "deflate_ws.js"), "client", "ws://"+w.Addr+"/")
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
			w.Expect(t, m.answer, 2)
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
			w := wstest.NewWireWatch(t, fmt.Sprintf("127.0.0.1:%d", port.Port))
			got := deflateEchoes(t, "ws://"+w.Addr+"/", &ClientOptions{Deflate: m.opts})
			if fmt.Sprint(got) != fmt.Sprint(deflateEchoed) {
				t.Fatalf("echoes %q, want %q", got, deflateEchoed)
			}
			w.Expect(t, m.answer, 2)
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
