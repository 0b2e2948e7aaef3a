// Command echo is the WebSocket server every check runs against, and with -client an
// Autobahn-style testee client.
//
// Paths / and /echo echo each message with its type; /broadcast sends every message it receives to
// every connection on /broadcast, the sender included; GET /stats answers a JSON object with the
// process's heap_bytes, stack_bytes, goroutines and connections. It prints one line with the bound
// address when ready and logs nothing per connection or message. It reads no request header, so
// an open connection keeps none (-keep-headers keeps them all, the library's default). On SIGINT or SIGTERM it shuts
// down: open connections get a close frame with 1001 and up to 5 s (the close timeout) to answer,
// connections still in their handshake are closed at once, and it exits with status 0 once every
// connection has ended (status 1 only if the shutdown failed).
//
// Keepalive is off by default. -ping-interval D pings a connection once nothing came from its
// peer for D; -pong-timeout D then closes it (1006) when nothing came within D after the ping;
// -idle-timeout D closes it (1001) after D with nothing from the peer. Each takes a Go duration
// (30s, 1m); 0 is off. They apply to the server and, with -client, to the testee.
//
// Permessage-deflate is off by default. -deflate enables it without context takeover (no
// compression state per connection); -deflate-takeover enables it with context takeover (a 4 KiB
// window each way per connection). They too apply to the server and, with -client, to the testee.
//
// -defer-accept sets ServerOptions.DeferAccept: the kernel hands a connection over once its
// upgrade request has come, and the request is answered where it was accepted. A client that
// connects and says nothing is then the kernel's for about a second, and a shutdown does not
// close it.
//
//	go run ./cmd/echo -addr 127.0.0.1:9001
//	go run ./cmd/echo -addr 127.0.0.1:9001 -ping-interval 30s -pong-timeout 10s
//	go run ./cmd/echo -addr 127.0.0.1:9443 -tls-cert cert.pem -tls-key key.pem   # wss://
//
// With -client URL it is instead the client a fuzzing server (wsconform client, Autobahn's
// fuzzingserver) tests: it fetches the case count from URL/getCaseCount, runs each case from
// URL/runCase?case=N&agent=NAME by echoing every message, then asks URL/updateReports.
//
//	go run ./cmd/echo -client ws://127.0.0.1:9001 -agent wsloop
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/echoserve"
	"github.com/wsloop/wsloop/internal/program"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	maxMessage := flag.Int("max-message", 0, "largest message accepted, in bytes (0: the 2 MiB default)")
	client := flag.String("client", "", "run as a testee client against the fuzzing server at this ws:// URL")
	agent := flag.String("agent", "wsloop", "agent name the testee client reports")
	certFile := flag.String("tls-cert", "", "PEM certificate chain: serve wss:// (with -tls-key)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	insecure := flag.Bool("insecure", false, "with -client wss://: do not verify the server's certificate")
	keepHeaders := flag.Bool("keep-headers", false, "keep every request header after the handshake (the library's default), to measure what that costs")
	pingInterval := flag.Duration("ping-interval", 0, "ping a connection after this long without traffic from its peer (0: off)")
	pongTimeout := flag.Duration("pong-timeout", 0, "with -ping-interval: close a connection that sent nothing within this long after a ping (0: off)")
	idleTimeout := flag.Duration("idle-timeout", 0, "close a connection after this long without traffic from its peer (0: off)")
	deflate := flag.Bool("deflate", false, "permessage-deflate without context takeover: no compression state per connection")
	deflateTakeover := flag.Bool("deflate-takeover", false, "permessage-deflate with context takeover: a 4 KiB window each way per connection")
	deferAccept := flag.Bool("defer-accept", false, "take a connection once its request has come and answer it where it was accepted (ServerOptions.DeferAccept)")
	flag.Parse()
	deflateOpts := deflateOptions(*deflate, *deflateTakeover)

	if *client != "" {
		opts := &ws.ClientOptions{MaxBufferLength: *maxMessage,
			PingInterval: *pingInterval, PongTimeout: *pongTimeout, IdleTimeout: *idleTimeout, Deflate: deflateOpts}
		if *insecure {
			opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		}
		if err := runTestee(*client, *agent, opts); err != nil {
			fatal(err)
		}
		return
	}

	sig := program.CatchSignals() // before anyone can connect
	tlsConfig, err := program.LoadTLS(*certFile, *keyFile)
	if err != nil {
		fatal(err)
	}
	srv := newEchoServer(*maxMessage, tlsConfig, *keepHeaders, func(o *ws.ServerOptions) {
		o.PingInterval, o.PongTimeout, o.IdleTimeout = *pingInterval, *pongTimeout, *idleTimeout
		o.Deflate = deflateOpts
		o.DeferAccept = *deferAccept
	})
	if err := program.Serve(srv, *addr, sig); err != nil {
		fatal(err)
	}
}

// deflateOptions returns the permessage-deflate of the flags: off, the default mode (-deflate), or
// context takeover (-deflate-takeover, which wins when both are given).
func deflateOptions(deflate, takeover bool) *ws.DeflateOptions {
	switch {
	case takeover:
		return &ws.DeflateOptions{ContextTakeover: true}
	case deflate:
		return &ws.DeflateOptions{}
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}

// newEchoServer builds the echo server (a secure one when tlsConfig is not nil); main and the
// tests share it. It reads no header, so its connections keep none once open unless keepHeaders
// asks for the library's default (all). Each of tune, if any, adjusts the options last.
func newEchoServer(maxMessage int, tlsConfig *tls.Config, keepHeaders bool, tune ...func(*ws.ServerOptions)) *ws.Server {
	var srv *ws.Server
	opts := &ws.ServerOptions{
		MaxBufferLength: maxMessage,
		TLSConfig:       tlsConfig,
		CloseTimeout:    program.CloseTimeout,
		HTTPHandler:     statsHandler(func() int { return echoserve.Connections(srv) }),
		KeepHeaders:     ws.KeepNoHeaders,
	}
	if keepHeaders {
		opts.KeepHeaders = nil
	}
	for _, f := range tune {
		f(opts)
	}
	srv = ws.CreateServer(opts, func(c *ws.Conn) {
		if c.Path() == "/broadcast" {
			echoserve.JoinBroadcast(c)
		}
	})
	srv.OnMessage(echoserve.Echo)
	return srv
}

// statsHandler serves GET /stats (echoserve.Stats).
func statsHandler(connections func() int) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /stats", echoserve.Stats(connections, nil))
	return mux
}
