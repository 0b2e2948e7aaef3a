package main

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/chatpage"
	"github.com/wsloop/wsloop/internal/wstest"
)

// broadcastLog records what the server broadcast, and to whom.
type broadcastLog struct {
	mu    sync.Mutex
	lines []sent
}

type sent struct {
	line string
	to   []string // remote addresses
}

func (l *broadcastLog) record(line string, to []net.Addr) {
	s := sent{line: line}
	for _, a := range to {
		s.to = append(s.to, a.String())
	}
	slices.Sort(s.to)
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

// wait returns the recipients of the broadcast of line, waiting up to wstest.Timeout for it.
func (l *broadcastLog) wait(t *testing.T, line string) []string {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for {
		l.mu.Lock()
		for _, s := range l.lines {
			if s.line == line {
				l.mu.Unlock()
				return s.to
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the server never broadcast %q (broadcast: %q)", line, l.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *broadcastLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		out = append(out, s.line)
	}
	return out
}

// startChat runs the chat server on a free loopback port until the test ends.
func startChat(t *testing.T) (*ws.Server, string, *broadcastLog) {
	t.Helper()
	log := &broadcastLog{}
	srv := newChatServer(nil, nil, log.record)
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan struct{})
		srv.Close(func(*ws.Server) { close(done) })
		for c := range srv.Connections() {
			c.Close(1001, "test over")
		}
		select {
		case <-done:
		case <-time.After(wstest.Timeout):
			t.Error("the server's close event never fired")
		}
	})
	return srv, srv.Addr().String(), log
}

// join connects and sends nick as the first text.
func join(t *testing.T, addr, nick string) *wstest.Peer {
	t.Helper()
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte(nick))
	return p
}

func expectText(t *testing.T, p *wstest.Peer, texts ...string) {
	t.Helper()
	for _, s := range texts {
		p.ExpectFrame(codec.OpText, []byte(s))
	}
}

func addrs(ps ...*wstest.Peer) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Conn.LocalAddr().String())
	}
	slices.Sort(out)
	return out
}

func TestChatEnteredMessagesLeft(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, log := startChat(t)

	alice := join(t, addr, "alice")
	expectText(t, alice, "alice entered")
	bob := join(t, addr, "bob")
	expectText(t, bob, "bob entered")
	expectText(t, alice, "bob entered")
	if to := log.wait(t, "bob entered"); !slices.Equal(to, addrs(alice, bob)) {
		t.Fatalf(`"bob entered" went to %v, want alice and bob %v`, to, addrs(alice, bob))
	}

	// Each sender's messages reach everyone, the sender included, in the order sent.
	alice.WriteFrame(true, codec.OpText, []byte("hello"))
	alice.WriteFrame(true, codec.OpText, []byte("how are you?"))
	expectText(t, alice, "[alice] hello", "[alice] how are you?")
	expectText(t, bob, "[alice] hello", "[alice] how are you?")
	bob.WriteFrame(true, codec.OpText, []byte("fine, thanks"))
	expectText(t, bob, "[bob] fine, thanks")
	expectText(t, alice, "[bob] fine, thanks")
	// A text that looks like a nickname or an announcement is just a message.
	bob.WriteFrame(true, codec.OpText, []byte("alice left"))
	expectText(t, alice, "[bob] alice left")
	expectText(t, bob, "[bob] alice left")

	// bob leaves with a closing handshake: alice alone hears of it.
	bob.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, "bye"))
	if f := bob.MustFrame(); f.Op != codec.OpClose {
		t.Fatalf("bob got %v %q after closing, want only the close frame", f.Op, f.Payload)
	}
	if f, err := bob.ReadFrame(); err != io.EOF {
		t.Fatalf("bob got %v %q (err %v) after the close frame, want EOF", f.Op, f.Payload, err)
	}
	expectText(t, alice, "bob left")
	if to := log.wait(t, "bob left"); !slices.Equal(to, addrs(alice)) {
		t.Fatalf(`"bob left" went to %v, want alice alone %v`, to, addrs(alice))
	}
	alice.ExpectSilence(50 * time.Millisecond)

	want := []string{"alice entered", "bob entered", "[alice] hello", "[alice] how are you?",
		"[bob] fine, thanks", "[bob] alice left", "bob left"}
	if got := log.all(); !slices.Equal(got, want) {
		t.Fatalf("broadcast %q, want %q", got, want)
	}
}

func TestChatLeaveWithoutCloseFrame(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, log := startChat(t)
	alice := join(t, addr, "alice")
	expectText(t, alice, "alice entered")
	bob := join(t, addr, "bob")
	expectText(t, bob, "bob entered")
	expectText(t, alice, "bob entered")
	carol := join(t, addr, "carol")
	expectText(t, carol, "carol entered")
	expectText(t, alice, "carol entered")
	expectText(t, bob, "carol entered")

	// carol's TCP connection just ends.
	carolAddr := addrs(carol)
	carol.Conn.Close()
	expectText(t, alice, "carol left")
	expectText(t, bob, "carol left")
	to := log.wait(t, "carol left")
	if !slices.Equal(to, addrs(alice, bob)) || slices.Contains(to, carolAddr[0]) {
		t.Fatalf(`"carol left" went to %v, want alice and bob %v`, to, addrs(alice, bob))
	}
}

func TestChatConnectionWithoutNickname(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, log := startChat(t)
	lurker := wstest.Dial(t, addr, "/")
	alice := join(t, addr, "alice")
	expectText(t, alice, "alice entered")
	// A connection that has not chosen a nickname still receives every broadcast, as in the
	// original (server.connections holds it).
	expectText(t, lurker, "alice entered")
	alice.WriteFrame(true, codec.OpText, []byte("anyone here?"))
	expectText(t, alice, "[alice] anyone here?")
	expectText(t, lurker, "[alice] anyone here?")

	// Leaving before choosing a nickname is not announced.
	lurker.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	lurker.ExpectClose(1000)
	lurker.ExpectEOF()
	alice.ExpectSilence(200 * time.Millisecond)
	if got, want := log.all(), []string{"alice entered", "[alice] anyone here?"}; !slices.Equal(got, want) {
		t.Fatalf("broadcast %q, want %q", got, want)
	}
}

func TestChatServesPage(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _ := startChat(t)
	client := &http.Client{Timeout: wstest.Timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	resp, body := wstest.Get(t, client, "http://"+addr+"/")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(chatpage.Page) {
		t.Fatalf("GET / answered %d bytes, not the embedded page (%d bytes)", len(body), len(chatpage.Page))
	}
	for _, s := range []string{`new WebSocket(scheme + location.host + '/')`, `location.protocol === 'https:'`, `id="messages"`, `id="nickname"`, `id="text"`} {
		if !strings.Contains(string(body), s) {
			t.Errorf("the page lacks %s", s)
		}
	}

	resp, _ = wstest.Get(t, client, "http://"+addr+"/favicon.ico")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /favicon.ico = %d, want 404", resp.StatusCode)
	}
}

func countConns(srv *ws.Server) int {
	n := 0
	for range srv.Connections() {
		n++
	}
	return n
}
