package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// upgradeStatus sends an upgrade request to addr (Host example.com) with origin as its Origin
// header (none when ""), and returns the response's status line.
func upgradeStatus(t *testing.T, addr, origin string) string {
	t.Helper()
	var header []string
	if origin != "" {
		header = append(header, "Origin: "+origin)
	}
	p := wstest.DialRaw(t, addr)
	defer p.Conn.Close()
	p.Write([]byte(wstest.Request("/", header...)))
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	line, err := bufio.NewReader(p.Conn).ReadString('\n')
	if err != nil {
		t.Fatalf("Origin %q: reading the status line: %v", origin, err)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// The chat refuses pages of other origins by default and lets in those -allow-origin names
// (repeated or comma-separated); clients without an Origin always get in. A malformed pattern
// stops the command at start.
func TestChatAllowOrigin(t *testing.T) {
	wstest.CheckLeaks(t)
	const ok, refused = "HTTP/1.1 101 Switching Protocols", "HTTP/1.1 403 Forbidden"
	_, addr, _ := startChat(t)
	for origin, want := range map[string]string{
		"":                         ok,
		"http://example.com":       ok, // the Host the request names
		"http://localhost:3000":    refused,
		"https://chat.example.org": refused,
	} {
		if got := upgradeStatus(t, addr, origin); got != want {
			t.Errorf("default chat, Origin %q: %q, want %q", origin, got, want)
		}
	}

	url, _ := startChatCommand(t, "-allow-origin", "localhost:3000", "-allow-origin", "*.example.org,other.example")
	addr = strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	for origin, want := range map[string]string{
		"":                         ok,
		"http://localhost:3000":    ok,
		"https://CHAT.example.org": ok,
		"http://other.example":     ok,
		"http://localhost:3001":    refused,
		"https://example.org":      refused,
		"null":                     refused,
	} {
		if got := upgradeStatus(t, addr, origin); got != want {
			t.Errorf("chat -allow-origin, Origin %q: %q, want %q", origin, got, want)
		}
	}

	t.Run("malformed", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-allow-origin", "[a-")
		cmd.Env = append(os.Environ(), "WSLOOP_RUN_CHAT=1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), `pattern "[a-": syntax error in pattern`) {
			t.Fatalf("exit %v, output %q; want exit 2 naming the pattern", err, out)
		}
	})
}
