package natsbroker

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsloop/wsloop/api"
)

// startServer starts a server with so and shuts it down at the test's end.
func startServer(t *testing.T, so ServerOptions) *server.Server {
	t.Helper()
	s, err := StartServer(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// hasGap says whether gap is among those sink reported.
func hasGap(s *fakeSink, gap api.BrokerGap) bool { return slices.Contains(s.gapList(), gap) }

// One node of three stops: the other two keep delivering to each other, and its publications
// fail meanwhile. Restarted on the same addresses, it rejoins the cluster, its broker reconnects
// and resubscribes, and it delivers again. Every side reports what it missed: the restarted
// node an unknown gap, then the numbers it missed from each of the others; they, the numbers
// its failed publications spent.
func TestClusterNodeStopsAndRestarts(t *testing.T) {
	ab := startCluster(t, 2, nil)
	a, b := ab[0], ab[1]
	routes := []string{"nats-route://" + a.Server().ClusterAddr().String(), "nats-route://" + b.Server().ClusterAddr().String()}
	// Node c's broker is a client of its server over TCP, so that it outlives the server.
	sc := startServer(t, ServerOptions{Cluster: "127.0.0.1:0", Routes: routes})
	cb, err := Connect(Options{URLs: []string{sc.ClientURL()}, Node: "nodeC", ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := open(t, cb)
	all := []node{a, b, c}
	waitRoutes(t, a.Server(), b.Server(), sc)

	const topic = "news"
	publishEverywhere(t, all, topic, 10) // the first round

	client, cluster := sc.Addr().String(), sc.ClusterAddr().String()
	sc.Shutdown()
	sc.WaitForShutdown()
	waitFor(t, 5*time.Second, "a and b see c gone, c's broker disconnected", func() bool {
		return a.Server().NumRemotes() == 1 && b.Server().NumRemotes() == 1 && !cb.connected.Load()
	})
	publishRun(t, a, topic, 11, 20)
	publishRun(t, b, topic, 11, 20)
	for range 5 { // c's numbers 11..15 are spent
		if err := c.Publish(topic, api.TextMessage, []byte("lost")); !errors.Is(err, ErrDisconnected) {
			t.Fatalf("publishing while disconnected: %v, want ErrDisconnected", err)
		}
	}
	waitFor(t, 5*time.Second, "a and b deliver to each other while c is down", func() bool {
		return len(a.sink.from(topic, b.Node())) == 20 && len(b.sink.from(topic, a.Node())) == 20
	})

	sc2 := startServer(t, ServerOptions{Listen: client, Cluster: cluster, Routes: routes})
	waitRoutes(t, a.Server(), b.Server(), sc2)
	waitFor(t, 5*time.Second, "c's broker reconnected", func() bool { return cb.connected.Load() })
	waitInterest(t, all, "probe2")
	publishRun(t, a, topic, 21, 30)
	publishRun(t, b, topic, 21, 30)
	publishRun(t, c, topic, 16, 25)
	waitFor(t, 5*time.Second, "the last round", func() bool {
		return len(a.sink.topic(topic)) == 50 && len(b.sink.topic(topic)) == 50 && len(c.sink.topic(topic)) == 40
	})

	for _, pair := range [][2]node{{a, b}, {b, a}} {
		to, from := pair[0], pair[1]
		if err := checkRun(to.sink.from(topic, from.Node()), from.Node(), 1, 30); err != nil {
			t.Errorf("at %s: %v", to.Node(), err)
		}
		fromC := to.sink.from(topic, c.Node())
		if err := checkRun(fromC[:10], c.Node(), 1, 10); err != nil {
			t.Errorf("at %s: %v", to.Node(), err)
		}
		if err := checkRun(fromC[10:], c.Node(), 16, 25); err != nil {
			t.Errorf("at %s: %v", to.Node(), err)
		}
		if want := []api.BrokerGap{{Topic: topic, Node: c.Node(), From: 11, To: 15}}; !slices.Equal(gapsOf(to.sink, topic), want) {
			t.Errorf("%s reported %v, want %v", to.Node(), gapsOf(to.sink, topic), want)
		}
	}
	for _, from := range []node{a, b} {
		msgs := c.sink.from(topic, from.Node())
		if err := checkRun(msgs[:10], from.Node(), 1, 10); err != nil {
			t.Errorf("at c: %v", err)
		}
		if err := checkRun(msgs[10:], from.Node(), 21, 30); err != nil {
			t.Errorf("at c: %v", err)
		}
		if gap := (api.BrokerGap{Topic: topic, Node: from.Node(), From: 11, To: 20}); !hasGap(c.sink, gap) {
			t.Errorf("c did not report %v: %v", gap, c.sink.gapList())
		}
	}
	if gap := (api.BrokerGap{Topic: topic}); !hasGap(c.sink, gap) {
		t.Errorf("c did not report the unknown gap %v: %v", gap, c.sink.gapList())
	}
	if n := len(gapsOf(c.sink, topic)); n != 3 {
		t.Errorf("c reported %d gaps on %s, want 3: %v", n, topic, c.sink.gapList())
	}
}

// gapsOf returns the gaps s reported on topic.
func gapsOf(s *fakeSink, topic string) []api.BrokerGap {
	var out []api.BrokerGap
	for _, g := range s.gapList() {
		if g.Topic == topic {
			out = append(out, g)
		}
	}
	return out
}

// A whole node (server and broker) of three is closed, and started again on the same route
// address under the same node id: the others deliver to each other meanwhile; back, it rejoins
// the cluster and delivers both ways again, its count starting over at 1, which the others take
// for a restart, not a gap. Nothing was lost on the way, so no gap is reported.
func TestClusterNodeRestartsWhole(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	const topic = "news"
	publishEverywhere(t, nodes, topic, 10) // the first round
	cluster := c.Server().ClusterAddr().String()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a and b see c gone", func() bool { return a.Server().NumRemotes() == 1 && b.Server().NumRemotes() == 1 })
	publishRun(t, a, topic, 11, 20)
	waitFor(t, 5*time.Second, "b receives a's while c is down", func() bool { return len(b.sink.from(topic, a.Node())) == 20 })

	routes := []string{"nats-route://" + a.Server().ClusterAddr().String(), "nats-route://" + b.Server().ClusterAddr().String()}
	cb, err := Embedded(ServerOptions{Cluster: cluster, Routes: routes}, Options{Node: c.Node()})
	if err != nil {
		t.Fatal(err)
	}
	c2 := open(t, cb)
	waitRoutes(t, a.Server(), b.Server(), cb.Server())
	c2.Join(topic)
	all := []node{a, b, c2}
	waitInterest(t, all, "probe2")
	publishRun(t, a, topic, 21, 30)
	publishRun(t, c2, topic, 1, 10)
	waitFor(t, 5*time.Second, "the last round", func() bool {
		return len(b.sink.topic(topic)) == 50 && len(a.sink.topic(topic)) == 30 && len(c2.sink.topic(topic)) == 10
	})
	if err := checkRun(b.sink.from(topic, a.Node()), a.Node(), 1, 30); err != nil {
		t.Error(err)
	}
	for _, to := range []node{a, b} {
		fromC := to.sink.from(topic, c.Node())
		if err := checkRun(fromC[:10], c.Node(), 1, 10); err != nil {
			t.Errorf("at %s: %v", to.Node(), err)
		}
		if err := checkRun(fromC[10:], c.Node(), 1, 10); err != nil {
			t.Errorf("at %s: %v", to.Node(), err)
		}
	}
	if err := checkRun(c2.sink.topic(topic), a.Node(), 21, 30); err != nil {
		t.Errorf("at the restarted node: %v", err)
	}
	for _, n := range all {
		if g := gapsOf(n.sink, topic); len(g) != 0 {
			t.Errorf("%s reported %v", n.Node(), g)
		}
	}
}
