package wstest

import (
	"io"
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
