// Command wsnode runs one node of a service whose topics cross nodes over NATS (package
// natsbroker). It serves what cmd/echo serves and the chat of cmd/chat, with their topics fanned
// out across every node:
//
//   - /echo echoes each message with its type;
//   - /broadcast sends every message it receives to every connection on /broadcast of every node,
//     the sender included;
//   - GET / answers the chat page, and a WebSocket upgrade on any other path joins the chat: one
//     room across the nodes;
//   - GET /stats answers cmd/echo's JSON object (heap_bytes, stack_bytes, goroutines,
//     connections) with the node's id (node), what its broker carried (broker_published,
//     broker_publish_errors, broker_received, broker_gaps) and, with an embedded NATS server,
//     that server's counters: nats_in_msgs and nats_out_msgs (every message it took and
//     sent), nats_peers (the servers it has routes to), nats_route_in_msgs and
//     nats_route_out_msgs (the messages of the service's account that came and went over
//     routes: one per publication and per other node that has a subscriber to its topic).
//
// It prints "listening on ADDR" once ready, logs nothing per connection or message, and on
// SIGINT or SIGTERM shuts down as cmd/echo does (a close frame with 1001 to every connection,
// then status 0).
//
// # NATS
//
// -nats embedded, the default, runs a NATS server in the process, its client listener on
// -nats-listen. With -nats-cluster it listens for routes there, and -nats-routes names the route
// listeners of the other nodes (a node may list its own: it skips it). Three nodes on one
// machine, each routed to the two others, form one cluster (run from the natsbroker folder):
//
//	go run ./cmd/wsnode -addr 127.0.0.1:8081 -nats-cluster 127.0.0.1:6221 -nats-routes 127.0.0.1:6221,127.0.0.1:6222,127.0.0.1:6223
//	go run ./cmd/wsnode -addr 127.0.0.1:8082 -nats-cluster 127.0.0.1:6222 -nats-routes 127.0.0.1:6221,127.0.0.1:6222,127.0.0.1:6223
//	go run ./cmd/wsnode -addr 127.0.0.1:8083 -nats-cluster 127.0.0.1:6223 -nats-routes 127.0.0.1:6221,127.0.0.1:6222,127.0.0.1:6223
//
// -nats nats://host:4222,nats://host2:4222 connects to an external NATS cluster instead, and
// runs no server of its own.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/program"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	nats := flag.String("nats", "embedded", "embedded: run a NATS server in the process; or the comma-separated nats:// URLs of an external NATS cluster")
	natsListen := flag.String("nats-listen", "127.0.0.1:0", "with -nats embedded: the NATS server's client host:port (port 0 picks a free port)")
	natsCluster := flag.String("nats-cluster", "", "with -nats embedded: the host:port the NATS server takes routes from (none: no cluster)")
	natsRoutes := flag.String("nats-routes", "", "with -nats-cluster: the other nodes' route listeners, comma-separated, each host:port or nats-route://host:port")
	node := flag.String("node", "", "this node's id in its messages and its NATS server's name (default: drawn at random)")
	deflate := flag.Bool("deflate", false, "permessage-deflate without context takeover")
	certFile := flag.String("tls-cert", "", "PEM certificate chain: serve wss:// and https:// (with -tls-key)")
	keyFile := flag.String("tls-key", "", "PEM private key of -tls-cert")
	flag.Parse()
	sig := program.CatchSignals() // before anything starts
	tlsConfig, err := program.LoadTLS(*certFile, *keyFile)
	if err != nil {
		fatal(err)
	}
	var deflateOpts *ws.DeflateOptions
	if *deflate {
		deflateOpts = &ws.DeflateOptions{}
	}
	cfg := brokerConfig{nats: *nats, listen: *natsListen, cluster: *natsCluster, routes: *natsRoutes, node: *node}
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "nats-listen", "nats-cluster", "nats-routes":
			cfg.serverFlags = append(cfg.serverFlags, "-"+f.Name)
		}
	})
	b, err := cfg.open()
	if err != nil {
		fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := program.Serve(newNode(b, tlsConfig, deflateOpts, logger), *addr, sig); err != nil {
		fatal(err)
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "wsnode:", err)
	os.Exit(1)
}
