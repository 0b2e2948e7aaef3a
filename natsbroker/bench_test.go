package natsbroker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/api"
)

// countSink counts the deliveries of one topic and keeps the last sequence delivered.
type countSink struct {
	topic     string
	delivered atomic.Int64
	last      atomic.Uint64
}

func (s *countSink) Deliver(m api.BrokerMessage) {
	if m.Topic == s.topic {
		s.delivered.Add(1)
		s.last.Store(m.Seq)
	}
}

func (s *countSink) Gap(api.BrokerGap) {}

// Publications of 128 bytes from one embedded node to another through their route, as fast as
// the publish queue takes them, timed until the last is delivered. Core NATS drops what a
// receiver cannot take in time (here: its delivery queue overflows while the two nodes share
// the cores); the share lost is reported as lost/op.
func BenchmarkAcrossNodes(b *testing.B) {
	nodes := startCluster(b, 2, nil)
	pub, to := nodes[0], nodes[1]
	to.Join("t")
	waitInterest(b, nodes, "probe")
	// From now on the receiving node counts what it receives.
	to.Broker.subMu.Lock()
	sink := &countSink{topic: "t"}
	to.Broker.sink = sink
	to.Broker.subMu.Unlock()
	payload := make([]byte, 128)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for pub.Publish("t", api.TextMessage, payload) == ErrQueueFull {
			time.Sleep(10 * time.Microsecond)
		}
	}
	// Until the last publication is delivered, or nothing more comes for 100 ms (it was dropped).
	for prev, still := int64(-1), time.Now(); sink.last.Load() != uint64(b.N) && time.Since(still) < 100*time.Millisecond; {
		if n := sink.delivered.Load(); n != prev {
			prev, still = n, time.Now()
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(int64(b.N)-sink.delivered.Load())/float64(b.N), "lost/op")
}
