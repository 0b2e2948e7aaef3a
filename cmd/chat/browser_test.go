package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// chatBrowserRun is what testdata/chat_browser.js printed: the message texts each page showed at
// each step, and the page's protocol and WebSocket URL.
type chatBrowserRun struct {
	AliceBeforeLeave []string
	Alice            []string
	Bob              []string
	BobStatus        string
	FormsAfterJoin   []bool
	TextCleared      bool
	PageProtocol     string
	SocketURL        string
}

// runChatBrowser runs testdata/chat_browser.js on the page at url, with env added to its
// environment, within 35 s: Node with playwright-core drives headless Chromium, all found by
// wstest.Node and wstest.Chromium (make deps installs them), which fail the test when one is
// missing.
func runChatBrowser(t *testing.T, url string, env ...string) chatBrowserRun {
	t.Helper()
	mods, node := wstest.Node(t, "playwright-core")
	chromium := wstest.Chromium(t)
	script, err := filepath.Abs(filepath.Join("testdata", "chat_browser.js"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 35*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, url)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+mods, "CHAT_CHROMIUM="+chromium, "NO_COLOR=1"), env...)
	// Node and the Chromium it starts share a process group, killed whole on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s after %v: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(script),
			time.Since(start).Round(time.Millisecond), err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("browser run took %v", time.Since(start).Round(time.Millisecond))
	var got chatBrowserRun
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("script output %q: %v", stdout.Bytes(), err)
	}
	return got
}

// expectChatPages fails unless the pages showed what the browser scenario must show: alice and
// bob join, alice says hello, bob leaves.
func expectChatPages(t *testing.T, got chatBrowserRun) {
	t.Helper()
	if want := []string{"alice entered", "bob entered", "[alice] hello"}; !slices.Equal(got.AliceBeforeLeave, want) {
		t.Errorf("alice's page before bob left: %q, want %q", got.AliceBeforeLeave, want)
	}
	if want := []string{"alice entered", "bob entered", "[alice] hello", "bob left"}; !slices.Equal(got.Alice, want) {
		t.Errorf("alice's page at the end: %q, want %q", got.Alice, want)
	}
	if want := []string{"bob entered", "[alice] hello"}; !slices.Equal(got.Bob, want) {
		t.Errorf("bob's page: %q, want %q", got.Bob, want)
	}
	if got.BobStatus != "Connected as bob." {
		t.Errorf("bob's status line: %q", got.BobStatus)
	}
	if want := []bool{false, true}; !slices.Equal(got.FormsAfterJoin, want) {
		t.Errorf("after joining, the nickname and message forms are visible: %v, want %v", got.FormsAfterJoin, want)
	}
	if !got.TextCleared {
		t.Error("the message field was not cleared after sending")
	}
}

// TestChatInChromium drives the real page in headless Chromium: testdata/chat_browser.js opens the
// page in two browser contexts. alice and bob join, alice says hello, bob closes his page.
func TestChatInChromium(t *testing.T) {
	wstest.CheckLeaks(t)
	srv, addr, log := startChat(t)
	got := runChatBrowser(t, "http://"+addr+"/")

	// What the pages showed.
	expectChatPages(t, got)
	if got.PageProtocol != "http:" || got.SocketURL != "ws://"+addr+"/" {
		t.Errorf("the page loaded over %q connected to %q, want ws://%s/", got.PageProtocol, got.SocketURL, addr)
	}

	// What the server broadcast, and to whom: alice is the one recipient of "alice entered"; when
	// the browser closed, alice left too, and no one was left to hear it.
	if to := log.wait(t, "alice left"); len(to) != 0 {
		t.Errorf(`"alice left" went to %v, want no one`, to)
	}
	want := []string{"alice entered", "bob entered", "[alice] hello", "bob left", "alice left"}
	if !slices.Equal(log.all(), want) {
		t.Errorf("server broadcast %q, want %q", log.all(), want)
	}
	alice := log.wait(t, "alice entered")
	if len(alice) != 1 {
		t.Fatalf(`"alice entered" went to %v, want alice alone`, alice)
	}
	for _, line := range []string{"bob entered", "[alice] hello"} {
		if to := log.wait(t, line); len(to) != 2 || !slices.Contains(to, alice[0]) {
			t.Errorf("%q went to %v, want alice (%s) and bob", line, to, alice[0])
		}
	}
	if to := log.wait(t, "bob left"); !slices.Equal(to, alice) {
		t.Errorf(`"bob left" went to %v, want alice alone %v`, to, alice)
	}

	// The browser is gone: so are its connections.
	deadline := time.Now().Add(wstest.Timeout)
	for n := countConns(srv); n != 0; n = countConns(srv) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the browser closed", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
