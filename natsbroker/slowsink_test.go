package natsbroker

import (
	"slices"
	"testing"
	"time"

	"github.com/wsloop/wsloop/api"
)

// A sink that does not return on one node delays nobody else: another node receives all that is
// published meanwhile, and the stalled one, once let go, receives it all too, in order.
func TestSlowSinkDelaysNoOtherNode(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	pub, slow, fast := nodes[0], nodes[1], nodes[2]
	const topic, n = "busy", 500
	for _, nd := range nodes {
		nd.Join(topic)
	}
	waitInterest(t, nodes, "probe")
	release := slow.sink.stall()
	defer release()
	start := time.Now()
	publishRun(t, pub, topic, 1, n)
	waitFor(t, 3*time.Second, "every message at the node whose sink keeps up", func() bool { return len(fast.sink.topic(topic)) == n })
	t.Logf("%d messages through while another node's sink is stalled in %v", n, time.Since(start))
	if got := len(slow.sink.topic(topic)); got != 0 {
		t.Fatalf("the stalled sink recorded %d messages", got)
	}
	release()
	waitFor(t, 5*time.Second, "every message at the stalled node once let go", func() bool { return len(slow.sink.topic(topic)) == n })
	for _, nd := range []node{slow, fast} {
		if err := checkRun(nd.sink.topic(topic), pub.Node(), 1, n); err != nil {
			t.Errorf("at %s: %v", nd.Node(), err)
		}
		if g := gapsOf(nd.sink, topic); len(g) != 0 {
			t.Errorf("%s reported %v", nd.Node(), g)
		}
	}
}

// When a stalled sink lets the delivery queue fill, nats.go drops what does not fit: the topic is
// reported as an unknown gap at once, and the numbers missed as gaps once later messages come;
// what is delivered, and the gaps, make up every number exactly once.
func TestSlowConsumerReportsGaps(t *testing.T) {
	nodes := startCluster(t, 2, func(i int, o *Options) {
		if i == 1 {
			o.DeliveryQueue = 8
		}
	})
	pub, slow := nodes[0], nodes[1]
	const topic, n = "flood", 200
	slow.Join(topic)
	waitInterest(t, nodes, "probe")
	release := slow.sink.stall()
	base := slow.nc.Stats().InMsgs
	publishRun(t, pub, topic, 1, n)
	waitFor(t, 5*time.Second, "every message at the slow node's client, and the slow consumer reported", func() bool {
		return slow.nc.Stats().InMsgs-base == n && slices.Contains(slow.sink.gapList(), api.BrokerGap{Topic: topic})
	})
	release()
	waitFor(t, 5*time.Second, "the queued messages delivered", func() bool { return len(slow.sink.topic(topic)) >= 9 })
	time.Sleep(20 * time.Millisecond)
	publishRun(t, pub, topic, n+1, n+1) // reveals the numbers dropped at the end
	waitFor(t, 5*time.Second, "the last message", func() bool {
		msgs := slow.sink.topic(topic)
		return len(msgs) > 0 && msgs[len(msgs)-1].Seq == n+1
	})
	seen := make([]int, n+2)
	var last uint64
	for _, m := range slow.sink.topic(topic) {
		if m.Seq <= last || string(m.Payload) != payload(pub.Node(), m.Seq) {
			t.Fatalf("message %d %q after %d", m.Seq, m.Payload, last)
		}
		last = m.Seq
		seen[m.Seq]++
	}
	for _, g := range gapsOf(slow.sink, topic) {
		if g.Node == "" {
			continue
		}
		if g.Node != pub.Node() || g.From < 1 || g.To < g.From || g.To > n {
			t.Fatalf("gap %v", g)
		}
		for seq := g.From; seq <= g.To; seq++ {
			seen[seq]++
		}
	}
	for seq := 1; seq <= n+1; seq++ {
		if seen[seq] != 1 {
			t.Errorf("number %d is delivered or reported %d times", seq, seen[seq])
		}
	}
	// One message held by the stalled sink, 8 queued, and the last one.
	if d := len(slow.sink.topic(topic)); d != 1+8+1 {
		t.Errorf("%d of %d delivered through a queue of 8, want 10", d, n+1)
	}
}
