package natsbroker

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// wsClient is a WebSocket client of one node that records the texts it receives.
type wsClient struct {
	mu    sync.Mutex
	texts []string
}

// received returns the texts received so far that start with prefix.
func (c *wsClient) received(prefix string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range c.texts {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// testNodes are api.Servers, each with an embedded NATS node, clustered through routes.
type testNodes struct {
	servers []*api.Server
	addrs   []string // their WebSocket listeners
	brokers []*Broker
}

// startNodes starts n nodes whose connections subscribe to topics, each server's options tuned
// by tune if not nil, and waits for the routes between them.
func startNodes(t *testing.T, n int, tune func(*api.ServerOptions), topics ...string) testNodes {
	t.Helper()
	var ns testNodes
	var routes []string
	var natsServers []*server.Server
	for i := range n {
		b, err := Embedded(ServerOptions{Cluster: "127.0.0.1:0", Routes: slices.Clone(routes)}, Options{Node: fmt.Sprintf("node%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, "nats-route://"+b.Server().ClusterAddr().String())
		natsServers = append(natsServers, b.Server())
		ns.brokers = append(ns.brokers, b)
		opts := &api.ServerOptions{Broker: b}
		if tune != nil {
			tune(opts)
		}
		srv := api.CreateServer(opts, func(c *api.Conn) {
			for _, topic := range topics {
				c.Subscribe(topic)
			}
		})
		ns.servers = append(ns.servers, srv)
		ns.addrs = append(ns.addrs, serveLocal(t, srv))
	}
	waitRoutes(t, natsServers...)
	return ns
}

// dialNode opens a WebSocket client of the node at addr that records its texts.
func dialNode(t *testing.T, addr string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	c, err := api.Dial(ctx, "ws://"+addr+"/", nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(1000, "") })
	wc := &wsClient{}
	c.OnText(func(_ *api.Conn, text string) {
		wc.mu.Lock()
		wc.texts = append(wc.texts, text)
		wc.mu.Unlock()
	})
	return wc
}

// Three api.Servers, each with an embedded NATS node, clustered through routes: a publication on
// any node reaches every WebSocket client subscribed on every node, in order per publishing node,
// once each, without a gap; and it is one NATS message out of its node and one into each other
// node, however many clients are subscribed there.
func TestServersAcrossNodes(t *testing.T) {
	wstest.CheckLeaks(t) // Server.Close closes the broker, which shuts its NATS server down
	const nodes, clientsPerNode, n = 3, 3, 100
	var gapMu sync.Mutex
	var gaps []api.BrokerGap
	ns := startNodes(t, nodes, func(o *api.ServerOptions) {
		o.OnBrokerGap = func(g api.BrokerGap) {
			gapMu.Lock()
			gaps = append(gaps, g)
			gapMu.Unlock()
		}
	}, "room", "probe")
	servers, addrs, brokers := ns.servers, ns.addrs, ns.brokers

	var clients []*wsClient
	for i := range nodes {
		for range clientsPerNode {
			clients = append(clients, dialNode(t, addrs[i]))
		}
	}
	waitFor(t, 5*time.Second, "every client subscribed", func() bool {
		for _, srv := range servers {
			if srv.Subscribers("room") != clientsPerNode || srv.Subscribers("probe") != clientsPerNode {
				return false
			}
		}
		return true
	})
	// Interest on "probe" was joined after "room": once every client has a probe from every node,
	// every node knows the others' interest in "room".
	waitFor(t, 10*time.Second, "probes from every node at every client", func() bool {
		for i, srv := range servers {
			if err := srv.Publish("probe", api.TextMessage, []byte(fmt.Sprintf("probe %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
		for _, c := range clients {
			for i := range servers {
				if !slices.Contains(c.received("probe"), fmt.Sprintf("probe %d", i)) {
					return false
				}
			}
		}
		return true
	})

	// The counts of NATS messages are taken once the last probes have landed: when they no longer
	// change.
	counts := func() (in, out []uint64) {
		for _, b := range brokers {
			st := b.nc.Stats()
			in, out = append(in, st.InMsgs), append(out, st.OutMsgs)
		}
		return in, out
	}
	in, out := counts()
	waitFor(t, 5*time.Second, "the probes all landed", func() bool {
		time.Sleep(50 * time.Millisecond)
		in2, out2 := counts()
		still := slices.Equal(in, in2) && slices.Equal(out, out2)
		in, out = in2, out2
		return still
	})

	for seq := 1; seq <= n; seq++ {
		for i, srv := range servers {
			if err := srv.Publish("room", api.TextMessage, []byte(fmt.Sprintf("room node%d %d", i, seq))); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 10*time.Second, "every publication at every client", func() bool {
		for _, c := range clients {
			if len(c.received("room")) < nodes*n {
				return false
			}
		}
		return true
	})
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive meanwhile
	for i, b := range brokers {
		st := b.nc.Stats()
		if st.OutMsgs-out[i] != n || st.InMsgs-in[i] != (nodes-1)*n {
			t.Errorf("node %d sent %d NATS messages and received %d for %d publications of its own and %d of the others, to %d clients each",
				i, st.OutMsgs-out[i], st.InMsgs-in[i], n, (nodes-1)*n, clientsPerNode)
		}
	}
	gapMu.Lock()
	if len(gaps) != 0 {
		t.Errorf("gaps reported: %v", gaps)
	}
	gapMu.Unlock()
	for ci, c := range clients {
		got := c.received("room")
		if len(got) != nodes*n {
			t.Errorf("client %d received %d publications, want %d", ci, len(got), nodes*n)
		}
		for i := range servers {
			var want, from []string
			for seq := 1; seq <= n; seq++ {
				want = append(want, fmt.Sprintf("room node%d %d", i, seq))
			}
			for _, s := range got {
				if strings.HasPrefix(s, fmt.Sprintf("room node%d ", i)) {
					from = append(from, s)
				}
			}
			if !slices.Equal(from, want) {
				t.Errorf("client %d (node %d) received from node %d %d publications, out of order or not all: %.80q...", ci, ci/clientsPerNode, i, len(from), from)
			}
		}
	}
}

// serveLocal serves srv on a free loopback port until the test ends, and returns its address.
func serveLocal(t testing.TB, srv *api.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(nil) })
	return ln.Addr().String()
}
