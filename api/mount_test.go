package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

func TestMountOnNetHTTP(t *testing.T) {
	wstest.CheckLeaks(t)
	ws := CreateServer(nil, nil)
	ws.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	paths := make(chan string, 1)
	ws.OnConnection(func(c *Conn) { paths <- c.Path() })
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hi")) })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer ws.Close(nil)
	addr := strings.TrimPrefix(hs.URL, "http://")

	resp, err := http.Get(hs.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	p := wstest.Dial(t, addr, "/ws?room=1")
	if got := <-paths; got != "/ws?room=1" {
		t.Fatalf("path %q", got)
	}
	p.WriteFrame(true, codec.OpText, []byte("over net/http"))
	p.ExpectFrame(codec.OpText, []byte("over net/http"))
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	p.ExpectClose(1000)
	p.ExpectEOF()

	bad := wstest.DialRaw(t, addr)
	bad.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"))
	if head := string(bad.ReadHead()); !strings.HasPrefix(head, "HTTP/1.1 426 ") || !strings.Contains(head, "Sec-WebSocket-Version: 13\r\n") {
		t.Fatalf("version 8 through the mount answered %q", head)
	}
}
