package wstest

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// AwaitExit waits up to grace for cmd, started, to end, exited receiving cmd.Wait's result, and
// kills it past grace. It returns whether the process ended by itself within grace, and Wait's
// error.
func AwaitExit(cmd *exec.Cmd, exited <-chan error, grace time.Duration) (inTime bool, err error) {
	select {
	case err := <-exited:
		return true, err
	case <-time.After(grace):
		cmd.Process.Kill()
		return false, <-exited
	}
}

// Get fetches url with client (http.DefaultClient when nil) and returns the response with its
// whole body, read and closed; a failed request or read fails t.
func Get(t testing.TB, client *http.Client, url string) (*http.Response, []byte) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, body
}

// FreePorts returns n loopback ports free at the time of the call, for servers that must know
// each other's addresses before they start. They are drawn below the kernel's ephemeral range
// (32768 and up by default), where the outgoing connections of the tests running beside these
// cannot take them between the check and the node's own bind.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			t.Fatalf("no %d free ports below the ephemeral range", n)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue // taken
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}
