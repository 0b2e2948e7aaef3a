package natsbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// buildNATSServer builds the nats-server command of the module's nats-server/v2 (a tool of this
// module) into dir, with the race detector when this test has it, so that the packages compiled
// for the test serve the build.
func buildNATSServer(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nats-server")
	args := []string{"build", "-o", bin}
	if wstest.RaceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, "github.com/nats-io/nats-server/v2")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// natsProcess is a nats-server process and the URLs it listens on.
type natsProcess struct {
	Client  []string `json:"nats"`
	Cluster []string `json:"cluster"`
}

// runNATSServer starts bin on loopback with random client and route ports, in cluster wsloop
// with routes, waits for the ports file in which it writes its URLs, and ends the process at the
// test's end.
func runNATSServer(t *testing.T, bin, dir string, routes ...string) natsProcess {
	t.Helper()
	args := []string{"-a", "127.0.0.1", "-p", "-1", "-cluster", "nats://127.0.0.1:-1", "-cluster_name", "wsloop", "-ports_file_dir", dir}
	if len(routes) > 0 {
		args = append(args, "-routes", strings.Join(routes, ","))
	}
	cmd := exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(dir, fmt.Sprintf("nats-server-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		wstest.AwaitExit(cmd, exited, 5*time.Second)
	})
	var p natsProcess
	ports := filepath.Join(dir, fmt.Sprintf("nats-server_%d.ports", cmd.Process.Pid))
	waitFor(t, 20*time.Second, "the ports file of nats-server", func() bool {
		data, err := os.ReadFile(ports)
		return err == nil && json.Unmarshal(data, &p) == nil && len(p.Client) > 0 && len(p.Cluster) > 0
	})
	return p
}

// Three nats-server processes built from the module form a cluster through routes; a broker
// that is a client of each delivers what any publishes to the two others, in order.
func TestExternalCluster(t *testing.T) {
	dir := t.TempDir()
	bin := buildNATSServer(t, dir)
	first := runNATSServer(t, bin, dir)
	second := runNATSServer(t, bin, dir, first.Cluster...)
	third := runNATSServer(t, bin, dir, first.Cluster[0], second.Cluster[0])
	var nodes []node
	for i, p := range []natsProcess{first, second, third} {
		b, err := Connect(Options{URLs: p.Client, Node: fmt.Sprintf("ext%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, open(t, b))
	}
	publishEverywhere(t, nodes, "ext.topic", 50)
}
