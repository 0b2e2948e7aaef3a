package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/internal/chatpage"
	"github.com/wsloop/wsloop/internal/wstest"
)

// TestNodeServesEchoStatsAndPage: a node echoes on /echo, answers GET / with the chat page and
// GET /stats with cmd/echo's fields and its own, its id among them.
func TestNodeServesEchoStatsAndPage(t *testing.T) {
	c := startCluster(t, 1, nil)
	cl := c.dial(0, "/echo")
	cl.send(t, "echo me")
	if got := cl.next(t); got != "echo me" {
		t.Fatalf("/echo answered %q, want %q", got, "echo me")
	}
	st := c.stats(0)
	for _, k := range []string{"heap_bytes", "stack_bytes", "goroutines", "broker_published", "broker_received",
		"broker_gaps", "nats_in_msgs", "nats_out_msgs", "nats_route_in_msgs", "nats_route_out_msgs"} {
		if _, ok := st[k].(float64); !ok {
			t.Errorf("/stats has %s = %v, want a number", k, st[k])
		}
	}
	if st["node"] != "node0" || st["connections"] != float64(1) || st["nats_peers"] != float64(0) {
		t.Errorf("/stats: node %v, connections %v, nats_peers %v; want node0, 1, 0", st["node"], st["connections"], st["nats_peers"])
	}
	resp, body := wstest.Get(t, nil, "http://"+c.addr(0)+"/")
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, chatpage.Page) {
		t.Fatalf("GET / = %d with %d bytes, want 200 with the chat page (%d bytes)", resp.StatusCode, len(body), len(chatpage.Page))
	}
}

// TestNATSFlagsRefused: flags that cannot go together stop the node at once, with status 1 and
// the reason.
func TestNATSFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nats", "nats://127.0.0.1:1", "-nats-cluster", "127.0.0.1:0"}, "-nats-cluster: only with -nats embedded"},
		{[]string{"-nats", "http://127.0.0.1:1"}, `-nats: "http://127.0.0.1:1" is neither embedded nor a nats:// URL`},
		{[]string{"-nats-routes", "127.0.0.1:1"}, "Routes needs ServerOptions.Cluster"},
		{[]string{"-addr", "127.0.0.1"}, "-addr: "},
	} {
		binaries(t)
		var stderr bytes.Buffer
		cmd := exec.Command(bins.wsnode, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("wsnode %q: %v, stderr %q; want status 1 and %q", tc.args, err, stderr.String(), tc.want)
		}
	}
}

// TestNodeOnExternalNATS: a node started with -nats URL is a client of that NATS server (here
// the one embedded in another node, on its -nats-listen address), runs none of its own, and the
// broadcast crosses both ways between it and the node whose server it uses.
func TestNodeOnExternalNATS(t *testing.T) {
	ports := wstest.FreePorts(t, 3)
	c := &cluster{t: t, ws: ports[:2], nodes: make([]*nodeProcess, 2)}
	natsAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	c.run(0, "-nats-listen", natsAddr)
	c.run(1, "-nats", "nats://"+natsAddr)
	if st := c.stats(1); st["nats_in_msgs"] != nil || st["node"] != "node1" {
		t.Fatalf("the client node's /stats has nats_in_msgs %v and node %v, want none and node1", st["nats_in_msgs"], st["node"])
	}
	c.broadcastProbes([]int{0, 1})()
	c.broadcast([]int{1, 0})
	c.broadcast([]int{0, 1})
}

// TestNodesServeWSS: with -tls-cert and -tls-key every node serves wss://, and the broadcast
// crosses the nodes as over ws://.
func TestNodesServeWSS(t *testing.T) {
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
	c := startCluster(t, 2, &clusterTLS{certFile: certFile, keyFile: keyFile, client: clientCfg})
	c.broadcastProbes(c.all())()
	c.broadcast(c.all())
}
