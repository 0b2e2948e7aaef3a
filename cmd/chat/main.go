// Command chat is nodejs-websocket's chat sample (samples/chat) as one program: a single port
// serves both the page and the WebSocket.
//
// GET / answers the chat page, embedded in the binary (every other plain HTTP request gets 404);
// WebSocket upgrades on any path join the chat (internal/chatpage holds the page and the
// protocol). The first text a connection sends is its nickname and is broadcast as "<nick>
// entered"; every later text is broadcast as "[<nick>] <text>"; when the connection closes,
// "<nick> left" is broadcast to the connections that remain. A broadcast
// goes to every open connection, those that have not sent a nickname yet included, as in the
// original: every connection subscribes to the one room, a topic, as it opens, and a broadcast
// is published to the room, framed once for all its members. Unlike the original, which
// announces "null left", a connection that closes before sending a nickname is not announced.
//
//	go run ./cmd/chat -addr 127.0.0.1:8080
//
// It prints the URL to open, logs nothing per connection or message, and exits cleanly on SIGINT
// or SIGTERM.
//
// # Over TLS
//
// With -tls-cert and -tls-key (PEM files) the same port speaks TLS only: the page is served over
// https:// and, loaded from there, connects with wss:// (it picks the scheme from
// location.protocol). This stands for the original's wss sample (samples/wss), whose server was
// secure: true with key.pem and cert.pem. For a try on your own machine, make a self-signed
// certificate for localhost and 127.0.0.1, either with Go's own generator:
//
//	go run "$(go env GOROOT)/src/crypto/tls/generate_cert.go" -host localhost,127.0.0.1 -ecdsa-curve P256
//
// or with openssl:
//
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
//	    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
//	    -keyout key.pem -out cert.pem
//
// Both write cert.pem and key.pem in the current folder. Then
//
//	go run ./cmd/chat -addr 127.0.0.1:8443 -tls-cert cert.pem -tls-key key.pem
//
// and open https://127.0.0.1:8443/. The browser warns once about the unknown certificate; accept
// it for this site and the page's wss:// connection to the same host and port is accepted too
// (the original needed two ports and a reload for this). A plain http:// request on the TLS port
// gets 400 "Client sent an HTTP request to an HTTPS server": use https://.
//
// # Other origins
//
// A browser sends the page's origin with its upgrade request, and the server refuses with 403 an
// origin whose host is not the one the browser connects to (a page elsewhere using the chat in
// its visitors' name). The chat's own page is served from the same host and port, so it passes.
// To let pages served from elsewhere (a development server, say) connect, name their hosts,
// once per flag or comma-separated, as path.Match patterns matched against the origin's host
// and port in any case:
//
//	go run ./cmd/chat -allow-origin localhost:3000 -allow-origin '*.example.com'
//
// Clients that send no Origin (most non-browser clients) are always let in.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/chatpage"
	"github.com/wsloop/wsloop/internal/program"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	certFile := flag.String("tls-cert", "", "PEM certificate chain: serve https:// and wss:// (with -tls-key)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	var origins []string
	flag.Func("allow-origin", "also accept browsers on pages whose origin's host matches `pattern` (path.Match; repeatable or comma-separated)",
		func(v string) error {
			for _, p := range strings.Split(v, ",") {
				if _, err := path.Match(p, ""); err != nil {
					return fmt.Errorf("pattern %q: %w", p, err)
				}
				origins = append(origins, p)
			}
			return nil
		})
	flag.Parse()

	sig := program.CatchSignals() // before anyone can connect
	tlsConfig, err := program.LoadTLS(*certFile, *keyFile)
	if err != nil {
		fatal(err)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	srv := newChatServer(tlsConfig, origins, nil)
	err = program.Run(srv, *addr, sig, func(a net.Addr) { fmt.Printf("chat: open %s://%s/\n", scheme, a) })
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chat:", err)
	os.Exit(1)
}

// newChatServer builds the chat server, a secure one (https:// and wss://) when tlsConfig is not
// nil, which also lets in browsers on pages of the hosts origins match (ServerOptions.
// OriginPatterns); main and the tests share it. seen, if not nil, is called
// with every line broadcast and the remote addresses of the connections in the room when it was
// published; it runs on the loop of the connection that caused the broadcast and must not block.
func newChatServer(tlsConfig *tls.Config, origins []string, seen func(line string, to []net.Addr)) *ws.Server {
	var srv *ws.Server
	broadcast := func(line string) {
		if seen != nil {
			var to []net.Addr
			for c := range srv.Connections() {
				if slices.Contains(c.Topics(), chatpage.Room) {
					to = append(to, c.RemoteAddr())
				}
			}
			seen(line, to)
		}
		srv.Publish(chatpage.Room, ws.TextMessage, []byte(line))
	}
	// Chat lines are small JSON-like texts that browsers offer to compress: permessage-deflate in
	// its default mode costs a connection no memory, and a line published to the room is
	// compressed once for all.
	opts := &ws.ServerOptions{HTTPHandler: pageHandler(), TLSConfig: tlsConfig, OriginPatterns: origins,
		Deflate: &ws.DeflateOptions{}, CloseTimeout: program.CloseTimeout}
	srv = ws.CreateServer(opts, func(c *ws.Conn) {
		c.Subscribe(chatpage.Room) // left when the connection closes
	})
	chat := chatpage.Chat{Broadcast: broadcast}
	srv.OnText(chat.OnText)
	srv.OnConnClose(chat.OnClose)
	return srv
}

// pageHandler serves the chat page at GET /.
func pageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", chatpage.ServePage)
	return mux
}
