package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// broadcastProbes keeps a client on /broadcast of each of the nodes idx, once the probes of each
// reached all of them, so that every node has its interest in the broadcast topic across the
// routes before loadgen's subscribers come. The clients close when the returned function is
// called or the test ends.
func (c *cluster) broadcastProbes(idx []int) func() {
	t := c.t
	t.Helper()
	var clients []*client
	for _, i := range idx {
		clients = append(clients, c.dial(i, "/broadcast"))
	}
	waitCrossed(t, clients, func(i, k int) { clients[i].send(t, fmt.Sprintf("probe %d %d", i, k)) },
		func(i int) string { return fmt.Sprintf("probe %d ", i) })
	return func() {
		for _, cl := range clients {
			cl.c.Close(1000, "")
		}
	}
}

// loadgenResult is what these tests read of loadgen's JSON.
type loadgenResult struct {
	Pass      bool     `json:"pass"`
	Failures  []string `json:"failures"`
	Broadcast struct {
		Deliveries int64 `json:"deliveries"`
		Expected   int64 `json:"expected"`
		Nodes      []struct {
			URL        string `json:"url"`
			Publisher  bool   `json:"publisher"`
			Opened     int64  `json:"subscribers_opened"`
			Deliveries int64  `json:"deliveries"`
			Expected   int64  `json:"expected"`
			Corrupted  int64  `json:"corrupted"`
			Lost       int64  `json:"lost"`
			Duplicated int64  `json:"duplicated"`
			Reordered  int64  `json:"reordered"`
		} `json:"nodes"`
	} `json:"broadcast"`
}

// Sizes of the loadgen runs: subscribers spread over the nodes, messages published on one.
const (
	runSubscribers = 300
	runMessages    = 300
)

// broadcast runs loadgen broadcast over the nodes idx, the publisher on the first, and checks
// that it passed (every payload delivered intact, in order, on every node: its exit status and
// its JSON) and that each node's subscribers got every message.
func (c *cluster) broadcast(idx []int) {
	t := c.t
	t.Helper()
	var urls []string
	for _, i := range idx {
		urls = append(urls, c.url(i))
	}
	binaries(t)
	jsonFile := filepath.Join(t.TempDir(), "broadcast.json")
	args := []string{"broadcast", "-url", strings.Join(urls, ","), "-publish-on", "0",
		"-c", strconv.Itoa(runSubscribers), "-m", strconv.Itoa(runMessages), "-inflight", "8",
		"-d", "20s", "-connect-timeout", "10s", "-drain", "2s", "-stats", "off", "-q", "-json", jsonFile}
	if c.tls != nil {
		args = append(args, "-insecure") // loadgen takes no CA: the certificate is the test's own
	}
	out, err := exec.Command(bins.loadgen, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("loadgen across %v: %v\n%s", urls, err, out)
	}
	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var res loadgenResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	b := &res.Broadcast
	if want := int64(runSubscribers * runMessages); !res.Pass || b.Deliveries != want || b.Expected != want {
		t.Fatalf("loadgen across %v: pass %v, %d of %d delivered (want %d), failures %q\n%s",
			urls, res.Pass, b.Deliveries, b.Expected, want, res.Failures, out)
	}
	if len(b.Nodes) != len(idx) {
		t.Fatalf("loadgen reported %d nodes, want %d", len(b.Nodes), len(idx))
	}
	for k, n := range b.Nodes {
		perNode := int64(runSubscribers / len(idx))
		if n.URL != urls[k]+"/broadcast" || n.Publisher != (k == 0) || n.Opened != perNode ||
			n.Deliveries != perNode*runMessages || n.Expected != n.Deliveries ||
			n.Corrupted+n.Lost+n.Duplicated+n.Reordered != 0 {
			t.Errorf("node %d in loadgen's report: %+v; want %s, %d subscribers with %d messages each, intact",
				idx[k], n, urls[k], perNode, runMessages)
		}
	}
}

// TestBroadcastAcrossThreeNodes: with three nodes routed to one another, loadgen's subscribers
// spread over them all get every message of the publisher on the first, in order, byte for byte,
// and each publication crossed to each other node once, not once per subscriber: the first
// node's server sent two messages over routes per publication and each other node's took one.
func TestBroadcastAcrossThreeNodes(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.broadcastProbes(c.all())()
	before := []map[string]any{c.stats(0), c.stats(1), c.stats(2)}
	c.broadcast(c.all())
	pubs := c.stats(0)["broker_published"].(float64) - before[0]["broker_published"].(float64)
	if pubs != runMessages+1 { // and loadgen's sync message
		t.Fatalf("node 0's broker published %v messages, want %d", pubs, runMessages+1)
	}
	delta := func(i int, key string) float64 { return c.stats(i)[key].(float64) - before[i][key].(float64) }
	if got := delta(0, "nats_route_out_msgs"); got != 2*pubs {
		t.Errorf("node 0 sent %v messages over routes for %v publications, want %v", got, pubs, 2*pubs)
	}
	for _, i := range []int{1, 2} {
		if got := delta(i, "nats_route_in_msgs"); got != pubs {
			t.Errorf("node %d took %v messages from routes for %v publications, want %v", i, got, pubs, pubs)
		}
		if got := delta(i, "broker_received"); got != pubs {
			t.Errorf("node %d's broker delivered %v messages, want %v", i, got, pubs)
		}
	}
}

// TestNodeStoppedAndRestarted: with one of three nodes stopped (SIGTERM, status 0), the two
// others keep delivering to each other; started again on its ports, it rejoins the cluster and
// its subscribers get every message again.
func TestNodeStoppedAndRestarted(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.stop(2)
	c.waitPeers([]int{0, 1}, 1)
	c.broadcastProbes([]int{0, 1})()
	c.broadcast([]int{0, 1})

	c.start(2)
	c.waitPeers(c.all(), 2)
	c.broadcastProbes(c.all())()
	c.broadcast([]int{2, 0, 1})
}

// TestChatRoomAcrossNodes: three chat clients on three nodes are in one room: each sees the
// others' lines, in the order they were said, and a client's leaving is announced on the other
// nodes.
func TestChatRoomAcrossNodes(t *testing.T) {
	c := startCluster(t, 3, nil)
	nicks := []string{"alice", "bob", "carol"}
	var clients []*client
	for i, nick := range nicks {
		cl := c.dial(i, "/")
		cl.send(t, nick)
		if got, want := cl.next(t), nick+" entered"; got != want {
			t.Fatalf("%s's first line is %q, want %q", nick, got, want)
		}
		clients = append(clients, cl)
	}
	waitCrossed(t, clients, func(i, k int) { clients[i].send(t, fmt.Sprintf("probe %d", k)) },
		func(i int) string { return "[" + nicks[i] + "] probe " })

	lines := []string{"hello from node 0", "hello from node 1", "hello from node 2"}
	var want []string
	for i, l := range lines {
		clients[i].send(t, l)
		want = append(want, "["+nicks[i]+"] "+l)
		for j, cl := range clients {
			if got := cl.nextNot(t, "] probe "); got != want[i] {
				t.Fatalf("%s's line after %q is %q, want %q", nicks[j], want[:i], got, want[i])
			}
		}
	}
	clients[1].c.Close(1000, "")
	for _, j := range []int{0, 2} {
		if got := clients[j].nextNot(t, "] probe "); got != "bob left" {
			t.Fatalf("%s's line after bob closed is %q, want %q", nicks[j], got, "bob left")
		}
	}
}
