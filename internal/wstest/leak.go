package wstest

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/poller"
)

// CheckLeaks records the pooled buffers lent, the goroutines and the open file descriptors now,
// and at the end of the test waits up to Timeout for each to come back to that count, failing the
// test if one does not. Call it first in a test, before anything it cleans up.
func CheckLeaks(t testing.TB) {
	t.Helper()
	if _, err := poller.Default(); err != nil { // its loops live as long as the process
		t.Fatal(err)
	}
	bufs, gor, fds := bufpool.Out(), runtime.NumGoroutine(), openFDs()
	t.Cleanup(func() {
		deadline := time.Now().Add(Timeout)
		for {
			nb, ng, nf := bufpool.Out(), runtime.NumGoroutine(), openFDs()
			if nb <= bufs && ng <= gor && nf <= fds {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("leak: buffers out %d (was %d), goroutines %d (was %d), open files %d (was %d)",
					nb, bufs, ng, gor, nf, fds)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}
