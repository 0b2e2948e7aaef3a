package natsbroker

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wsloop/wsloop/api"
)

// History configures the history of topics on JetStream (Options.History). Every node of a
// service enables it, with the same Prefix, or none does.
//
// The broker keeps one JetStream stream over its subjects (Prefix + ".*"), which stores each
// topic's latest publications and republishes each one, once stored, numbered, on a subject of
// its own (Prefix + ".live." + the topic's token) that the nodes subscribe to. A topic's number
// is the stream's sequence (api.BrokerMessage.TopicSeq): the same on every node, growing with each
// publication, shared by all topics.
type History struct {
	// Count is how many of its latest publications each topic keeps: a client that missed at
	// most Count recovers them (the stream keeps one more, to tell). 0 means 100.
	Count int
	// Age is how long a publication is kept; a client whose last publication is older is told
	// the history is gone. 0 means no limit.
	Age time.Duration
	// Memory keeps the stream in memory instead of files: it does not survive its server.
	Memory bool
	// Replicas is how many servers of a JetStream cluster hold the stream; 0 means 1.
	Replicas int
	// Stream names the stream; "" means Prefix with '.' made '_', then "_history".
	Stream string
	// Timeout bounds each request to JetStream; 0 means 5 s. Connect and Embedded wait up to
	// twice as long for JetStream to accept the stream (a JetStream cluster elects its leader
	// first).
	Timeout time.Duration
}

// Errors of History.
var (
	// ErrNotJoined says that History was asked for a topic this node has not joined.
	ErrNotJoined = errors.New("natsbroker: history of a topic not joined")
	// ErrHistoryUnavailable says that JetStream could not be asked where the topic's history
	// stood when the node joined it, so that what History would give cannot be joined to what
	// arrives.
	ErrHistoryUnavailable = errors.New("natsbroker: the topic's history was unavailable when joined")
)

// history is a Broker's JetStream side.
type history struct {
	stream  jetstream.Stream
	ctx     context.Context // cancelled by Close, so that no request outlives the broker
	cancel  context.CancelFunc
	timeout time.Duration
}

// topicHistory is where a joined topic's deliveries stand. last and known are set by the
// interest goroutine before ready is closed, then by the delivering goroutine alone; History
// reads them. The delivering goroutine holds mu from a delivery to its count in last, so that
// History reads a count whose deliveries are done.
type topicHistory struct {
	mu    sync.Mutex
	store string // the subject the stream stores the topic under
	// own is how many publications this node had made on the topic when it joined it.
	own   uint64
	ready chan struct{}
	known atomic.Bool   // last is the topic's history as it stood, not a guess
	last  atomic.Uint64 // the number of the last publication delivered, or stored before the join
}

// newHistory makes or updates the stream on nc's JetStream, waiting for JetStream to take it.
func newHistory(nc *nats.Conn, o Options) (*history, error) {
	ho := *o.History // with its defaults
	h := &history{timeout: ho.Timeout}
	if ho.Count <= 0 {
		ho.Count = 100
	}
	if ho.Replicas <= 0 {
		ho.Replicas = 1
	}
	if h.timeout <= 0 {
		h.timeout = 5 * time.Second
	}
	if ho.Stream == "" {
		ho.Stream = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			return '_'
		}, o.Prefix) + "_history"
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	storage := jetstream.FileStorage
	if ho.Memory {
		storage = jetstream.MemoryStorage
	}
	cfg := jetstream.StreamConfig{
		Name:              ho.Stream,
		Subjects:          []string{o.Prefix + ".*"},
		MaxMsgsPerSubject: int64(ho.Count) + 1,
		MaxAge:            ho.Age,
		Storage:           storage,
		Replicas:          ho.Replicas,
		Discard:           jetstream.DiscardOld,
		RePublish:         &jetstream.RePublish{Source: o.Prefix + ".*", Destination: o.Prefix + ".live.{{wildcard(1)}}"},
	}
	// A JetStream cluster without a leader yet leaves a request unanswered: ask again often.
	deadline := time.Now().Add(2 * h.timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), min(h.timeout, time.Second))
		h.stream, err = js.CreateOrUpdateStream(ctx, cfg)
		cancel()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // JetStream is not ready yet (no leader)
	}
	if err != nil {
		return nil, err
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// subject returns the subject this node receives topic on: the stream's republication of it
// with history, the publications themselves without.
func (b *Broker) subject(topic string) string {
	if b.hist != nil {
		return topicSubject(b.opts.Prefix+".live", topic)
	}
	return topicSubject(b.opts.Prefix, topic)
}

// topicHistory returns a new topicHistory for topic, nil without history. It is called by Join.
func (b *Broker) topicHistory(topic string) *topicHistory {
	if b.hist == nil {
		return nil
	}
	th := &topicHistory{store: topicSubject(b.opts.Prefix, topic), ready: make(chan struct{})}
	b.pubMu.Lock()
	if p := b.pubs[topic]; p != nil {
		th.own = p.seq
	}
	b.pubMu.Unlock()
	return th
}

// errFound ends a read of the stream that found what it looked for.
var errFound = errors.New("found")

// joinHistory records where a topic's history stands, before the interest goroutine
// subscribes: from there on, what arrives is joined to it without a gap (see deliver). For this
// node's own publications the join takes effect at the Join call: if some made after it are
// stored already, it stands before the first of them.
func (b *Broker) joinHistory(th *topicHistory) {
	h := b.hist
	defer close(th.ready)
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	m, err := h.stream.GetLastMsgForSubject(ctx, th.store)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		th.known.Store(true)
	}
	if err != nil {
		return
	}
	last := m.Sequence
	if !b.ownSince(m.Data, th.own) {
		th.last.Store(last)
		th.known.Store(true)
		return
	}
	err = h.read(th.store, 0, last, func(s *jetstream.RawStreamMsg) error {
		if b.ownSince(s.Data, th.own) {
			last = s.Sequence - 1
			return errFound
		}
		return nil
	})
	if err == errFound {
		th.last.Store(last)
		th.known.Store(true)
	}
}

// ownSince reports whether data frames a publication of this node numbered above own.
func (b *Broker) ownSince(data []byte, own uint64) bool {
	_, seq, node, _, err := parseFrame(data)
	return err == nil && string(node) == b.opts.Node && seq > own
}

// catchUp has the delivering goroutine read back what jt's stream stored since its last
// delivery, once the interest goroutine subscribed (what was republished before the
// subscription took effect), or once the connection is restored (what was published while it
// was down): a message without a number in b.in. It reports false if the delivery queue is full
// (then the next publication of the topic brings what was missed).
func (b *Broker) catchUp(jt *joinedTopic) bool {
	select {
	case b.in <- &nats.Msg{Subject: jt.subject}:
		return true
	default:
		return false
	}
}

// catchUpAll queues a catch-up of every joined topic, after a reconnect; a topic whose catch-up
// finds the delivery queue full is reported as an unknown gap.
func (b *Broker) catchUpAll(sink api.BrokerSink) {
	b.subMu.RLock()
	jts := make([]*joinedTopic, 0, len(b.joined))
	for _, jt := range b.joined {
		jts = append(jts, jt)
	}
	b.subMu.RUnlock()
	for _, jt := range jts {
		if !b.catchUp(jt) {
			sink.Gap(api.BrokerGap{Topic: jt.topic})
		}
	}
}

// deliver hands a republished publication of jt to sink, in the order of the numbers: one
// already delivered is dropped, and one whose predecessor on the topic (Nats-Last-Sequence) was
// not delivered is preceded by the publications read back from the stream, or by a gap for those
// it no longer has. A message without a number is a catch-up (see catchUp). On the delivering
// goroutine.
func (h *history) deliver(jt *joinedTopic, m *nats.Msg, sink api.BrokerSink) {
	th := jt.hist
	select {
	case <-th.ready:
	case <-h.ctx.Done(): // closed before the Join was made
		return
	}
	seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		if th.known.Load() {
			h.fill(jt, math.MaxUint64, sink)
		}
		return
	}
	prev, _ := strconv.ParseUint(m.Header.Get(jetstream.LastSequenceHeader), 10, 64)
	if th.known.Load() && seq <= th.last.Load() {
		return
	}
	if th.known.Load() && prev > th.last.Load() {
		h.fill(jt, prev, sink)
	}
	th.known.Store(true)
	h.hand(jt, seq, m.Data, sink)
}

// fill delivers what the stream holds of jt after its last delivery and up to upTo (a
// publication's predecessor, or math.MaxUint64 for all), and reports as gaps, where they fall
// among the deliveries, what it may no longer hold: what came between the last delivery and the
// first found, if the stream dropped the last delivery (it drops a topic's oldest first), and up
// to upTo, if upTo is not found. A catch-up that cannot read the stream reports an unknown gap.
func (h *history) fill(jt *joinedTopic, upTo uint64, sink api.BrokerSink) {
	from := jt.hist.last.Load()
	var msgs []*jetstream.RawStreamMsg
	err := h.read(jt.hist.store, from, upTo, func(s *jetstream.RawStreamMsg) error {
		msgs = append(msgs, s)
		return nil
	})
	if err != nil && upTo == math.MaxUint64 {
		sink.Gap(api.BrokerGap{Topic: jt.topic}) // what the stream stored meanwhile is unknown
	}
	if len(msgs) > 0 && msgs[0].Sequence > from+1 && from != 0 {
		if kept, err := h.stored(jt.hist.store, from); err != nil || !kept {
			sink.Gap(api.BrokerGap{Topic: jt.topic, From: from + 1, To: msgs[0].Sequence - 1})
		}
	}
	reached := from
	for _, s := range msgs {
		h.hand(jt, s.Sequence, s.Data, sink)
		reached = s.Sequence
	}
	if upTo != math.MaxUint64 && reached != upTo {
		sink.Gap(api.BrokerGap{Topic: jt.topic, From: reached + 1, To: upTo})
	}
}

// hand delivers one publication numbered seq, framed as data, then counts it delivered.
func (h *history) hand(jt *joinedTopic, seq uint64, data []byte, sink api.BrokerSink) {
	typ, nseq, node, payload, err := parseFrame(data)
	jt.hist.mu.Lock()
	defer jt.hist.mu.Unlock()
	if err == nil {
		p := jt.peers[string(node)] // the node's name, kept: a delivery needs no new string
		if p == nil {
			p = &peer{node: string(node)}
			jt.peers[p.node] = p
		}
		sink.Deliver(api.BrokerMessage{Topic: jt.topic, Type: typ, Payload: payload, Node: p.node, Seq: nseq, TopicSeq: seq})
	}
	jt.hist.last.Store(seq)
}

// read calls fn, in order, for the publications the stream stores under subject numbered after
// after and up to upTo.
func (h *history) read(subject string, after, upTo uint64, fn func(*jetstream.RawStreamMsg) error) error {
	for seq := after + 1; seq <= upTo; {
		ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
		m, err := h.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		cancel()
		if errors.Is(err, jetstream.ErrMsgNotFound) || err == nil && m.Sequence > upTo {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		seq = m.Sequence + 1
	}
	return nil
}

// stored reports whether the stream still holds publication seq of subject.
func (h *history) stored(subject string, seq uint64) (bool, error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	m, err := h.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return m.Subject == subject, nil
}

// KeepsHistory implements api.HistoryBroker: it reports whether Options.History is set.
func (b *Broker) KeepsHistory() bool { return b.hist != nil }

// History implements api.HistoryBroker: it gives topic's stored publications numbered after
// after and up to the last this node delivered, which it returns, and fails with
// api.ErrHistoryGone unless after is 0 or the stream still holds publication after (the stream
// drops a topic's oldest first, so if it holds after it holds everything since). It reads the
// publications first, then checks, then calls fn: a publication dropped while they are read is
// caught. The topic must be joined (ErrNotJoined); History waits for the Join to have read where
// the topic's history stood (ErrHistoryUnavailable if it could not).
func (b *Broker) History(topic string, after uint64, fn func(api.BrokerMessage) error) (uint64, error) {
	h := b.hist
	if h == nil {
		return 0, api.ErrNoHistory
	}
	b.subMu.RLock()
	jt, closed := b.joined[topic], b.subClosed
	b.subMu.RUnlock()
	if closed {
		return 0, ErrClosed
	}
	if jt == nil {
		return 0, ErrNotJoined
	}
	select {
	case <-jt.hist.ready:
	case <-h.ctx.Done():
		return 0, ErrClosed
	}
	if !jt.hist.known.Load() {
		return 0, ErrHistoryUnavailable
	}
	jt.hist.mu.Lock()
	upTo := jt.hist.last.Load()
	jt.hist.mu.Unlock()
	var msgs []api.BrokerMessage
	err := h.read(jt.hist.store, after, upTo, func(s *jetstream.RawStreamMsg) error {
		typ, nseq, node, payload, err := parseFrame(s.Data)
		if err == nil {
			msgs = append(msgs, api.BrokerMessage{Topic: topic, Type: typ, Payload: payload, Node: string(node), Seq: nseq, TopicSeq: s.Sequence})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if after != 0 {
		ok, err := h.stored(jt.hist.store, after)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, api.ErrHistoryGone
		}
	}
	for _, m := range msgs {
		if err := fn(m); err != nil {
			return 0, err
		}
	}
	return upTo, nil
}

// close cancels the requests in flight.
func (h *history) close() {
	if h != nil {
		h.cancel()
	}
}
