package natsbroker

import (
	"bytes"
	"testing"

	"github.com/wsloop/wsloop/api"
)

// A frame carries the type, sequence, node and payload through; anything else is refused.
func TestFrameRoundTrip(t *testing.T) {
	f := append(frameHeader("node-7"), "hello"...)
	setFrame(f, api.BinaryMessage, 1<<40+3)
	typ, seq, node, payload, err := parseFrame(f)
	if err != nil || typ != api.BinaryMessage || seq != 1<<40+3 || string(node) != "node-7" || string(payload) != "hello" {
		t.Fatalf("parseFrame = %d %d %q %q %v", typ, seq, node, payload, err)
	}
	setFrame(f, api.TextMessage, 1)
	if typ, seq, _, _, _ := parseFrame(f); typ != api.TextMessage || seq != 1 {
		t.Fatalf("after setFrame(Text, 1): %d %d", typ, seq)
	}
	bad := [][]byte{nil, f[:frameFixed-1], f[:frameFixed+3], append([]byte{9}, f[1:]...),
		append(append([]byte{}, f[:1]...), append([]byte{3}, f[2:]...)...)}
	for _, b := range bad {
		if _, _, _, _, err := parseFrame(b); err != errBadFrame {
			t.Errorf("parseFrame(%q) = %v, want errBadFrame", b, err)
		}
	}
	if !bytes.Equal(frameHeader("")[:frameFixed], []byte{frameVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("frameHeader(\"\") = %v", frameHeader(""))
	}
}
