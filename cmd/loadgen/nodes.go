package main

import (
	"fmt"
	"io"
	"strings"
)

// Several nodes: -url may name the nodes of one service, a cluster whose /broadcast reaches the
// subscribers of every node. The connections are spread over them round robin (connection i on
// node i mod n), the broadcast publisher connects to the node -publish-on names, and the
// broadcast report gives each node's share: its subscribers, their deliveries and latency, and
// the faults found on its connections, so that a node that loses or reorders is named.

// urlList is the -url flag: repeatable, each value one URL or a comma-separated list of them.
// The first value given replaces the default.
type urlList struct {
	urls []string
	set  bool
}

func (l *urlList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.urls, ",")
}

// Set adds the URLs of one -url value.
func (l *urlList) Set(v string) error {
	if !l.set {
		l.urls, l.set = nil, true
	}
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSuffix(strings.TrimSpace(u), "/")
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return fmt.Errorf("%q is not ws://host:port or wss://host:port", u)
		}
		l.urls = append(l.urls, u)
	}
	return nil
}

// nextNode is the node of the next connection opened one at a time (handshake, churn): round
// robin over -url.
func (r *runner) nextNode() int {
	return int((r.nodeNext.Add(1) - 1) % uint64(len(r.cfg.urls)))
}

// NodeResult is one node's share of a broadcast. Its fault counts are those of the connections
// on the node, the publisher's own copies included when it is there; over all nodes they add up
// to the run's verification figures.
type NodeResult struct {
	URL             string        `json:"url"`
	Publisher       bool          `json:"publisher,omitempty"` // the publisher is on this node
	Subscribers     int           `json:"subscribers"`         // subscribers assigned to the node
	Opened          int64         `json:"subscribers_opened"`
	Deliveries      int64         `json:"deliveries"` // intact, to its subscribers
	Expected        int64         `json:"expected"`
	Latency         LatencyResult `json:"latency_us"` // publish to delivery
	Corrupted       int64         `json:"corrupted"`
	Lost            int64         `json:"lost"`
	Duplicated      int64         `json:"duplicated"`
	Reordered       int64         `json:"reordered"`
	DroppedWithConn int64         `json:"dropped_with_connection"`
	ConnsLost       int64         `json:"connections_lost"`
}

// nodeResults returns each node's share of broadcast b from conns, its subscribers and its
// publisher, once they are closed and accounted.
func (b *bcast) nodeResults(conns []*lconn) []NodeResult {
	cfg := b.r.cfg
	nodes := make([]NodeResult, len(cfg.urls))
	for i := range nodes {
		n := &nodes[i]
		n.URL = cfg.urls[i] + cfg.path
		n.Publisher = i == cfg.publishOn
		n.Latency = latencyOf(b.nodeHist[i].Snapshot())
	}
	for _, lc := range conns {
		n := &nodes[lc.node]
		lc.mu.Lock()
		if _, pub := lc.role.(publisher); !pub {
			n.Subscribers++
			if lc.opened.Load() {
				n.Opened++
				n.Deliveries += int64(lc.trk.fresh)
			}
		}
		n.Corrupted += int64(lc.trk.corrupt)
		n.Duplicated += int64(lc.trk.dups)
		n.Reordered += int64(lc.trk.late)
		if lc.dropped {
			n.ConnsLost++
			n.DroppedWithConn += lc.missed
		} else {
			n.Lost += lc.missed
		}
		lc.mu.Unlock()
	}
	for i := range nodes {
		nodes[i].Expected = nodes[i].Opened * int64(b.limit)
	}
	return nodes
}

// faults names what went wrong on the node, "" when nothing did.
func (n *NodeResult) faults() string {
	var parts []string
	for _, f := range []struct {
		n    int64
		what string
	}{
		{n.Corrupted, "corrupted"}, {n.Lost, "lost"}, {n.Duplicated, "duplicated"}, {n.Reordered, "reordered"},
		{n.DroppedWithConn, "dropped with a lost connection"}, {n.ConnsLost, "connections lost"},
	} {
		if f.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f.what, f.n))
		}
	}
	return strings.Join(parts, ", ")
}

// nodeFailures names the nodes with faults.
func nodeFailures(nodes []NodeResult) []string {
	var out []string
	for i := range nodes {
		if f := nodes[i].faults(); f != "" {
			out = append(out, fmt.Sprintf("node %d (%s): %s", i, nodes[i].URL, f))
		}
	}
	return out
}

// printNodes writes a line per node, when there are several.
func printNodes(w io.Writer, nodes []NodeResult) {
	if len(nodes) < 2 {
		return
	}
	for i := range nodes {
		n := &nodes[i]
		pub, health := "", "intact"
		if n.Publisher {
			pub = " (publisher)"
		}
		if f := n.faults(); f != "" {
			health = f
		}
		fmt.Fprintf(w, "%-13s%s%s: %d subscribers (%d open), %d of %d delivered, p50 %s p99 %s; %s\n",
			fmt.Sprintf("node %d", i), n.URL, pub, n.Subscribers, n.Opened, n.Deliveries, n.Expected,
			fmtUS(n.Latency.P50), fmtUS(n.Latency.P99), health)
	}
}
