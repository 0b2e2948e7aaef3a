package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// bins holds the wsnode and loadgen binaries, built by the first test that needs them (binaries)
// into a folder that TestMain removes.
var bins struct {
	once            sync.Once
	dir             string
	wsnode, loadgen string
	err             error
}

// TestMain runs the tests, then removes the binaries.
func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// binaries builds wsnode and the main module's loadgen (which the natsbroker module reaches
// through its replace directive) once, for the tests to run as processes.
func binaries(t *testing.T) {
	t.Helper()
	bins.once.Do(func() {
		if bins.dir, bins.err = os.MkdirTemp("", "wsnode-test"); bins.err != nil {
			return
		}
		bins.wsnode, bins.loadgen = filepath.Join(bins.dir, "wsnode"), filepath.Join(bins.dir, "loadgen")
		for _, b := range [][2]string{{bins.wsnode, "."}, {bins.loadgen, "github.com/wsloop/wsloop/cmd/loadgen"}} {
			if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
}

// waitBound bounds every wait of these tests: a process's start and exit, the routes, the
// crossing of interest.
const waitBound = 15 * time.Second

// nodeProcess is a wsnode process.
type nodeProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // how it exited, set before exited is closed
}

// cluster is n wsnode processes on loopback, each routed to all: node i serves on port ws[i] and
// takes routes on port route[i]. With tls set, every node serves wss:// with its certificate.
type cluster struct {
	t         *testing.T
	ws, route []int
	nodes     []*nodeProcess
	tls       *clusterTLS
}

// clusterTLS is the nodes' certificate files and the clients' configuration that trusts it.
type clusterTLS struct {
	certFile, keyFile string
	client            *tls.Config
}

// startCluster starts n nodes, serving wss:// with tls set, and waits until each has routes to
// all the others.
func startCluster(t *testing.T, n int, tls *clusterTLS) *cluster {
	t.Helper()
	ports := wstest.FreePorts(t, 2*n)
	c := &cluster{t: t, ws: ports[:n], route: ports[n:], nodes: make([]*nodeProcess, n), tls: tls}
	for i := range n {
		c.start(i)
	}
	c.waitPeers(c.all(), n-1)
	return c
}

// all numbers every node of c.
func (c *cluster) all() []int {
	idx := make([]int, len(c.nodes))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// start runs node i, its embedded NATS server routed to every node's, and waits for its ready
// line.
func (c *cluster) start(i int) {
	c.t.Helper()
	var routes []string
	for _, p := range c.route {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
	}
	c.run(i, "-nats-cluster", fmt.Sprintf("127.0.0.1:%d", c.route[i]), "-nats-routes", strings.Join(routes, ","))
}

// run runs node i with the NATS flags natsArgs and waits for its ready line. The process is
// killed, if still running, when the test ends.
func (c *cluster) run(i int, natsArgs ...string) {
	t := c.t
	t.Helper()
	binaries(t)
	args := []string{"-addr", c.addr(i), "-node", fmt.Sprintf("node%d", i)}
	if c.tls != nil {
		args = append(args, "-tls-cert", c.tls.certFile, "-tls-key", c.tls.keyFile)
	}
	cmd := exec.Command(bins.wsnode, append(args, natsArgs...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	np := &nodeProcess{cmd: cmd, exited: make(chan struct{})}
	c.nodes[i] = np
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		np.err = cmd.Wait() // after the read: Wait closes out
		close(np.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-np.exited })
	select {
	case line := <-ready:
		if want := "listening on " + c.addr(i) + "\n"; line != want {
			t.Fatalf("node %d's ready line is %q, want %q", i, line, want)
		}
	case <-time.After(waitBound):
		t.Fatalf("node %d printed no ready line within %v", i, waitBound)
	}
}

// stop sends node i SIGTERM and waits for it to exit with status 0.
func (c *cluster) stop(i int) {
	t := c.t
	t.Helper()
	np := c.nodes[i]
	if err := np.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-np.exited:
		if np.err != nil {
			t.Fatalf("node %d exited: %v", i, np.err)
		}
	case <-time.After(waitBound):
		t.Fatalf("node %d still running %v after SIGTERM", i, waitBound)
	}
}

// addr is node i's host:port.
func (c *cluster) addr(i int) string { return fmt.Sprintf("127.0.0.1:%d", c.ws[i]) }

// url is node i's ws:// (or wss://) URL, without a path.
func (c *cluster) url(i int) string {
	if c.tls != nil {
		return "wss://" + c.addr(i)
	}
	return "ws://" + c.addr(i)
}

// stats is node i's GET /stats.
func (c *cluster) stats(i int) map[string]any {
	t := c.t
	t.Helper()
	scheme, client := "http", http.DefaultClient
	if c.tls != nil {
		scheme, client = "https", &http.Client{Transport: &http.Transport{TLSClientConfig: c.tls.client}}
		defer client.CloseIdleConnections()
	}
	resp, err := client.Get(scheme + "://" + c.addr(i) + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("node %d's /stats: %v", i, err)
	}
	return st
}

// waitPeers waits until each of the nodes idx has routes to want other servers.
func (c *cluster) waitPeers(idx []int, want int) {
	t := c.t
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for _, i := range idx {
		for {
			got := c.stats(i)["nats_peers"]
			if got == float64(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d has routes to %v servers after %v, want %d", i, got, waitBound, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// client is a WebSocket client whose texts are queued for the test.
type client struct {
	c     *ws.Conn
	texts chan string
}

// dial opens a client on path of node i; it is closed when the test ends. Its queue holds 4096
// texts.
func (c *cluster) dial(i int, path string) *client {
	t := c.t
	t.Helper()
	var opts *ws.ClientOptions
	if c.tls != nil {
		opts = &ws.ClientOptions{TLSConfig: c.tls.client}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	defer cancel()
	conn, err := ws.Dial(ctx, c.url(i)+path, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", c.url(i)+path, err)
	}
	cl := &client{c: conn, texts: make(chan string, 4096)}
	conn.OnText(func(_ *ws.Conn, text string) { cl.texts <- text })
	t.Cleanup(func() { conn.Close(ws.CloseNormalClosure, "") })
	return cl
}

// send sends text.
func (cl *client) send(t *testing.T, text string) {
	t.Helper()
	if err := cl.c.SendText(text, nil); err != nil {
		t.Fatal(err)
	}
}

// next returns the next text, failing after waitBound.
func (cl *client) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-cl.texts:
		return s
	case <-time.After(waitBound):
		t.Fatalf("no text within %v", waitBound)
		return ""
	}
}

// waitCrossed waits until what each of clients sends reaches all of them (the interest in their
// topic has crossed the routes between their nodes): each sends probes, say(i, k) sending the
// k-th of client i, until every client got a text that holds mark(i), which only i's probes
// hold. Other texts that come meanwhile are dropped.
func waitCrossed(t *testing.T, clients []*client, say func(i, k int), mark func(i int) string) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for i := range clients {
		got := make([]bool, len(clients))
		for k, missing := 0, len(clients); missing > 0; k++ {
			if time.Now().After(deadline) {
				t.Fatalf("probes of client %d reached %d of %d clients within %v", i, len(clients)-missing, len(clients), waitBound)
			}
			say(i, k)
			retry := time.After(100 * time.Millisecond)
		wait:
			for missing > 0 {
				for j, cl := range clients {
					select {
					case s := <-cl.texts:
						if !got[j] && strings.Contains(s, mark(i)) {
							got[j] = true
							missing--
						}
						continue wait
					default:
					}
				}
				select {
				case <-retry:
					break wait
				case <-time.After(time.Millisecond):
				}
			}
		}
	}
}

// nextNot returns the next text that does not hold skip (a late probe), failing after waitBound.
func (cl *client) nextNot(t *testing.T, skip string) string {
	t.Helper()
	for {
		if s := cl.next(t); !strings.Contains(s, skip) {
			return s
		}
	}
}
