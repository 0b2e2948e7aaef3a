package main

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"testing"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// TestTesteeRunsEveryCase plays a small fuzzing server: two cases, each sending a text and a
// binary message that must come back unchanged, then the report request.
func TestTesteeRunsEveryCase(t *testing.T) {
	wstest.CheckLeaks(t)
	var mu sync.Mutex
	var seen []string
	echoed := map[string][][]byte{}
	srv := ws.CreateServer(nil, func(c *ws.Conn) {
		u, _ := url.Parse(c.Path())
		mu.Lock()
		seen = append(seen, u.Path+" "+u.Query().Get("case")+" "+u.Query().Get("agent"))
		mu.Unlock()
		switch u.Path {
		case "/getCaseCount":
			c.SendText("2", nil)
		case "/runCase":
			key := u.Query().Get("case")
			c.OnMessage(func(c *ws.Conn, _ ws.MessageType, p []byte) {
				mu.Lock()
				echoed[key] = append(echoed[key], bytes.Clone(p))
				n := len(echoed[key])
				mu.Unlock()
				if n == 2 {
					c.Close(1000, "")
				}
			})
			c.SendText("case "+key, nil)
			c.SendBinary([]byte{0, 1, 2, 0xff}, nil)
		case "/updateReports":
			c.Close(1000, "")
		}
	})
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(nil)
	if err := runTestee("ws://"+srv.Addr().String(), "wsloop test", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "/getCaseCount  |/runCase 1 wsloop test|/runCase 2 wsloop test|/updateReports  wsloop test"
	if got := strings.Join(seen, "|"); got != want {
		t.Fatalf("requests %q, want %q", got, want)
	}
	for _, k := range []string{"1", "2"} {
		if len(echoed[k]) != 2 || string(echoed[k][0]) != "case "+k || !bytes.Equal(echoed[k][1], []byte{0, 1, 2, 0xff}) {
			t.Fatalf("case %s echoed %q", k, echoed[k])
		}
	}
}
