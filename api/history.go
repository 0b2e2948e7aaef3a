package api

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// A HistoryBroker is a Broker that keeps a bounded history of each topic and numbers its
// publications, the same number on every node (BrokerMessage.TopicSeq), so that a client that
// reconnects, to any node, with the last number it saw receives what it missed
// (Conn.SubscribeFrom). The server type-asserts its Broker, and asks KeepsHistory once, at
// CreateServer.
//
// With history, a node's own publications come back to it through BrokerSink.Deliver, numbered
// like the others: Server.Publish does not deliver to the local subscribers at once but hands the
// publication to the broker only, so that every subscriber of a topic, on every node, receives its
// publications in the order of their numbers. (So a publication the broker refuses reaches nobody.)
//
// The broker's side of a recovery: Deliver is called for a topic in increasing TopicSeq, and
// History is called while the topic is joined.
type HistoryBroker interface {
	Broker
	// KeepsHistory reports whether the broker numbers, stores and echoes publications as
	// described above; if not, the server treats it as a plain Broker.
	KeepsHistory() bool
	// History calls fn, in order, for the publications of topic that it stores numbered after
	// after and up to upTo (all it stores up to there, for after 0), and returns upTo: the
	// publications of topic numbered up to upTo were delivered (their Deliver returned) before
	// History read it, and every one numbered above it reaches Deliver after History was called,
	// unless a BrokerGap reports it lost. fn's message is valid only during the call; an error of
	// fn ends History, which returns it. If after is not 0 and the history may have dropped some
	// publication numbered after it, History calls no fn and returns ErrHistoryGone. History is
	// called from a goroutine of the server's, not under its locks, and may be called while Close
	// runs (it then fails).
	History(topic string, after uint64, fn func(BrokerMessage) error) (upTo uint64, err error)
}

// historyLink is the server's side of a HistoryBroker: the connections recovering a topic.
//
// A recovery holds the node's interest in its topic (as a shard's subscriber does), asks the
// broker for the history, and meanwhile keeps what Deliver brings for the topic. Once the history
// is sent, it sends what it kept that is newer, then joins the topic's subscribers through a step
// queued on the connection's loop (a fanout whose act subscribes it), so that the fan-outs queued
// before reach it not, and those queued after do: no publication twice, none missed. If the
// connection already has more than this node delivered (it recovers from a node ahead of this
// one), it drains first: what Deliver brings up to what it has is skipped.
//
// The locks: a brokerLink's gate, then mu, then a shard's locks and the link's mu.
type historyLink struct {
	b HistoryBroker
	n atomic.Int32 // how many recoveries recs holds, so that Deliver looks only when there are some

	mu   sync.Mutex
	recs map[string][]*recovery // by topic
}

// recovery is one connection recovering one topic. Its fields are guarded by the historyLink's mu.
type recovery struct {
	c     *Conn
	sh    *shard
	topic string
	done  func(error)
	state recoveryState
	after uint64 // what the connection has: the number it recovers from, then what it was sent
	seen  uint64 // the greatest number Deliver brought since the recovery began
	kept  []kept // what Deliver brought while replaying
}

// kept is a publication Deliver brought during a replay, with its number; pm holds a reference.
type kept struct {
	pm  *PreparedMessage
	seq uint64
}

// recoveryState is where a recovery is.
type recoveryState uint8

const (
	replaying recoveryState = iota // History runs: Deliver keeps what it brings
	draining                       // Deliver skips what the connection has, then joins
	joining                        // the step that subscribes is queued: fan-outs must reach its shard
)

// SubscribeFrom subscribes the connection to topic as Subscribe does, after sending it, in order,
// the publications of topic that the server's HistoryBroker numbered after after (all that the
// history holds, for after 0): a client that reconnects with the last number it saw
// (BrokerMessage.TopicSeq, which ServerOptions.SequencedPayload puts into what clients receive)
// receives exactly what it missed, then the publications that follow, none twice, none missing,
// even while publications go on.
//
// It returns at once; done, if not nil, runs once on a goroutine of its own: with nil once the
// connection is subscribed, with ErrHistoryGone if the history no longer reaches back to after
// (nothing sent, not subscribed), ErrNoHistory without a HistoryBroker, ErrSubscribed if the
// connection is subscribed to topic or recovering it, ErrNotOpen if it is not an open server
// connection, or an error of the broker or of a send (a replay larger than the connection's send
// queue fails with ErrQueueFull), not subscribed then. Unsubscribe has no effect on a recovery
// that has not ended, and the topic must not be subscribed by other means meanwhile.
func (c *Conn) SubscribeFrom(topic string, after uint64, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	sh := c.shard.Load()
	if sh == nil || c.ReadyState() != Open {
		go done(ErrNotOpen)
		return
	}
	if sh.link == nil || sh.link.hist == nil {
		go done(ErrNoHistory)
		return
	}
	r := &recovery{c: c, sh: sh, topic: strings.Clone(topic), done: done, after: after}
	if err := sh.link.hist.start(sh.link, r); err != nil {
		go done(err)
		return
	}
	go sh.link.hist.recover(sh.link, r)
}

// start records r and holds the node's interest in its topic, unless its connection has the
// topic already.
func (h *historyLink) start(l *brokerLink, r *recovery) error {
	r.sh.topicMu.Lock()
	m := r.c.membership()
	subscribed := m != nil && m.find(r.topic) >= 0
	r.sh.topicMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if subscribed || slices.ContainsFunc(h.recs[r.topic], func(o *recovery) bool { return o.c == r.c }) {
		return ErrSubscribed
	}
	if h.recs == nil {
		h.recs = make(map[string][]*recovery)
	}
	h.recs[r.topic] = append(h.recs[r.topic], r)
	h.n.Add(1)
	l.join(r.topic)
	return nil
}

// recover replays the history to r's connection, sends what Deliver kept meanwhile, and joins or
// drains.
func (h *historyLink) recover(l *brokerLink, r *recovery) {
	last := r.after // read only by this goroutine until the replay ends
	upTo, err := h.b.History(r.topic, r.after, func(m BrokerMessage) error {
		pm, err := l.prepare(m)
		if err != nil {
			return nil // dropped, as Deliver drops it
		}
		err = r.c.SendPrepared(pm, nil)
		pm.Release()
		last = max(last, m.TopicSeq)
		return err
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range r.kept {
		if err == nil && k.seq > last {
			err = r.c.SendPrepared(k.pm, nil)
			last = k.seq
		}
		k.pm.Release()
	}
	r.kept = nil
	if err != nil {
		h.end(l, r, err)
		return
	}
	r.after = last
	if max(upTo, r.seen) >= r.after {
		h.join(r)
		return
	}
	r.state = draining
}

// deliver is Deliver's part with recoveries running: it keeps pm for those replaying, moves those
// draining on, and fans pm out, to the shards of those joining as well. It reports false, having
// done nothing, when no recovery runs. The link's gate is held for reading.
func (h *historyLink) deliver(l *brokerLink, m BrokerMessage, pm *PreparedMessage) bool {
	if h == nil || h.n.Load() == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var joinAfter []*recovery // those whose connection has m: they join once m is queued
	rs := h.recs[m.Topic]
	for i := len(rs) - 1; i >= 0; i-- { // backwards: end forgets r, moving only those seen
		r := rs[i]
		r.seen = max(r.seen, m.TopicSeq)
		switch {
		case r.state == replaying:
			pm.plain.Retain()
			r.kept = append(r.kept, kept{pm: pm, seq: m.TopicSeq})
		case r.state != draining:
		case r.c.ReadyState() != Open:
			h.end(l, r, ErrNotOpen)
		case m.TopicSeq > r.after:
			h.join(r)
		case m.TopicSeq == r.after:
			joinAfter = append(joinAfter, r)
		}
	}
	f := fanout{pm: pm, topic: m.Topic, toTopic: true}
	for _, sh := range l.s.shardList() {
		if sh.subscribers(m.Topic) > 0 || h.joiningOn(sh, m.Topic) {
			sh.enqueue(f)
		}
	}
	for _, r := range joinAfter {
		h.join(r)
	}
	return true
}

// joiningOn reports whether a connection of sh waits to join topic through a queued step, which
// the topic's fan-outs must follow on sh. h.mu is held.
func (h *historyLink) joiningOn(sh *shard, topic string) bool {
	return slices.ContainsFunc(h.recs[topic], func(r *recovery) bool { return r.state == joining && r.sh == sh })
}

// join queues on r's shard the step that subscribes r's connection to its topic and ends the
// recovery. h.mu is held; the step takes it not (a shard without a loop runs it at once).
func (h *historyLink) join(r *recovery) {
	r.state = joining
	r.sh.enqueue(fanout{act: func() {
		err := error(nil)
		if !r.c.Subscribe(r.topic) {
			err = ErrNotOpen
		}
		r.sh.link.leave(r.topic)
		go func() {
			h.mu.Lock()
			h.forget(r)
			h.mu.Unlock()
			r.done(err)
		}()
	}})
}

// end ends r with err: it forgets r, gives back the node's interest it held, and tells done.
// h.mu is held.
func (h *historyLink) end(l *brokerLink, r *recovery, err error) {
	h.forget(r)
	for _, k := range r.kept {
		k.pm.Release()
	}
	r.kept = nil
	l.leave(r.topic)
	go r.done(err)
}

// close ends the recoveries that wait for a delivery to join, with ErrServerClosed, once the
// server has closed its link: none will come. The others end by themselves (History fails, or
// the joining step runs or is run when its loop stops).
func (h *historyLink) close(l *brokerLink) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rs := range h.recs {
		for i := len(rs) - 1; i >= 0; i-- { // backwards: end forgets rs[i], moving only those seen
			if r := rs[i]; r.state == draining {
				h.end(l, r, ErrServerClosed)
			}
		}
	}
}

// forget takes r out of the recoveries. h.mu is held.
func (h *historyLink) forget(r *recovery) {
	rs := h.recs[r.topic]
	i := slices.Index(rs, r)
	if i < 0 {
		return
	}
	rs = slices.Delete(rs, i, i+1)
	if len(rs) == 0 {
		delete(h.recs, r.topic)
	} else {
		h.recs[r.topic] = rs
	}
	h.n.Add(-1)
}

// prepare frames what the subscribers receive of m: its payload, or what
// ServerOptions.SequencedPayload makes of it once numbered.
func (l *brokerLink) prepare(m BrokerMessage) (*PreparedMessage, error) {
	if fn := l.s.opts.SequencedPayload; fn != nil && m.TopicSeq != 0 {
		return NewPreparedMessage(m.Type, fn(m.Topic, m.TopicSeq, m.Payload))
	}
	return NewPreparedMessage(m.Type, m.Payload)
}
