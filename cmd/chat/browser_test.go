package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// chatSocket is a page's WebSocket as the page saw it: its URL and the extensions it negotiated.
type chatSocket struct {
	URL        string
	Extensions string
}

// chatBrowserRun is what testdata/chat_browser.js printed: the message texts each page showed at
// each step, alice's page protocol, and both pages' WebSockets.
type chatBrowserRun struct {
	AliceBeforeLeave []string
	Alice            []string
	Bob              []string
	BobStatus        string
	FormsAfterJoin   []bool
	TextCleared      bool
	PageProtocol     string
	AliceSocket      chatSocket
	BobSocket        chatSocket
}

// chatLongText is what bob says in the browser: longer than the server's deflate threshold (512
// bytes), so that the line the server broadcasts goes compressed.
var chatLongText = strings.TrimSpace(strings.Repeat("the quick brown fox jumps over the lazy dog ", 24))

// runChatBrowser runs testdata/chat_browser.js, alice on the page at aliceURL and bob on the page
// at bobURL, with env added to its environment, within 35 s: Node with playwright-core drives
// headless Chromium, all found by wstest.Node and wstest.Chromium (make deps installs them), which
// fail the test when one is missing.
func runChatBrowser(t *testing.T, aliceURL, bobURL string, env ...string) chatBrowserRun {
	t.Helper()
	mods, node := wstest.Node(t, "playwright-core")
	chromium := wstest.Chromium(t)
	script, err := filepath.Abs(filepath.Join("testdata", "chat_browser.js"))
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 35*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, aliceURL)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+mods, "CHAT_CHROMIUM="+chromium, "NO_COLOR=1",
		"CHAT_BOB_URL="+bobURL, "CHAT_LONG_TEXT="+chatLongText), env...)
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
// bob join, alice says hello, bob says chatLongText, bob leaves.
func expectChatPages(t *testing.T, got chatBrowserRun) {
	t.Helper()
	long := "[bob] " + chatLongText
	if want := []string{"alice entered", "bob entered", "[alice] hello", long}; !slices.Equal(got.AliceBeforeLeave, want) {
		t.Errorf("alice's page before bob left: %q, want %q", got.AliceBeforeLeave, want)
	}
	if want := []string{"alice entered", "bob entered", "[alice] hello", long, "bob left"}; !slices.Equal(got.Alice, want) {
		t.Errorf("alice's page at the end: %q, want %q", got.Alice, want)
	}
	if want := []string{"bob entered", "[alice] hello", long}; !slices.Equal(got.Bob, want) {
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

// expectChatDeflate fails unless both pages connected to their URLs (alice's directly, bob's
// through w) with the permessage-deflate the server accepts, and unless w saw bob's 101 name it
// and compressed frames flow both ways: bob's long text compressed by Chromium, and of the three
// lines the server sent bob only the broadcast of that text, the one over the threshold.
func expectChatDeflate(t *testing.T, got chatBrowserRun, w *wstest.WireWatch, aliceWS, bobWS string) {
	t.Helper()
	if want := (chatSocket{aliceWS, chatDeflateAnswer}); got.AliceSocket != want {
		t.Errorf("alice's WebSocket %+v, want %+v", got.AliceSocket, want)
	}
	if want := (chatSocket{bobWS, chatDeflateAnswer}); got.BobSocket != want {
		t.Errorf("bob's WebSocket %+v, want %+v", got.BobSocket, want)
	}
	w.Expect(t, chatDeflateAnswer, 1)
	// bob sent his nickname and the long text; he received "bob entered", "[alice] hello" and
	// the long line.
	rsv1, all := w.Counts()
	t.Logf("on bob's wire: %v compressed of %v data frames (from bob, to bob)", rsv1, all)
	if all != [2]int{2, 3} || rsv1[0] < 1 || rsv1[1] != 1 {
		t.Errorf("on bob's wire: %v compressed of %v data frames (from bob, to bob), want at least 1 of 2 and 1 of 3", rsv1, all)
	}
}

// TestChatInChromium drives the real page in headless Chromium: testdata/chat_browser.js opens the
// page in two browser contexts. alice and bob join, alice says hello, bob says chatLongText, bob
// closes his page. bob's page goes through a wstest.WireWatch, which shows permessage-deflate
// negotiated and compressed frames both ways (expectChatDeflate).
func TestChatInChromium(t *testing.T) {
	wstest.CheckLeaks(t)
	srv, addr, log := startChat(t)
	w := wstest.NewWireWatch(t, addr)
	got := runChatBrowser(t, "http://"+addr+"/", "http://"+w.Addr+"/")

	// What the pages showed, and what went on bob's wire.
	expectChatPages(t, got)
	if got.PageProtocol != "http:" {
		t.Errorf("the page loaded over %q, want http:", got.PageProtocol)
	}
	expectChatDeflate(t, got, w, "ws://"+addr+"/", "ws://"+w.Addr+"/")

	// What the server broadcast, and to whom: alice is the one recipient of "alice entered"; when
	// the browser closed, alice left too, and no one was left to hear it.
	if to := log.wait(t, "alice left"); len(to) != 0 {
		t.Errorf(`"alice left" went to %v, want no one`, to)
	}
	want := []string{"alice entered", "bob entered", "[alice] hello", "[bob] " + chatLongText, "bob left", "alice left"}
	if !slices.Equal(log.all(), want) {
		t.Errorf("server broadcast %q, want %q", log.all(), want)
	}
	alice := log.wait(t, "alice entered")
	if len(alice) != 1 {
		t.Fatalf(`"alice entered" went to %v, want alice alone`, alice)
	}
	for _, line := range []string{"bob entered", "[alice] hello", "[bob] " + chatLongText} {
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
