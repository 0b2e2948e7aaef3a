package natsbroker

import (
	"testing"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// Publishing on a topic already published on allocates nothing: the frame comes from a pool, to
// which the writer gives it back once nats.go has copied it (here the test plays the writer, so
// that only Publish is counted; past it, nats.go and the server allocate per flush, not per
// publication of ours).
func TestPublishAllocs(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	b, err := Embedded(ServerOptions{DontListen: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	payload := make([]byte, 1024)
	publish := func() {
		if err := b.Publish("t", api.TextMessage, payload); err != nil {
			t.Fatal(err)
		}
		o := <-b.out
		if len(*o.buf) != len(b.header)+len(payload) {
			t.Fatalf("a frame of %d bytes", len(*o.buf))
		}
		b.bufs.Put(o.buf)
	}
	publish()
	if allocs := testing.AllocsPerRun(1000, publish); allocs != 0 {
		t.Errorf("%.2f allocations per Publish", allocs)
	}
}
