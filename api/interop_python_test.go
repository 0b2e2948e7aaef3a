package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// permessage-deflate against Python's websockets (Debian's python3-websockets), whose default
// compresses every message, both ways and in both modes, through wireWatch: the 101 must carry the
// extension and RSV1 frames must flow each way, every message compressed by websockets and those
// at or above the threshold by us.

// pythonShort is the message below the default threshold that deflate_websockets.py also sends.
var pythonShort = deflateMessage[:100]

// pythonModes are the two modes with the default threshold, and the answer of the server in
// each: ours to websockets' offer ("permessage-deflate; client_max_window_bits") and websockets'
// (server_max_window_bits=12 and client_max_window_bits=12 by default) to ours.
var pythonModes = []struct {
	name         string
	opts         *DeflateOptions
	ours, theirs string
}{
	{"default", &DeflateOptions{}, answerDefault, pythonAnswerDefault},
	{"takeover", &DeflateOptions{ContextTakeover: true}, answerTakeover, pythonAnswerTakeover},
}

// websockets' server answers with its default windows of 12 bits, beside what our offer asked.
const (
	pythonAnswerDefault  = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"
	pythonAnswerTakeover = answerTakeover
)

// pythonScript runs deflate_websockets.py with python and args, bounded in time.
func pythonScript(t *testing.T, python string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	t.Cleanup(cancel)
	return exec.CommandContext(ctx, python, append([]string{filepath.Join("testdata", "interop", "deflate_websockets.py")}, args...)...)
}

// pythonEchoed is what each side sees of the three messages, in order.
var pythonEchoed = []nodeDeflateEvent{
	{Ev: "text", Len: len(deflateMessage), Same: true},
	{Ev: "binary", Len: len(deflateMessage), Same: true},
	{Ev: "text", Len: len(pythonShort), Same: true},
}

// websockets' client against our server: it compresses all three messages, our echo all but the
// short one.
func TestInteropPythonDeflateClient(t *testing.T) {
	python := wstest.Python(t, "websockets")
	for _, m := range pythonModes {
		t.Run(m.name, func(t *testing.T) {
			s, addr := startServer(t, &ServerOptions{Deflate: m.opts}, nil)
			s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
			w := wstest.NewWireWatch(t, addr)
			outb, err := pythonScript(t, python, "client", "ws://"+w.Addr+"/").Output()
			if err != nil {
				t.Fatalf("python: %v\n%s", err, outb)
			}
			want := append(append([]nodeDeflateEvent{{Ev: "open", Extensions: "permessage-deflate"}}, pythonEchoed...),
				nodeDeflateEvent{Ev: "close", Code: 1000})
			if got := nodeDeflateEvents(t, outb); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("python printed\n %v\nwant\n %v", got, want)
			}
			w.Expect(t, m.ours, 2)
			if rsv1 := w.WaitFrames(t, [2]int{3, 3}); rsv1 != [2]int{3, 2} {
				t.Fatalf("compressed frames %v of 3 each way, want [3 2]", rsv1)
			}
		})
	}
}

// Our client against websockets' server: we compress all but the short message, its echo all three.
func TestInteropPythonDeflateServer(t *testing.T) {
	python := wstest.Python(t, "websockets")
	for _, m := range pythonModes {
		t.Run(m.name, func(t *testing.T) {
			cmd := pythonScript(t, python, "server")
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stdin.Close(); cmd.Wait() }) // after a failure; a second Wait does nothing
			lines := bufio.NewScanner(stdout)
			var port nodeDeflateEvent
			if !lines.Scan() || json.Unmarshal(lines.Bytes(), &port) != nil || port.Port == 0 {
				t.Fatalf("python server printed %q", lines.Text())
			}
			w := wstest.NewWireWatch(t, fmt.Sprintf("127.0.0.1:%d", port.Port))
			got := deflateEchoes(t, "ws://"+w.Addr+"/", &ClientOptions{Deflate: m.opts}, pythonShort)
			want := append(append([]string(nil), deflateEchoed...), fmt.Sprintf("text %d true", len(pythonShort)))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("echoes %q, want %q", got, want)
			}
			w.Expect(t, m.theirs, 2)
			if rsv1 := w.WaitFrames(t, [2]int{3, 3}); rsv1 != [2]int{2, 3} {
				t.Fatalf("compressed frames %v of 3 each way, want [2 3]", rsv1)
			}
			var rest []byte
			for range 5 { // connection, three messages, close
				if !lines.Scan() {
					break
				}
				rest = append(append(rest, lines.Bytes()...), '\n')
			}
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("python server: %v", err)
			}
			want2 := append(append([]nodeDeflateEvent{{Ev: "connection", Extensions: "permessage-deflate"}}, pythonEchoed...),
				nodeDeflateEvent{Ev: "close", Code: 1000})
			if got := nodeDeflateEvents(t, rest); fmt.Sprint(got) != fmt.Sprint(want2) {
				t.Fatalf("python server printed\n %v\nwant\n %v", got, want2)
			}
		})
	}
}
