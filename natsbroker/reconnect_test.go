package natsbroker

import (
	"slices"
	"testing"
	"time"

	"github.com/wsloop/wsloop/api"
)

// A client's server restarts on the same address: the broker reconnects by itself, its interest
// is restored without a new Join (and a Join made while disconnected takes effect), messages flow
// again, and each topic joined at the reconnect is reported as an unknown gap.
func TestReconnectRestoresInterest(t *testing.T) {
	s := startServer(t, ServerOptions{})
	connectTo := func(name string) node {
		b, err := Connect(Options{URLs: []string{s.ClientURL()}, Node: name, ReconnectWait: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return open(t, b)
	}
	x, y := connectTo("x"), connectTo("y")
	y.Join("before")
	waitInterest(t, []node{x, y}, "probe1")
	publishRun(t, x, "before", 1, 5)
	waitFor(t, 5*time.Second, "the first messages", func() bool { return len(y.sink.topic("before")) == 5 })

	addr := s.Addr().String()
	s.Shutdown()
	s.WaitForShutdown()
	waitFor(t, 5*time.Second, "both disconnected", func() bool { return !x.connected.Load() && !y.connected.Load() })
	y.Join("during")
	startServer(t, ServerOptions{Listen: addr})
	waitFor(t, 5*time.Second, "both reconnected", func() bool { return x.connected.Load() && y.connected.Load() })
	waitInterest(t, []node{x, y}, "probe2")
	publishRun(t, x, "before", 6, 10)
	publishRun(t, x, "during", 1, 5)
	waitFor(t, 5*time.Second, "the messages after the restart", func() bool {
		return len(y.sink.topic("before")) == 10 && len(y.sink.topic("during")) == 5
	})
	if err := checkRun(y.sink.topic("before"), "x", 1, 10); err != nil {
		t.Error(err)
	}
	if err := checkRun(y.sink.topic("during"), "x", 1, 5); err != nil {
		t.Error(err)
	}
	if got, want := gapsOf(y.sink, "before"), []api.BrokerGap{{Topic: "before"}}; !slices.Equal(got, want) {
		t.Errorf("gaps on before: %v, want %v", got, want)
	}
	if got, want := gapsOf(y.sink, "during"), []api.BrokerGap{{Topic: "during"}}; !slices.Equal(got, want) {
		t.Errorf("gaps on during: %v, want %v", got, want)
	}
}
