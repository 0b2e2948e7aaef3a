package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ws "github.com/wsloop/wsloop/api"
)

// cluster stands for a service of several nodes: one api.Server per node, each on a loopback
// port of its own, and a hub that hands what a connection on /broadcast sends to every node,
// which publishes it to its own subscribers, as a broker between real nodes does. Other paths
// echo.
type cluster struct {
	nodes []*clusterNode
}

// clusterNode is one node of a cluster. A faulty node mishandles the publisher's message
// faultySeq for its subscribers: "drop" loses it, "reorder" sends it after the next one.
type clusterNode struct {
	srv   *ws.Server
	url   string
	fault string
	conns atomic.Int64 // connections opened on the node

	mu       sync.Mutex
	held     []byte
	heldType ws.MessageType
}

const (
	clusterTopic = "broadcast"
	faultySeq    = 3
)

// startCluster starts n nodes; faults gives the fault of some of them by index.
func startCluster(t *testing.T, n int, faults map[int]string) *cluster {
	t.Helper()
	cl := &cluster{}
	for i := range n {
		node := &clusterNode{fault: faults[i]}
		node.srv = ws.CreateServer(nil, func(c *ws.Conn) {
			node.conns.Add(1)
			if c.Path() == "/broadcast" {
				c.Subscribe(clusterTopic)
				c.OnMessage(cl.publish)
			}
		})
		node.srv.OnMessage(func(c *ws.Conn, typ ws.MessageType, p []byte) { c.SendMessage(typ, p, nil) })
		if err := node.srv.Listen(0, "127.0.0.1", nil); err != nil {
			t.Fatal(err)
		}
		stopServer(t, node.srv)
		node.url = "ws://" + node.srv.Addr().String()
		cl.nodes = append(cl.nodes, node)
	}
	return cl
}

// stopServer closes srv and its connections when the test ends.
func stopServer(t *testing.T, srv *ws.Server) {
	t.Cleanup(func() {
		done := make(chan struct{})
		srv.Close(func(*ws.Server) { close(done) })
		for c := range srv.Connections() {
			c.Close(1001, "")
		}
		<-done
	})
}

// publish hands a message sent on /broadcast to every node.
func (cl *cluster) publish(_ *ws.Conn, typ ws.MessageType, p []byte) {
	for _, node := range cl.nodes {
		node.deliver(typ, p)
	}
}

// deliver publishes a message to the node's subscribers, or mishandles it as the node's fault
// says.
func (n *clusterNode) deliver(typ ws.MessageType, p []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fault != "" {
		h, f := format{text: typ == ws.TextMessage, size: len(p)}.verify(typ, p)
		if f == faultNone && h.stream != syncStream && h.seq == faultySeq {
			if n.fault == "reorder" {
				n.held, n.heldType = append([]byte(nil), p...), typ
			}
			return
		}
	}
	n.srv.Publish(clusterTopic, typ, p)
	if n.held != nil {
		n.srv.Publish(clusterTopic, n.heldType, n.held)
		n.held = nil
	}
}

// urls is the cluster's -url, as a comma list.
func (cl *cluster) urls() string {
	var us []string
	for _, n := range cl.nodes {
		us = append(us, n.url)
	}
	return strings.Join(us, ",")
}

// conns returns how many connections each node has opened so far.
func (cl *cluster) conns() []int64 {
	var c []int64
	for _, n := range cl.nodes {
		c = append(c, n.conns.Load())
	}
	return c
}

// TestBroadcastAcrossNodes: ten subscribers spread over three nodes (4, 3, 3), the publisher on
// the second (given as -url twice, a list and one more): every subscriber gets every message,
// and the report gives each node's subscribers, deliveries and latency.
func TestBroadcastAcrossNodes(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3, nil)
	first, last := cl.nodes[0].url+","+cl.nodes[1].url, cl.nodes[2].url
	const messages = 200
	code, res := runLoadgen(t, "broadcast", "-url", first, "-url", last, "-publish-on", "1",
		"-c", "10", "-m", fmt.Sprint(messages), "-inflight", "4", "-d", "10s")
	expectPass(t, code, res)
	b := res.Broadcast
	if b.Deliveries != 10*messages || b.Expected != 10*messages || b.PublisherGot != messages {
		t.Errorf("broadcast %+v", b)
	}
	if len(res.URLs) != 3 || len(b.Nodes) != 3 {
		t.Fatalf("urls %v, nodes %+v", res.URLs, b.Nodes)
	}
	subs := []int{4, 3, 3}
	var samples uint64
	for i, n := range b.Nodes {
		want := int64(subs[i]) * messages
		if n.URL != cl.nodes[i].url+"/broadcast" || n.Publisher != (i == 1) || n.Subscribers != subs[i] ||
			n.Opened != int64(subs[i]) || n.Deliveries != want || n.Expected != want || n.faults() != "" {
			t.Errorf("node %d: %+v", i, n)
		}
		if l := n.Latency; l.Count != uint64(want) || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
			t.Errorf("node %d latency %+v", i, l)
		}
		samples += n.Latency.Count
	}
	if samples != res.Latency.Count {
		t.Errorf("%d latency samples over the nodes, %d overall", samples, res.Latency.Count)
	}
	if got := cl.conns(); !slices.Equal(got, []int64{4, 4, 3}) {
		t.Errorf("the nodes saw %v connections, want [4 4 3]", got)
	}
	var text strings.Builder
	res.print(&text)
	for _, want := range []string{
		fmt.Sprintf("node 0       %s/broadcast: 4 subscribers (4 open), 800 of 800 delivered, p50 ", cl.nodes[0].url),
		fmt.Sprintf("node 1       %s/broadcast (publisher): 3 subscribers (3 open), 600 of 600 delivered, p50 ", cl.nodes[1].url),
		fmt.Sprintf("node 2       %s/broadcast: 3 subscribers (3 open), 600 of 600 delivered, p50 ", cl.nodes[2].url),
		"; intact\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}

// TestBroadcastFaultyNode: a node that drops or reorders one message for its subscribers fails
// the run, and the fault is counted on that node alone; with the publisher there, its own copy
// counts there too.
func TestBroadcastFaultyNode(t *testing.T) {
	t.Parallel()
	const messages = 50
	for _, c := range []struct {
		fault, publishOn string
		lost, reordered  int64
		delivered        int64 // to node 2's two subscribers
	}{
		{"drop", "0", 2, 0, 2*messages - 2},
		{"reorder", "0", 0, 2, 2 * messages},
		{"drop", "2", 3, 0, 2*messages - 2}, // lost: two subscribers' and the publisher's own copy
	} {
		t.Run(c.fault+"-publisher-on-"+c.publishOn, func(t *testing.T) {
			cl := startCluster(t, 3, map[int]string{2: c.fault})
			code, res := runLoadgen(t, "broadcast", "-url", cl.urls(), "-publish-on", c.publishOn,
				"-c", "6", "-m", fmt.Sprint(messages), "-inflight", "4", "-d", "1s", "-drain", "300ms")
			if code != 1 || res.Pass {
				t.Fatalf("exit status %d, pass %v: want 1, false", code, res.Pass)
			}
			v, nodes := res.Verify, res.Broadcast.Nodes
			if v.Lost != c.lost || v.Reordered != c.reordered || v.Corrupted != 0 || v.Duplicated != 0 {
				t.Errorf("verification %+v", v)
			}
			for i, n := range nodes[:2] {
				if n.faults() != "" || n.Deliveries != 2*messages {
					t.Errorf("node %d: %+v", i, n)
				}
			}
			n := nodes[2]
			if n.Lost != c.lost || n.Reordered != c.reordered || n.Corrupted != 0 || n.Duplicated != 0 || n.ConnsLost != 0 {
				t.Errorf("node 2: %+v", n)
			}
			if n.Deliveries != c.delivered || n.Expected != 2*messages {
				t.Errorf("node 2: %d of %d delivered, want %d of %d", n.Deliveries, n.Expected, c.delivered, 2*messages)
			}
			want := fmt.Sprintf("node 2 (%s/broadcast): ", cl.nodes[2].url)
			if c.lost > 0 {
				want += fmt.Sprintf("lost %d", c.lost)
			} else {
				want += fmt.Sprintf("reordered %d", c.reordered)
			}
			if !slices.Contains(res.Failures, want) {
				t.Errorf("failures %q lack %q", res.Failures, want)
			}
		})
	}
}

// TestNodesOtherModes: echo, handshake and soak spread their connections over the nodes round
// robin; soak's publisher goes to -publish-on.
func TestNodesOtherModes(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3, nil)
	code, res := runLoadgen(t, "echo", "-url", cl.urls(), "-c", "6", "-inflight", "2", "-n", "300")
	expectPass(t, code, res)
	if got := cl.conns(); res.Messages.Received != 300 || !slices.Equal(got, []int64{2, 2, 2}) {
		t.Fatalf("echo: %d received, the nodes saw %v connections", res.Messages.Received, got)
	}
	code, res = runLoadgen(t, "handshake", "-url", cl.urls(), "-c", "3", "-n", "9")
	expectPass(t, code, res)
	if got := cl.conns(); res.Handshake.Upgrades != 9 || !slices.Equal(got, []int64{5, 5, 5}) {
		t.Fatalf("handshake: %d upgrades, the nodes saw %v connections", res.Handshake.Upgrades, got)
	}
	code, res = runLoadgen(t, "soak", "-url", cl.urls(), "-publish-on", "2", "-c", "3", "-rate", "100",
		"-subscribers", "3", "-broadcast-rate", "20", "-churn", "0", "-d", "1s", "-interval", "500ms", "-stats", "off")
	expectPass(t, code, res)
	if b := res.Broadcast; b.Deliveries < 3*10 || b.Deliveries != b.Expected {
		t.Errorf("soak: broadcast %+v", b)
	}
	if got := cl.conns(); !slices.Equal(got, []int64{7, 7, 8}) {
		t.Errorf("soak: the nodes saw %v connections, want [7 7 8]", got)
	}
}

// TestNodesFlags: -url is repeatable and takes comma lists; idle refuses several URLs, and
// -publish-on must name one of them.
func TestNodesFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"echo"}, "ws://127.0.0.1:8080"},
		{[]string{"broadcast", "-url", "ws://a:1, ws://b:2/", "-url", "wss://c:3", "-publish-on", "2"}, "ws://a:1 ws://b:2 wss://c:3"},
		{[]string{"idle", "-url", "ws://a:1"}, "ws://a:1"},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil || strings.Join(cfg.urls, " ") != c.want {
			t.Errorf("%q: %v, %v; want %s", c.args, cfg, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"idle", "-url", "ws://a:1,ws://b:2"}, "idle measures one server's memory per connection: give it one -url"},
		{[]string{"broadcast", "-url", "ws://a:1", "-url", "ws://b:2", "-publish-on", "2"}, "-publish-on 2: there are 2 URLs, numbered from 0"},
		{[]string{"broadcast", "-publish-on", "-1"}, "-publish-on -1: there are 1 URLs"},
		{[]string{"echo", "-url", "ws://a:1,,ws://b:2"}, `"" is not ws://host:port`},
		{[]string{"echo", "-url", "ws://a:1,http://b:2"}, `"http://b:2" is not ws://host:port`},
	} {
		var stderr strings.Builder
		if code := run(context.Background(), c.args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("%q: exit status %d, %q; want 2 and %q", c.args, code, stderr.String(), c.msg)
		}
	}
}
