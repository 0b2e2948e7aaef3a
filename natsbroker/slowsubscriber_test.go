package natsbroker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// A WebSocket subscriber that stops reading is its own node's problem alone: its queue fills, the
// send-queue policy closes it (CloseSlowConnections), and every other subscriber, on its node and
// on the other, receives every publication in order, within a bounded time. The publications
// (16 MiB) are more than the kernel's buffers of the silent connection can take; a reader that
// keeps up is never closed (a burst larger than the cap and the kernel's buffers would close it
// too, as the policy says).
func TestSlowSubscriberAffectsNobodyElse(t *testing.T) {
	wstest.CheckLeaks(t)
	const n, size, batch = 4000, 4 << 10, 10
	ns := startNodes(t, 2, func(o *api.ServerOptions) {
		o.MaxQueuedBytes = 64 << 10
		o.CloseSlowConnections = true
	}, "room")
	fast := []*wsClient{dialNode(t, ns.addrs[0]), dialNode(t, ns.addrs[1])}
	wstest.Dial(t, ns.addrs[1], "/") // subscribes, then reads nothing
	waitFor(t, 5*time.Second, "every client subscribed", func() bool {
		return ns.servers[0].Subscribers("room") == 1 && ns.servers[1].Subscribers("room") == 2
	})
	waitFor(t, 10*time.Second, "the interest of node1 at node0", func() bool {
		if err := ns.servers[0].Publish("room", api.TextMessage, []byte("probe")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		return len(fast[1].received("probe")) > 0
	})

	// The readers keep up with a publisher that waits for them every batch (less than the
	// queue's cap): the silent subscriber falls behind by everything.
	pad := strings.Repeat("x", size)
	var want []string
	start := time.Now()
	for i := range n {
		msg := fmt.Sprintf("room %d %s", i, pad)[:size]
		want = append(want, msg)
		if err := ns.servers[0].Publish("room", api.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if (i+1)%batch == 0 {
			waitFor(t, 5*time.Second, "both readers to catch up", func() bool {
				return len(fast[0].received("room")) == i+1 && len(fast[1].received("room")) == i+1
			})
		}
	}
	t.Logf("%d publications of %d B at both readers in %v", n, size, time.Since(start))
	for i, c := range fast {
		if got := c.received("room"); !slices.Equal(got, want) {
			t.Errorf("the reader on node%d received %d publications, not all in order", i, len(got))
		}
	}
	waitFor(t, 5*time.Second, "the silent subscriber closed by its node's policy", func() bool {
		st := ns.servers[1].Stats()
		return st.SlowClosed == 1 && st.Open == 1
	})
	if st := ns.servers[0].Stats(); st.SlowClosed != 0 || st.Open != 1 {
		t.Errorf("node0 %+v: its reader was touched by node1's silent subscriber", st)
	}
}
