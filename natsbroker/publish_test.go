package natsbroker

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/wsloop/wsloop/api"
)

// A publication too large for the server fails at once, and a full queue refuses one; each spends
// its number, so that the receivers report the gap.
func TestPublishErrorsSpendTheNumber(t *testing.T) {
	s := startServer(t, ServerOptions{})
	x, err := Connect(Options{URLs: []string{s.ClientURL()}, Node: "x"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := Connect(Options{URLs: []string{s.ClientURL()}, Node: "y"})
	if err != nil {
		t.Fatal(err)
	}
	nx, ny := open(t, x), open(t, y)
	ny.Join("t")
	waitInterest(t, []node{nx, ny}, "probe")
	publishRun(t, nx, "t", 1, 1)
	if err := nx.Publish("t", api.BinaryMessage, make([]byte, x.maxPayload.Load())); !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("a publication of max_payload bytes: %v, want nats.ErrMaxPayload", err)
	}
	publishRun(t, nx, "t", 3, 3)
	waitFor(t, 5*time.Second, "publication 3", func() bool { return len(ny.sink.topic("t")) == 2 })
	if got, want := gapsOf(ny.sink, "t"), []api.BrokerGap{{Topic: "t", Node: "x", From: 2, To: 2}}; !slices.Equal(got, want) {
		t.Errorf("gaps %v, want %v", got, want)
	}

	// A broker not opened has no writer: its queue of one fills with the first publication.
	z, err := Connect(Options{URLs: []string{s.ClientURL()}, PublishQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if err := z.Publish("t", api.TextMessage, nil); err != nil {
		t.Fatal(err)
	}
	if err := z.Publish("t", api.TextMessage, nil); !errors.Is(err, ErrQueueFull) {
		t.Errorf("a second publication into a queue of one: %v, want ErrQueueFull", err)
	}
	if p := z.pubs["t"]; p.seq != 2 {
		t.Errorf("after a refused publication the sequence is %d, want 2", p.seq)
	}
}
