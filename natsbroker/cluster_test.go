package natsbroker

import (
	"testing"
	"time"
)

// Three embedded nodes clustered through routes: what any node publishes reaches each other
// node once, in order, numbered 1..N, and never the node that published it.
func TestClusterDeliversToEveryOtherNode(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	const topic, n = "room.*.>  with spaces", 200
	for _, nd := range nodes {
		nd.Join(topic)
	}
	waitInterest(t, nodes, "probe")
	for _, nd := range nodes {
		publishRun(t, nd, topic, 1, n)
	}
	waitFor(t, 10*time.Second, "every message on every other node", func() bool {
		for _, nd := range nodes {
			if len(nd.sink.topic(topic)) < 2*n {
				return false
			}
		}
		return true
	})
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive meanwhile
	for _, to := range nodes {
		if got := len(to.sink.topic(topic)); got != 2*n {
			t.Errorf("%s received %d messages, want %d", to.Node(), got, 2*n)
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
		if g := to.sink.gapList(); len(g) != 0 {
			t.Errorf("%s reported gaps %v", to.Node(), g)
		}
	}
}
