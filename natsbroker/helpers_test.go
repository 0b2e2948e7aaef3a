package natsbroker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsloop/wsloop/api"
)

// fakeSink is an api.BrokerSink that records what it is given. While hold is set, Deliver waits
// until hold is closed.
type fakeSink struct {
	mu   sync.Mutex
	msgs []api.BrokerMessage
	gaps []api.BrokerGap
	hold chan struct{}
}

func (s *fakeSink) Deliver(m api.BrokerMessage) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	m.Payload = slices.Clone(m.Payload)
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

// stall makes Deliver wait from now on; the function it returns (once or more) lets it go on.
func (s *fakeSink) stall() (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.hold = nil
		s.mu.Unlock()
		close(hold)
	})
}

func (s *fakeSink) Gap(g api.BrokerGap) {
	s.mu.Lock()
	s.gaps = append(s.gaps, g)
	s.mu.Unlock()
}

// topic returns the messages delivered on topic, in order.
func (s *fakeSink) topic(topic string) []api.BrokerMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []api.BrokerMessage
	for _, m := range s.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

// from returns the messages delivered on topic from node, in order.
func (s *fakeSink) from(topic, node string) []api.BrokerMessage {
	var out []api.BrokerMessage
	for _, m := range s.topic(topic) {
		if m.Node == node {
			out = append(out, m)
		}
	}
	return out
}

// gapList returns a copy of the gaps reported so far.
func (s *fakeSink) gapList() []api.BrokerGap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gaps)
}

// waitFor polls cond every 5 ms until it holds, and fails the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// node is a broker under test with its sink.
type node struct {
	*Broker
	sink *fakeSink
}

// open opens b on a new fake sink and closes it at the test's end.
func open(t testing.TB, b *Broker) node {
	t.Helper()
	n := node{b, &fakeSink{}}
	if err := b.Open(n.sink); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return n
}

// startCluster starts count embedded nodes, one by one, each with a route listener on a random
// loopback port and routes to those started before it, and waits until every server has a route
// to every other one. Node i is named "node<i>" and configured by configure, if not nil.
func startCluster(t testing.TB, count int, configure func(i int, o *Options)) []node {
	t.Helper()
	var nodes []node
	var routes []string
	for i := range count {
		o := Options{Node: fmt.Sprintf("node%d", i)}
		if configure != nil {
			configure(i, &o)
		}
		b, err := Embedded(ServerOptions{Cluster: "127.0.0.1:0", Routes: slices.Clone(routes), Name: fmt.Sprintf("n%d", i)}, o)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, open(t, b))
		routes = append(routes, "nats-route://"+b.Server().ClusterAddr().String())
	}
	var servers []*server.Server
	for _, n := range nodes {
		servers = append(servers, n.Server())
	}
	waitRoutes(t, servers...)
	return nodes
}

// waitRoutes waits until each server is routed to every other one.
func waitRoutes(t testing.TB, servers ...*server.Server) {
	t.Helper()
	waitFor(t, 10*time.Second, "routes between every server", func() bool {
		for _, s := range servers {
			if s.NumRemotes() != len(servers)-1 {
				return false
			}
		}
		return true
	})
}

// waitInterest makes every node join probe and publish on it until each of the others has
// received one of its probes. Interest travels in order through a server and its routes, so
// once a probe arrives, every topic joined before it is known where the probe came from.
func waitInterest(t testing.TB, nodes []node, probe string) {
	t.Helper()
	for _, n := range nodes {
		n.Join(probe)
	}
	waitFor(t, 10*time.Second, "interest on every node", func() bool {
		done := true
		for _, from := range nodes {
			for _, to := range nodes {
				if from.Broker != to.Broker && len(to.sink.from(probe, from.Node())) == 0 {
					from.Publish(probe, api.TextMessage, []byte("probe"))
					done = false
				}
			}
		}
		return done
	})
}

// checkRun says whether msgs are exactly the publications first..last of node, in order,
// each with the payload payload(node, seq).
func checkRun(msgs []api.BrokerMessage, node string, first, last uint64) error {
	if uint64(len(msgs)) != last-first+1 {
		return fmt.Errorf("%d messages from %s, want %d (%d..%d)", len(msgs), node, last-first+1, first, last)
	}
	for i, m := range msgs {
		seq := first + uint64(i)
		if m.Node != node || m.Seq != seq || m.Type != api.TextMessage || string(m.Payload) != payload(node, seq) {
			return fmt.Errorf("message %d is %s/%d %q (type %d), want %s/%d %q", i, m.Node, m.Seq, m.Payload, m.Type, node, seq, payload(node, seq))
		}
	}
	return nil
}

// payload is the text of node's publication seq in the tests.
func payload(node string, seq uint64) string { return fmt.Sprintf("%s says %d", node, seq) }

// publishRun publishes node's publications first..last on topic, failing the test on an error.
func publishRun(t testing.TB, n node, topic string, first, last uint64) {
	t.Helper()
	for seq := first; seq <= last; seq++ {
		if err := n.Publish(topic, api.TextMessage, []byte(payload(n.Node(), seq))); err != nil {
			t.Fatalf("%s publication %d: %v", n.Node(), seq, err)
		}
	}
}

// publishEverywhere has every node join topic and, once the interest has crossed, publish 1 to
// n on it: every node must receive every other node's run, in order and once, and none of its
// own.
func publishEverywhere(t *testing.T, nodes []node, topic string, n uint64) {
	t.Helper()
	for _, nd := range nodes {
		nd.Join(topic)
	}
	waitInterest(t, nodes, "probe")
	for _, nd := range nodes {
		publishRun(t, nd, topic, 1, n)
	}
	want := (len(nodes) - 1) * int(n)
	waitFor(t, 10*time.Second, "every message on every other node", func() bool {
		for _, nd := range nodes {
			if len(nd.sink.topic(topic)) < want {
				return false
			}
		}
		return true
	})
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive meanwhile
	for _, to := range nodes {
		if got := len(to.sink.topic(topic)); got != want {
			t.Errorf("%s received %d messages, want %d", to.Node(), got, want)
		}
		for _, from := range nodes {
			msgs := to.sink.from(topic, from.Node())
			if from.Broker == to.Broker {
				if len(msgs) != 0 {
					t.Errorf("%s received %d of its own publications", to.Node(), len(msgs))
				}
				continue
			}
			if err := checkRun(msgs, from.Node(), 1, n); err != nil {
				t.Errorf("at %s: %v", to.Node(), err)
			}
		}
	}
}
