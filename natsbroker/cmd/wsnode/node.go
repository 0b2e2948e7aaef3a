package main

import (
	"crypto/tls"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats-server/v2/server"
	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/chatpage"
	"github.com/wsloop/wsloop/internal/echoserve"
	"github.com/wsloop/wsloop/internal/program"
	"github.com/wsloop/wsloop/natsbroker"
)

// newNode builds the node's server, its topics carried across the nodes by b: /echo, /broadcast
// and the chat on every other path (see the package documentation). It reads no request
// header, so an open connection keeps none.
func newNode(b *natsbroker.Broker, tlsConfig *tls.Config, deflate *ws.DeflateOptions, logger *slog.Logger) *ws.Server {
	var srv *ws.Server
	chat := chatpage.Chat{Broadcast: func(line string) { srv.Publish(chatpage.Room, ws.TextMessage, []byte(line)) }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", chatpage.ServePage)
	mux.Handle("GET /stats", echoserve.Stats(nil, func(fields map[string]any) { nodeStats(fields, srv, b) }))
	opts := &ws.ServerOptions{
		Broker:       b,
		HTTPHandler:  mux,
		TLSConfig:    tlsConfig,
		CloseTimeout: program.CloseTimeout,
		KeepHeaders:  ws.KeepNoHeaders,
		Deflate:      deflate,
		Logger:       logger,
	}
	srv = ws.CreateServer(opts, func(c *ws.Conn) {
		switch c.Path() {
		case "/echo":
			c.OnMessage(echoserve.Echo)
		case "/broadcast":
			echoserve.JoinBroadcast(c)
		default:
			c.Subscribe(chatpage.Room) // left when the connection closes
			c.OnText(chat.OnText)
			c.OnClose(chat.OnClose)
		}
	})
	return srv
}

// nodeStats adds to the fields of GET /stats the open connections, the node's id, its broker's
// counters and, when the broker runs an embedded NATS server, that server's. Stats walks the
// connections once for all of them.
func nodeStats(fields map[string]any, srv *ws.Server, b *natsbroker.Broker) {
	st := srv.Stats()
	fields["connections"] = st.Open
	fields["node"] = b.Node()
	fields["broker_published"] = st.BrokerPublished
	fields["broker_publish_errors"] = st.BrokerPublishErrors
	fields["broker_received"] = st.BrokerReceived
	fields["broker_gaps"] = st.BrokerGaps
	ns := b.Server()
	if ns == nil {
		return
	}
	if v, err := ns.Varz(nil); err == nil {
		fields["nats_in_msgs"] = v.InMsgs
		fields["nats_out_msgs"] = v.OutMsgs
	}
	fields["nats_peers"] = ns.NumRemotes()
	// The broker's connection is in the global account; the system account's own traffic
	// between the servers is left out.
	az, err := ns.AccountStatz(&server.AccountStatzOptions{Accounts: []string{server.DEFAULT_GLOBAL_ACCOUNT}})
	if err == nil && len(az.Accounts) == 1 {
		a := az.Accounts[0]
		if a.Received.Routes != nil && a.Sent.Routes != nil {
			fields["nats_route_in_msgs"] = a.Received.Routes.Msgs
			fields["nats_route_out_msgs"] = a.Sent.Routes.Msgs
		}
	}
}
