package natsbroker

import (
	"testing"
)

// Three embedded nodes clustered through routes: what any node publishes reaches each other
// node once, in order, numbered 1..N, and never the node that published it.
func TestClusterDeliversToEveryOtherNode(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	const topic = "room.*.>  with spaces"
	publishEverywhere(t, nodes, topic, 200)
	for _, to := range nodes {
		if g := to.sink.gapList(); len(g) != 0 {
			t.Errorf("%s reported gaps %v", to.Node(), g)
		}
	}
}
