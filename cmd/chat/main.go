// Command chat is nodejs-websocket's chat sample (samples/chat) as one program: a single port
// serves both the page and the WebSocket.
//
// GET / answers the chat page, embedded in the binary (every other plain HTTP request gets 404);
// WebSocket upgrades on any path join the chat. The first text a connection sends is its nickname
// and is broadcast as "<nick> entered"; every later text is broadcast as "[<nick>] <text>"; when
// the connection closes, "<nick> left" is broadcast to the connections that remain. A broadcast
// goes to every open connection, those that have not sent a nickname yet included, as in the
// original. Unlike the original, which announces "null left", a connection that closes before
// sending a nickname is not announced.
//
//	go run ./cmd/chat -addr 127.0.0.1:8080
//
// It prints the URL to open, logs nothing per connection or message, and exits cleanly on SIGINT
// or SIGTERM.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

//go:embed index.html
var page []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	flag.Parse()

	host, portText, err := net.SplitHostPort(*addr)
	if err != nil {
		fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		fatal(err)
	}
	srv := newChatServer(nil)
	if err := srv.Listen(port, host, nil); err != nil {
		fatal(err)
	}
	fmt.Printf("chat: open http://%s/\n", srv.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fatal(err)
	}
}

// shutdownGrace is how long a signalled server waits for its connections' closing handshakes.
const shutdownGrace = 5 * time.Second

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chat:", err)
	os.Exit(1)
}

// newChatServer builds the chat server; main and the tests share it. seen, if not nil, is called
// with every line broadcast and the remote addresses of the connections it was sent to; it runs
// on the loop of the connection that caused the broadcast and must not block.
func newChatServer(seen func(line string, to []net.Addr)) *ws.Server {
	var srv *ws.Server
	broadcast := func(line string) {
		var to []net.Addr
		for c := range srv.Connections() {
			c.SendText(line, nil)
			if seen != nil {
				to = append(to, c.RemoteAddr())
			}
		}
		if seen != nil {
			seen(line, to)
		}
	}
	srv = ws.CreateServer(&ws.ServerOptions{HTTPHandler: pageHandler()}, nil)
	// A connection's Data holds its nickname once it has sent one. Both handlers run on the
	// connection's own loop, so Data needs no lock.
	srv.OnText(func(c *ws.Conn, text string) {
		nick, named := c.Data.(string)
		if !named {
			c.Data = text
			broadcast(text + " entered")
			return
		}
		broadcast("[" + nick + "] " + text)
	})
	// The server drops a connection from Connections before its close handler runs, so the one
	// leaving is not among the recipients.
	srv.OnConnClose(func(c *ws.Conn, _ int, _ string) {
		if nick, named := c.Data.(string); named {
			broadcast(nick + " left")
		}
	})
	return srv
}

// pageHandler serves the chat page at GET /.
func pageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(page)
	})
	return mux
}
