package api

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// The records of a server's Broker (see ServerOptions.Logger).
const (
	// LogBrokerPublishFailed (Warn, at most 10 a second): Broker.Publish refused a publication of
	// the server, which reached the local subscribers only, or, with a HistoryBroker, nobody. The
	// record has the topic and the error.
	LogBrokerPublishFailed = "websocket: broker publish failed"
	// LogBrokerCloseFailed (Warn): Broker.Close, which Server.Close calls, failed. The record has
	// the error.
	LogBrokerCloseFailed = "websocket: broker close failed"
)

// logKeyTopic is the attribute of a broker's record that names the topic.
const logKeyTopic = "topic"

// brokerLink is a server's side of its Broker: the node's interest in topics, the sink the broker
// delivers to, and the counters of Stats. Its methods do nothing on a nil link (no broker).
//
// The locks, in the order they are taken: gate, then a shard's topicMu, then mu. Join and Leave
// are called under mu, Publish under gate; the sink's methods hold no lock while the broker or the
// user's callback runs, except gate while a delivery is queued on the loops.
type brokerLink struct {
	b Broker
	s *Server

	// gate orders Close after the calls in flight: Publish, Deliver and Gap hold it for reading
	// while they look at closed and use the broker or the shards, and close sets closed under it.
	gate   sync.RWMutex
	closed bool // set under gate and mu: either guards reading it

	// mu guards shards, and keeps Join and Leave in the order of the changes of interest they
	// follow.
	mu     sync.Mutex
	shards map[string]int // topic -> how many of the server's shards have a subscriber to it

	hist *historyLink // the recoveries, with a HistoryBroker; nil otherwise

	published, publishErrors, received, gaps atomic.Uint64
	errLimit                                 logLimit // of LogBrokerPublishFailed
}

// openBroker opens b for s and returns the link, nil if b is nil; an error is Open's.
func openBroker(s *Server, b Broker) (*brokerLink, error) {
	if b == nil {
		return nil, nil
	}
	l := &brokerLink{b: b, s: s}
	if hb, ok := b.(HistoryBroker); ok && hb.KeepsHistory() {
		l.hist = &historyLink{b: hb}
	}
	if err := b.Open(l); err != nil {
		return nil, err
	}
	return l, nil
}

// join counts a shard's first subscriber to topic, and joins topic on the broker when it is the
// server's first. The shard's topicMu is held.
func (l *brokerLink) join(topic string) { l.count(topic, 1) }

// leave counts a shard's last subscriber to topic leaving, and leaves topic on the broker when no
// shard has one. The shard's topicMu is held.
func (l *brokerLink) leave(topic string) { l.count(topic, -1) }

// count adds delta (1 or -1) to the shards with a subscriber to topic, and joins or leaves topic
// on the broker when that number leaves or reaches 0.
func (l *brokerLink) count(topic string, delta int) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if l.shards == nil {
		l.shards = make(map[string]int)
	}
	n := l.shards[topic] + delta
	if n > 0 {
		l.shards[topic] = n
	} else {
		delete(l.shards, topic)
	}
	switch {
	case delta > 0 && n == 1:
		l.b.Join(topic)
	case delta < 0 && n == 0:
		l.b.Leave(topic)
	}
}

// publish hands pm, a publication of the server, to the broker: for the other nodes, and with
// a HistoryBroker for the local subscribers too. A refusal is counted and logged. It reports false
// when the link is closed and pm went nowhere.
func (l *brokerLink) publish(topic string, pm *PreparedMessage) bool {
	l.gate.RLock()
	if l.closed {
		l.gate.RUnlock()
		return false
	}
	err := l.b.Publish(topic, pm.typ, pm.plain.Payload())
	l.gate.RUnlock()
	if err == nil {
		l.published.Add(1)
		return true
	}
	l.publishErrors.Add(1)
	if lg := l.s.opts.Logger; lg != nil {
		ll := listenerLog{l: lg} // the listener's limited records, under the link's own limit
		ll.log(&l.errLimit, slog.LevelWarn, LogBrokerPublishFailed, slog.String(logKeyTopic, topic),
			slog.String(logKeyError, err.Error()))
	}
	return true
}

// Deliver sends m to the local subscribers of m.Topic as Server.PublishPrepared would, with one
// prepared message for all of them, but does not hand it back to the broker. A message that
// NewPreparedMessage refuses (text that is not UTF-8) is dropped. After Server.Close it does
// nothing.
func (l *brokerLink) Deliver(m BrokerMessage) {
	l.gate.RLock()
	defer l.gate.RUnlock()
	if l.closed {
		return
	}
	l.received.Add(1)
	pm, err := l.prepare(m)
	if err != nil {
		return
	}
	if !l.hist.deliver(l, m, pm) {
		l.s.fanout(fanout{pm: pm, topic: m.Topic, toTopic: true})
	}
	pm.Release()
}

// Gap counts g and hands it to ServerOptions.OnBrokerGap, if set, under no lock. After
// Server.Close it does nothing.
func (l *brokerLink) Gap(g BrokerGap) {
	l.gate.RLock()
	closed := l.closed
	l.gate.RUnlock()
	if closed {
		return
	}
	l.gaps.Add(1)
	if fn := l.s.opts.OnBrokerGap; fn != nil {
		fn(g)
	}
}

// close stops the calls to the broker and to the sink's users once those in flight are done,
// then closes the broker, logging its error.
func (l *brokerLink) close() {
	if l == nil {
		return
	}
	l.gate.Lock()
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.gate.Unlock()
	l.hist.close(l)
	if err := l.b.Close(); err != nil {
		if lg := l.s.opts.Logger; lg != nil {
			lg.Warn(LogBrokerCloseFailed, slog.String(logKeyError, err.Error()))
		}
	}
}

// stats adds the link's counters to st.
func (l *brokerLink) stats(st *Stats) {
	if l == nil {
		return
	}
	st.BrokerPublished = l.published.Load()
	st.BrokerPublishErrors = l.publishErrors.Load()
	st.BrokerReceived = l.received.Load()
	st.BrokerGaps = l.gaps.Load()
}
