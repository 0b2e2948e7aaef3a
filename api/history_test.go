package api

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// fakeHistory is a HistoryBroker of one node: what the server publishes is numbered (one count
// for all topics), stored (the last keep of each topic) and delivered back through the sink by a
// goroutine of its own, for the topics joined, and counted delivered under dmu, which History
// reads it under. While hold is locked, that goroutine waits before each delivery; while replay is set, History waits for it to close before calling fn, and tells
// entered first.
type fakeHistory struct {
	keep int
	off  bool // KeepsHistory reports false
	hold sync.Mutex
	dmu  sync.Mutex // held from a delivery to its count

	mu        sync.Mutex
	sink      BrokerSink
	seq       uint64
	stored    map[string][]BrokerMessage
	delivered map[string]uint64
	joined    map[string]bool
	leaves    int
	replay    chan struct{}
	entered   chan struct{}
	in        chan BrokerMessage
	done      chan struct{}
	exited    chan struct{}
}

func newFakeHistory(keep int) *fakeHistory {
	return &fakeHistory{keep: keep, stored: map[string][]BrokerMessage{}, delivered: map[string]uint64{},
		joined: map[string]bool{}, in: make(chan BrokerMessage, 1024), done: make(chan struct{}), exited: make(chan struct{})}
}

func (b *fakeHistory) KeepsHistory() bool { return !b.off }

func (b *fakeHistory) Open(sink BrokerSink) error {
	b.sink = sink
	go b.run()
	return nil
}

// run delivers the publications of the topics joined, in order, and counts each delivered.
func (b *fakeHistory) run() {
	defer close(b.exited)
	for {
		select {
		case m := <-b.in:
			b.hold.Lock()
			b.dmu.Lock()
			b.sink.Deliver(m)
			b.mu.Lock()
			b.delivered[m.Topic] = m.TopicSeq
			b.mu.Unlock()
			b.dmu.Unlock()
			b.hold.Unlock()
		case <-b.done:
			return
		}
	}
}

// Join counts what the topic stored so far as delivered, as a broker reads where the history
// stands when it joins: History gives up to there.
func (b *fakeHistory) Join(topic string) {
	b.mu.Lock()
	b.joined[topic] = true
	if st := b.stored[topic]; len(st) > 0 {
		b.delivered[topic] = st[len(st)-1].TopicSeq
	}
	b.mu.Unlock()
}

func (b *fakeHistory) Leave(topic string) {
	b.mu.Lock()
	delete(b.joined, topic)
	b.leaves++
	b.mu.Unlock()
}

func (b *fakeHistory) Publish(topic string, typ MessageType, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	m := BrokerMessage{Topic: topic, Type: typ, Payload: bytes.Clone(payload), Node: "solo", Seq: b.seq, TopicSeq: b.seq}
	b.stored[topic] = append(b.stored[topic], m)
	if n := len(b.stored[topic]); n > b.keep {
		b.stored[topic] = b.stored[topic][n-b.keep:]
	}
	if b.joined[topic] && !b.off {
		b.in <- m
	}
	return nil
}

func (b *fakeHistory) History(topic string, after uint64, fn func(BrokerMessage) error) (uint64, error) {
	b.dmu.Lock() // no delivery half done
	b.mu.Lock()
	b.dmu.Unlock()
	upTo := b.delivered[topic]
	var msgs []BrokerMessage
	found := after == 0
	for _, m := range b.stored[topic] {
		found = found || m.TopicSeq == after
		if m.TopicSeq > after && m.TopicSeq <= upTo {
			msgs = append(msgs, m)
		}
	}
	replay, entered := b.replay, b.entered
	b.mu.Unlock()
	if !found {
		return 0, ErrHistoryGone
	}
	if replay != nil {
		entered <- struct{}{}
		<-replay
	}
	for _, m := range msgs {
		if err := fn(m); err != nil {
			return 0, err
		}
	}
	return upTo, nil
}

func (b *fakeHistory) Close() error {
	close(b.done)
	<-b.exited
	return nil
}

// gate makes History wait from now on, until the function it returns is called; entered tells
// when a History is waiting.
func (b *fakeHistory) gate() (entered <-chan struct{}, release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replay, b.entered = make(chan struct{}), make(chan struct{}, 8)
	replay := b.replay
	return b.entered, sync.OnceFunc(func() { close(replay) })
}

// delivered waits until b delivered topic's publications up to seq.
func (b *fakeHistory) waitDelivered(t testing.TB, topic string, seq uint64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("delivery of %s up to %d", topic, seq), func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.delivered[topic] >= seq
	})
}

// historyOptions is a server on b whose clients receive a publication as "<number>|<payload>".
func historyOptions(b Broker) *ServerOptions {
	return &ServerOptions{Broker: b, SequencedPayload: func(_ string, seq uint64, payload []byte) []byte {
		return fmt.Appendf(nil, "%d|%s", seq, payload)
	}}
}

// histTexts returns the texts "<i>|m<i>" for i in first..last: what the clients of
// historyOptions receive of the publications "m<i>", numbered i.
func histTexts(first, last int) []string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, fmt.Sprintf("%d|m%d", i, i))
	}
	return out
}

// publishM publishes "m<i>" on topic for i in first..last.
func publishM(t testing.TB, s *Server, topic string, first, last int) {
	t.Helper()
	for i := first; i <= last; i++ {
		if err := s.Publish(topic, TextMessage, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// doneCh returns a SubscribeFrom callback and the channel it sends its error on.
func doneCh() (func(error), chan error) {
	ch := make(chan error, 1)
	return func(err error) { ch <- err }, ch
}

// With a HistoryBroker, a publication reaches the local subscribers only through the broker,
// numbered: not at once.
func TestHistoryPublishComesBackNumbered(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(10)
	s, peers, conns := fanoutServer(t, historyOptions(b), 1)
	conns[0].Subscribe("news")
	b.hold.Lock()
	publishM(t, s, "news", 1, 1)
	s.Broadcast(prepared(t, TextMessage, []byte("before")))
	expectTexts(t, peers[0], "subscriber", "before")
	b.hold.Unlock()
	expectTexts(t, peers[0], "subscriber", histTexts(1, 1)...)
}

// A connection that recovers from number S receives S+1.. from the history, then what was
// delivered during the replay, then the live publications: each once, in order; meanwhile a
// connection subscribed all along receives every one once.
func TestHistoryRecoversExactly(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(100)
	s, peers, conns := fanoutServer(t, historyOptions(b), 2)
	conns[0].Subscribe("news")
	publishM(t, s, "news", 1, 5)
	expectTexts(t, peers[0], "live", histTexts(1, 5)...)
	b.waitDelivered(t, "news", 5)

	entered, release := b.gate()
	done, errs := doneCh()
	conns[1].SubscribeFrom("news", 3, done)
	recv(t, entered)
	publishM(t, s, "news", 6, 8) // delivered while History replays: kept for the connection
	b.waitDelivered(t, "news", 8)
	release()
	if err := recv(t, errs); err != nil {
		t.Fatalf("SubscribeFrom: %v", err)
	}
	publishM(t, s, "news", 9, 10)
	b.waitDelivered(t, "news", 10)
	s.Broadcast(prepared(t, TextMessage, []byte("end"))) // after every delivery: a duplicate comes before
	expectTexts(t, peers[1], "recovered", append(histTexts(4, 10), "end")...)
	expectTexts(t, peers[0], "live", append(histTexts(6, 10), "end")...)
	if got := s.Subscribers("news"); got != 2 {
		t.Errorf("%d subscribers, want 2", got)
	}
}

// Publications go on, from several goroutines, while connections recover from various numbers:
// each receives exactly what followed its number, in order.
func TestHistoryRecoversUnderLoad(t *testing.T) {
	wstest.CheckLeaks(t)
	const total, conns = 300, 6
	b := newFakeHistory(total)
	s, peers, cs := fanoutServer(t, historyOptions(b), conns)
	publishM(t, s, "news", 1, 20)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 21; i <= total; i++ {
			publishM(t, s, "news", i, i)
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	})
	errs := make(chan error, conns)
	for i, c := range cs {
		time.Sleep(2 * time.Millisecond)
		c.SubscribeFrom("news", uint64(i*3), func(err error) { errs <- err })
	}
	wg.Wait()
	for range conns {
		if err := recv(t, errs); err != nil {
			t.Fatalf("SubscribeFrom: %v", err)
		}
	}
	b.waitDelivered(t, "news", total)
	s.Broadcast(prepared(t, TextMessage, []byte("end")))
	for i, p := range peers {
		expectTexts(t, p, fmt.Sprintf("connection %d", i), append(histTexts(i*3+1, total), "end")...)
	}
}

// A connection that recovers from a number the history no longer holds is told ErrHistoryGone:
// nothing sent, not subscribed, the interest given back; from 0, it receives what the history
// holds, then the live publications.
func TestHistoryGone(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(2)
	s, peers, conns := fanoutServer(t, historyOptions(b), 2)
	publishM(t, s, "news", 1, 5)
	done, errs := doneCh()
	conns[1].SubscribeFrom("news", 2, done)
	if err := recv(t, errs); !errors.Is(err, ErrHistoryGone) {
		t.Fatalf("SubscribeFrom a number dropped: %v, want ErrHistoryGone", err)
	}
	if n, left := s.Subscribers("news"), locked(&b.mu, func() int { return b.leaves }); n != 0 || left != 1 {
		t.Fatalf("after ErrHistoryGone: %d subscribers, %d Leave, want 0 and 1", n, left)
	}
	s.Broadcast(prepared(t, TextMessage, []byte("nothing before")))
	expectTexts(t, peers[1], "gone", "nothing before")

	conns[1].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); err != nil {
		t.Fatalf("SubscribeFrom 0: %v", err)
	}
	publishM(t, s, "news", 6, 6)
	expectTexts(t, peers[1], "from 0", histTexts(4, 6)...)
}

// startDraining subscribes conns[0] to "news", publishes 1 to 3 while b holds its deliveries
// back (stored, not delivered), and has conns[1] recover from after: its recovery then waits
// for the deliveries to reach its number (draining). It returns where the recovery's end comes;
// b.hold is left locked.
func startDraining(t *testing.T, s *Server, b *fakeHistory, conns []*Conn, after uint64) chan error {
	t.Helper()
	conns[0].Subscribe("news")
	b.hold.Lock()
	publishM(t, s, "news", 1, 3)
	done, errs := doneCh()
	conns[1].SubscribeFrom("news", after, done)
	waitUntil(t, "the recovery to drain", func() bool {
		h := s.link.hist
		h.mu.Lock()
		defer h.mu.Unlock()
		rs := h.recs["news"]
		return len(rs) == 1 && rs[0].state == draining
	})
	return errs
}

// A connection that recovers from a number beyond what this node delivered (it saw it on a node
// ahead) drains: the deliveries up to its number are skipped, the next ones reach it.
func TestHistoryDrainsToItsNumber(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(100)
	s, peers, conns := fanoutServer(t, historyOptions(b), 2)
	errs := startDraining(t, s, b, conns, 2)
	b.hold.Unlock()
	if err := recv(t, errs); err != nil {
		t.Fatalf("SubscribeFrom: %v", err)
	}
	publishM(t, s, "news", 4, 4)
	b.waitDelivered(t, "news", 4)
	s.Broadcast(prepared(t, TextMessage, []byte("end")))
	expectTexts(t, peers[1], "drained", append(histTexts(3, 4), "end")...)
	expectTexts(t, peers[0], "live", append(histTexts(1, 4), "end")...)
}

// A recovery that drains when the server closes is ended with ErrServerClosed: no delivery will
// come to end it.
func TestHistoryDrainEndsWithServer(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(100)
	s, _, conns := fanoutServer(t, historyOptions(b), 2)
	errs := startDraining(t, s, b, conns, 3)
	closed := make(chan struct{})
	go func() {
		s.Close(nil) // the broker's Close waits for its goroutine, held
		close(closed)
	}()
	if err := recv(t, errs); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("draining at Close: %v, want ErrServerClosed", err)
	}
	b.hold.Unlock()
	recv(t, closed)
}

// SubscribeFrom refuses without a HistoryBroker (or one that keeps no history, whose
// publications reach the local subscribers at once), on a topic subscribed or recovering, and
// on a connection closed.
func TestHistorySubscribeFromRefusals(t *testing.T) {
	wstest.CheckLeaks(t)
	_, _, plain := fanoutServer(t, nil, 1)
	done, errs := doneCh()
	plain[0].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); !errors.Is(err, ErrNoHistory) {
		t.Errorf("without a broker: %v, want ErrNoHistory", err)
	}
	off := newFakeHistory(10)
	off.off = true
	so, offPeers, offConns := fanoutServer(t, &ServerOptions{Broker: off}, 1)
	offConns[0].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); !errors.Is(err, ErrNoHistory) {
		t.Errorf("with a broker that keeps none: %v, want ErrNoHistory", err)
	}
	offConns[0].Subscribe("news")
	off.hold.Lock()
	publishM(t, so, "news", 1, 1)
	expectTexts(t, offPeers[0], "plain subscriber", "m1") // at once, not numbered
	off.hold.Unlock()

	b := newFakeHistory(10)
	_, _, conns := fanoutServer(t, historyOptions(b), 3)
	conns[0].Subscribe("news")
	conns[0].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); !errors.Is(err, ErrSubscribed) {
		t.Errorf("subscribed: %v, want ErrSubscribed", err)
	}
	entered, release := b.gate()
	first, firstErr := doneCh()
	conns[1].SubscribeFrom("news", 0, first)
	recv(t, entered)
	conns[1].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); !errors.Is(err, ErrSubscribed) {
		t.Errorf("recovering: %v, want ErrSubscribed", err)
	}
	release()
	if err := recv(t, firstErr); err != nil {
		t.Errorf("the first recovery: %v", err)
	}
	conns[2].Close(1000, "")
	waitUntil(t, "the connection closing", func() bool { return conns[2].ReadyState() != Open })
	conns[2].SubscribeFrom("news", 0, done)
	if err := recv(t, errs); !errors.Is(err, ErrNotOpen) {
		t.Errorf("closed: %v, want ErrNotOpen", err)
	}
	if got := slices.Sorted(slices.Values(conns[1].Topics())); !slices.Equal(got, []string{"news"}) {
		t.Errorf("recovered connection's topics %q", got)
	}
}

// Over TLS, whose connections have no event loop (the step that joins runs at once, in the
// delivering goroutine), a recovery is exact as well.
func TestHistoryRecoversOverTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(100)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	opts := historyOptions(b)
	opts.TLSConfig = serverCfg
	recovered := make(chan error, 1)
	s, addr := startServer(t, opts, func(c *Conn) {
		if c.Path() == "/from/2" {
			c.SubscribeFrom("news", 2, func(err error) { recovered <- err })
			return
		}
		c.Subscribe("news")
	})
	dial := func(path string) chan string {
		texts := make(chan string, 64)
		c, err := Connect("wss://"+addr+path, &ClientOptions{TLSConfig: clientCfg}, func(c *Conn) {
			c.OnText(func(_ *Conn, text string) { texts <- text })
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(1000, "") })
		return texts
	}
	expect := func(who string, texts chan string, want ...string) {
		t.Helper()
		for _, w := range want {
			if got := recv(t, texts); got != w {
				t.Fatalf("%s: got %q, want %q", who, got, w)
			}
		}
	}
	live := dial("/live")
	waitUntil(t, "the live subscriber", func() bool { return s.Subscribers("news") == 1 })
	publishM(t, s, "news", 1, 4)
	expect("live", live, histTexts(1, 4)...)
	b.waitDelivered(t, "news", 4)
	entered, release := b.gate()
	from := dial("/from/2")
	recv(t, entered)
	publishM(t, s, "news", 5, 6)
	b.waitDelivered(t, "news", 6)
	release()
	if err := recv(t, recovered); err != nil {
		t.Fatalf("SubscribeFrom: %v", err)
	}
	publishM(t, s, "news", 7, 7)
	b.waitDelivered(t, "news", 7)
	s.Broadcast(prepared(t, TextMessage, []byte("end")))
	expect("recovered", from, append(histTexts(3, 7), "end")...)
	expect("live", live, append(histTexts(5, 7), "end")...)
}

// After Server.Close the HistoryBroker is gone: a publication reaches the local subscribers at
// once, unnumbered, as without a broker, and the broker does not get it.
func TestHistoryPublishAfterCloseStaysLocal(t *testing.T) {
	wstest.CheckLeaks(t)
	b := newFakeHistory(10)
	s, peers, conns := fanoutServer(t, historyOptions(b), 1)
	conns[0].Subscribe("news")
	publishM(t, s, "news", 1, 1)
	expectTexts(t, peers[0], "subscriber", histTexts(1, 1)...)
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	publishM(t, s, "news", 2, 2)
	expectTexts(t, peers[0], "subscriber", "m2")
	if st := s.Stats(); st.BrokerPublished != 1 {
		t.Fatalf("BrokerPublished %d after Close, want the 1 before it", st.BrokerPublished)
	}
}
