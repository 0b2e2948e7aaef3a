package natsbroker

import (
	"errors"
	"testing"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// Closing three clustered nodes after traffic ends every goroutine and file they started (the
// brokers' and the embedded servers'), and a closed broker refuses what comes after.
func TestCloseIsClean(t *testing.T) {
	wstest.CheckLeaks(t) // checked after the nodes' cleanups
	nodes := startCluster(t, 3, nil)
	for _, nd := range nodes {
		nd.Join("t")
	}
	waitInterest(t, nodes, "probe")
	publishRun(t, nodes[0], "t", 1, 100)
	for _, nd := range nodes {
		if err := nd.Close(); err != nil {
			t.Fatal(err)
		}
		if err := nd.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := nd.Publish("t", api.TextMessage, []byte("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("Publish after Close: %v, want ErrClosed", err)
		}
		if err := nd.Open(&fakeSink{}); !errors.Is(err, ErrClosed) {
			t.Errorf("Open after Close: %v, want ErrClosed", err)
		}
		nd.Join("after")
		nd.Leave("t")
	}
}
