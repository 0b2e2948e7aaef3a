package main

import (
	"strings"
	"testing"

	"github.com/wsloop/wsloop/internal/wstest"
)

// chatDeflateAnswer is the chat server's answer to a permessage-deflate offer: the default mode.
const chatDeflateAnswer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// The chat server accepts the permessage-deflate every browser offers, in the default mode.
func TestChatDeflate(t *testing.T) {
	_, addr, _ := startChat(t)
	p := wstest.Dial(t, addr, "/", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
	if want := "\r\nSec-WebSocket-Extensions: " + chatDeflateAnswer + "\r\n"; !strings.Contains(string(p.Response), want) {
		t.Fatalf("101 %q", p.Response)
	}
}
