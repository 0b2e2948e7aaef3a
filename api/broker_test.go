package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// fakeCluster links the servers of one test as a broker links the nodes of a cluster: what a node
// publishes reaches every other node that joined the topic, with its Node and Seq, in the order
// of the node's publications, through one delivering goroutine per receiving node; the publisher
// never gets its own back.
type fakeCluster struct {
	mu    sync.Mutex
	nodes []*fakeBroker
}

// fakeBroker is one node's Broker in a fakeCluster. It records what the server calls.
type fakeBroker struct {
	cluster    *fakeCluster
	name       string
	openErr    error // what Open returns
	publishErr error // what Publish returns, nil to carry the publication
	in         chan BrokerMessage
	done       chan struct{} // closed by Close
	exited     chan struct{} // closed when the delivering goroutine is done

	pubMu sync.Mutex // keeps the node's publications in order
	seq   map[string]uint64

	mu        sync.Mutex
	sink      BrokerSink
	opens     int
	closes    int
	published int
	dropped   int // deliveries that found b's queue full
	joined    map[string]bool
	joins     map[string]int
	leaves    map[string]int
	misorder  []string // a Join of a topic joined, a Leave of one not joined
}

// node adds a node named name to the cluster and returns its broker, not open yet.
func (fc *fakeCluster) node(name string) *fakeBroker {
	b := &fakeBroker{cluster: fc, name: name, in: make(chan BrokerMessage, 4096),
		done: make(chan struct{}), exited: make(chan struct{}), seq: map[string]uint64{},
		joined: map[string]bool{}, joins: map[string]int{}, leaves: map[string]int{}}
	fc.mu.Lock()
	fc.nodes = append(fc.nodes, b)
	fc.mu.Unlock()
	return b
}

// others returns the nodes of the cluster but b.
func (fc *fakeCluster) others(b *fakeBroker) []*fakeBroker {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(fc.nodes), func(n *fakeBroker) bool { return n == b })
}

func (b *fakeBroker) Open(sink BrokerSink) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	if b.openErr != nil {
		return b.openErr
	}
	b.sink = sink
	go b.run()
	return nil
}

// run delivers what the other nodes published to b's server, until Close.
func (b *fakeBroker) run() {
	defer close(b.exited)
	for {
		select {
		case m := <-b.in:
			b.sink.Deliver(m)
		case <-b.done:
			return
		}
	}
}

func (b *fakeBroker) Join(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.joined[topic] {
		b.misorder = append(b.misorder, "join "+topic+" joined already")
	}
	b.joined[topic] = true
	b.joins[topic]++
}

func (b *fakeBroker) Leave(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.joined[topic] {
		b.misorder = append(b.misorder, "leave "+topic+" not joined")
	}
	delete(b.joined, topic)
	b.leaves[topic]++
}

func (b *fakeBroker) Publish(topic string, typ MessageType, payload []byte) error {
	if b.publishErr != nil {
		return b.publishErr
	}
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.seq[topic]++
	m := BrokerMessage{Topic: topic, Type: typ, Payload: bytes.Clone(payload), Node: b.name, Seq: b.seq[topic]}
	b.mu.Lock()
	b.published++
	b.mu.Unlock()
	for _, n := range b.cluster.others(b) {
		n.offer(m)
	}
	return nil
}

// offer queues m for b's server if b joined its topic, without waiting: a full queue drops it.
func (b *fakeBroker) offer(m BrokerMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.joined[m.Topic] || b.sink == nil {
		return
	}
	select {
	case b.in <- m:
	default:
		b.dropped++
	}
}

func (b *fakeBroker) Close() error {
	b.mu.Lock()
	b.closes++
	first := b.closes == 1 && b.sink != nil
	b.mu.Unlock()
	if first {
		close(b.done)
		<-b.exited
	}
	return nil
}

// locked returns what f reads under mu.
func locked[T any](mu *sync.Mutex, f func() T) T {
	mu.Lock()
	defer mu.Unlock()
	return f()
}

// interest returns the Join and Leave calls b received for topic, and fails on any made out of
// order.
func (b *fakeBroker) interest(t testing.TB, topic string) (joins, leaves int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.misorder) > 0 {
		t.Fatalf("broker %s: calls out of order: %q", b.name, b.misorder)
	}
	return b.joins[topic], b.leaves[topic]
}

// clusterPayload is the i-th message node publishes: its origin and number, then bytes of a
// length and content that vary with both; text for even i, binary (not UTF-8) for odd.
func clusterPayload(node, i int) (MessageType, []byte) {
	p := fmt.Appendf(nil, "%d %04d|", node, i)
	if i%2 == 0 {
		return TextMessage, append(p, bytes.Repeat([]byte{'a' + byte(node)}, (i*37)%300)...)
	}
	for k := range (i * 53) % 400 {
		p = append(p, byte(k*node+i)|0x80)
	}
	return BinaryMessage, p
}

// Three nodes linked by the fake broker, each with subscribers and a connection that subscribes to
// nothing, publish at once: every subscriber on every node receives every message byte for byte,
// in order per publisher, and exactly once (the publisher's own subscribers from the publisher
// only, nothing handed back to the broker); the connection outside the topic gets none.
func TestBrokerClusterDeliversEverywhere(t *testing.T) {
	wstest.CheckLeaks(t)
	const nodes, subs, msgs = 3, 2, 60
	fc := &fakeCluster{}
	type node struct {
		s     *Server
		b     *fakeBroker
		peers []*wstest.Peer
	}
	ns := make([]node, nodes)
	for i := range ns {
		b := fc.node(fmt.Sprint("node", i))
		s, peers, conns := fanoutServer(t, &ServerOptions{Broker: b}, subs+1)
		for _, c := range conns[:subs] {
			c.Subscribe("news")
		}
		ns[i] = node{s, b, peers}
	}
	var wg sync.WaitGroup
	for i, n := range ns {
		wg.Go(func() {
			for k := range msgs {
				typ, p := clusterPayload(i, k)
				if err := n.s.Publish("news", typ, p); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, n := range ns {
		waitUntil(t, "the broker to deliver the other nodes' messages", func() bool {
			return n.s.Stats().BrokerReceived == (nodes-1)*msgs
		})
	}
	end := prepared(t, TextMessage, []byte("end"))
	for i, n := range ns {
		st := n.s.Stats()
		pubs, dropped := locked(&n.b.mu, func() int { return n.b.published }), locked(&n.b.mu, func() int { return n.b.dropped })
		if pubs != msgs || dropped != 0 || st.BrokerPublished != msgs || st.BrokerPublishErrors != 0 {
			t.Fatalf("node %d handed %d publications to its broker (Stats %+v, %d dropped), want its own %d",
				i, pubs, st, dropped, msgs)
		}
		n.s.Broadcast(end) // after every delivery: a duplicate would come before it
	}
	for i, n := range ns {
		for j, p := range n.peers[:subs] {
			next := make([]int, nodes)
			for range nodes * msgs {
				f := p.MustFrame()
				var from, k int
				if _, err := fmt.Sscanf(string(f.Payload), "%d %04d|", &from, &k); err != nil || from < 0 || from >= nodes {
					t.Fatalf("node %d subscriber %d: unknown message %q", i, j, short(f.Payload))
				}
				typ, want := clusterPayload(from, next[from])
				if k != next[from] || !f.Fin || f.Op != codec.Opcode(typ) || !bytes.Equal(f.Payload, want) {
					t.Fatalf("node %d subscriber %d: from node %d got %v %q, want message %d, %v %q",
						i, j, from, f.Op, short(f.Payload), next[from], codec.Opcode(typ), short(want))
				}
				next[from]++
			}
			expectTexts(t, p, fmt.Sprintf("node %d subscriber %d", i, j), "end")
		}
		expectTexts(t, n.peers[subs], fmt.Sprintf("node %d non-subscriber", i), "end")
	}
}

// loopGroups returns the connections of conns grouped by their shard (their event loop), the
// largest groups first.
func loopGroups(conns []*Conn) [][]*Conn {
	var groups [][]*Conn
	for _, c := range conns {
		i := slices.IndexFunc(groups, func(g []*Conn) bool { return g[0].shard.Load() == c.shard.Load() })
		if i < 0 {
			groups = append(groups, nil)
			i = len(groups) - 1
		}
		groups[i] = append(groups[i], c)
	}
	slices.SortFunc(groups, func(a, b []*Conn) int { return len(b) - len(a) })
	return groups
}

// twoLoops dials n connections to a server with opts and returns two groups of them on different
// event loops, at least two in each; it skips the test on a single loop.
func twoLoops(t *testing.T, opts *ServerOptions, n int) (*Server, []*wstest.Peer, []*Conn, [2][]*Conn) {
	t.Helper()
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one event loop: no connections on different loops")
	}
	s, peers, conns := fanoutServer(t, opts, n)
	g := loopGroups(conns)
	if len(g) < 2 || len(g[1]) < 2 {
		t.Fatalf("%d connections on %d loops, want two on each of two", n, len(g))
	}
	return s, peers, conns, [2][]*Conn{g[0], g[1]}
}

// A topic's first subscriber in the server joins it on the broker once, more subscribers on any
// loop do not, and the last to leave, by Unsubscribe or by closing, leaves it once; the loops'
// shards count as one node.
func TestBrokerInterestJoinLeave(t *testing.T) {
	wstest.CheckLeaks(t)
	b := (&fakeCluster{}).node("solo")
	_, peers, conns, loops := twoLoops(t, &ServerOptions{Broker: b}, 8)
	a, c := loops[0], loops[1]
	closeConn := func(x *Conn) {
		t.Helper()
		peers[slices.Index(conns, x)].WriteFrame(true, codec.OpClose, []byte{0x03, 0xe8})
	}
	expect := func(step string, joins, leaves int) {
		t.Helper()
		if j, l := b.interest(t, "news"); j != joins || l != leaves {
			t.Fatalf("%s: %d Join and %d Leave, want %d and %d", step, j, l, joins, leaves)
		}
	}
	a[0].Subscribe("news")
	expect("first subscriber", 1, 0)
	a[1].Subscribe("news")
	c[0].Subscribe("news")
	a[1].Subscribe("news") // again
	expect("more subscribers, on both loops", 1, 0)
	closeConn(c[0])
	waitUntil(t, "the closed connection to leave", func() bool { return c[0].ReadyState() == Closed && c[0].Topics() == nil })
	a[0].Unsubscribe("news")
	a[0].Unsubscribe("news") // again
	expect("all but one left, by close and Unsubscribe", 1, 0)
	a[1].Unsubscribe("news")
	expect("the last one unsubscribed", 1, 1)

	c[1].Subscribe("news")
	a[0].Subscribe("news")
	expect("a subscriber again, then another on the other loop", 2, 1)
	c[1].Unsubscribe("news")
	closeConn(a[0])
	waitUntil(t, "the last subscriber's close to leave the topic", func() bool {
		_, l := b.interest(t, "news")
		return l == 2
	})
	expect("the last one closed", 2, 2)
}

// Goroutines on connections of both loops subscribe, unsubscribe and close their connections at
// once: afterwards every topic is joined on the broker exactly when it has a local subscriber, and
// the Join and Leave calls of each topic alternate. Run it with -race.
func TestBrokerInterestStorm(t *testing.T) {
	wstest.CheckLeaks(t)
	const n, workers, rounds, topics = 12, 24, 300, 5
	b := (&fakeCluster{}).node("solo")
	s, peers, conns, _ := twoLoops(t, &ServerOptions{Broker: b}, n)
	closed := make([]bool, n)
	var wg sync.WaitGroup
	for w := range workers {
		i := w % n
		closes := w < n && i%3 == 0 // a third of the connections close, once, midway
		closed[i] = closed[i] || closes
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for r := range rounds {
				name := fmt.Sprint("t", rnd.IntN(topics))
				if rnd.IntN(2) == 0 {
					conns[i].Subscribe(name)
				} else {
					conns[i].Unsubscribe(name)
				}
				if closes && r == rounds/2 {
					peers[i].Conn.Write(wstest.FrameBytes(true, codec.OpClose, []byte{0x03, 0xe8}))
				}
			}
		})
	}
	wg.Wait()
	waitUntil(t, "the closed connections to leave their topics", func() bool {
		for i, c := range conns {
			if closed[i] && (c.ReadyState() != Closed || c.Topics() != nil) {
				return false
			}
		}
		return true
	})
	check := func(when string) {
		t.Helper()
		for k := range topics {
			name := fmt.Sprint("t", k)
			joins, leaves := b.interest(t, name)
			local := s.Subscribers(name)
			if joined := locked(&b.mu, func() bool { return b.joined[name] }); joined != (local > 0) || joins-leaves != min(local, 1) {
				t.Fatalf("%s: topic %s joined %v (%d Join, %d Leave) with %d local subscribers", when, name, joined, joins, leaves, local)
			}
		}
	}
	check("after the storm")
	for _, c := range conns {
		for _, name := range c.Topics() {
			c.Unsubscribe(name)
		}
	}
	check("once everyone left")
}

// A message from the broker is prepared once for all its subscribers: the allocations per
// delivery to 100 subscribers stay a few, where a frame per subscriber would make 100.
func TestBrokerDeliveryAllocs(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	const subs, msgs, size = 100, 300, 100
	b := (&fakeCluster{}).node("solo")
	s, _ := startServer(t, &ServerOptions{Broker: b}, nil)
	received := countingSubscribers(t, s, subs)
	for c := range s.Connections() {
		c.Subscribe("t")
	}
	sink := locked(&b.mu, func() BrokerSink { return b.sink })
	m := BrokerMessage{Topic: "t", Type: BinaryMessage, Payload: bytes.Repeat([]byte{'b'}, size), Node: "other"}
	perMsg := int64(subs * (2 + size))
	deliver := func() {
		received.Store(0)
		for i := range msgs {
			if i >= 4 {
				awaitBytes(t, received, int64(i-4)*perMsg)
			}
			m.Seq++
			sink.Deliver(m)
		}
		awaitBytes(t, received, msgs*perMsg)
	}
	deliver() // warm up
	per := mallocsPer(msgs, deliver)
	t.Logf("%.2f allocations per delivery to %d subscribers", per, subs)
	if per > 8 {
		t.Fatalf("%.2f allocations per delivery to %d subscribers, want a prepared message's few", per, subs)
	}
	if st := s.Stats(); st.BrokerReceived != 2*msgs || st.BrokerPublished != 0 {
		t.Fatalf("Stats %+v, want %d received and nothing published", st, 2*msgs)
	}
}

// A message from the broker reaches a subscriber with permessage-deflate compressed (RSV1 on the
// wire) and a plain one as it is.
func TestBrokerDeliveryDeflate(t *testing.T) {
	b := (&fakeCluster{}).node("solo")
	s, addr := startServer(t, &ServerOptions{Broker: b, Deflate: &DeflateOptions{}}, nil)
	w := wstest.NewWireWatch(t, addr)
	got := make(chan string, 4)
	for _, opts := range []*ClientOptions{{Deflate: &DeflateOptions{}}, nil} {
		c, err := Connect("ws://"+w.Addr+"/", opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(1000, "")
		c.OnMessage(func(c *Conn, typ MessageType, p []byte) {
			got <- fmt.Sprintf("%s %v", typeName(typ), string(p) == deflateMessage)
		})
	}
	waitSockets(t, s, 2)
	waitUntil(t, "both connections open", func() bool { return countOpen(s) == 2 })
	for c := range s.Connections() {
		c.Subscribe("t")
	}
	locked(&b.mu, func() BrokerSink { return b.sink }).Deliver(BrokerMessage{Topic: "t", Type: TextMessage,
		Payload: []byte(deflateMessage), Node: "other", Seq: 1})
	for range 2 {
		if g := recv(t, got); g != "text true" {
			t.Fatalf("received %q", g)
		}
	}
	if rsv1, all := w.Counts(); rsv1[1] != 1 || all[1] != 2 {
		t.Fatalf("the server sent %d compressed frames of %d, want 1 of 2", rsv1[1], all[1])
	}
}

// The gaps the broker reports reach OnBrokerGap in order and are counted, until Server.Close.
func TestBrokerGapReported(t *testing.T) {
	b := (&fakeCluster{}).node("solo")
	var mu sync.Mutex
	var gaps []BrokerGap
	s, _ := startServer(t, &ServerOptions{Broker: b, OnBrokerGap: func(g BrokerGap) {
		mu.Lock()
		gaps = append(gaps, g)
		mu.Unlock()
	}}, nil)
	sink := locked(&b.mu, func() BrokerSink { return b.sink })
	want := []BrokerGap{{Topic: "t", Node: "n2", From: 4, To: 9}, {Topic: "u"}}
	for _, g := range want {
		sink.Gap(g)
	}
	s.Close(nil)
	sink.Gap(BrokerGap{Topic: "after close"})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(gaps, want) || s.Stats().BrokerGaps != 2 {
		t.Fatalf("OnBrokerGap got %+v (Stats counts %d), want %+v", gaps, s.Stats().BrokerGaps, want)
	}
}

// A delivery of text that is not UTF-8 is dropped. Server.Close closes the broker once, a second
// Close and Shutdown included; afterwards what the broker delivers is ignored, and the server's topics stay in the process: publications reach the
// local subscribers only, and new interest is not joined.
func TestBrokerClosedWithServer(t *testing.T) {
	wstest.CheckLeaks(t)
	b := (&fakeCluster{}).node("solo")
	s, peers, conns := fanoutServer(t, &ServerOptions{Broker: b}, 1)
	conns[0].Subscribe("t")
	sink := locked(&b.mu, func() BrokerSink { return b.sink })
	sink.Deliver(BrokerMessage{Topic: "t", Type: TextMessage, Payload: []byte{0xff}, Node: "n2", Seq: 1}) // not UTF-8: dropped
	sink.Deliver(BrokerMessage{Topic: "t", Type: TextMessage, Payload: []byte("before"), Node: "n2", Seq: 2})
	expectTexts(t, peers[0], "subscriber", "before")
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(nil); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Close: %v", err)
	}
	sink.Deliver(BrokerMessage{Topic: "t", Type: TextMessage, Payload: []byte("after"), Node: "n2", Seq: 3})
	s.Publish("t", TextMessage, []byte("local"))
	conns[0].Subscribe("u")
	expectTexts(t, peers[0], "subscriber", "local")
	st := s.Stats()
	closes, pubs, joins := locked(&b.mu, func() int { return b.closes }), locked(&b.mu, func() int { return b.published }), locked(&b.mu, func() int { return b.joins["u"] })
	if closes != 1 || pubs != 0 || joins != 0 || st.BrokerReceived != 2 || st.BrokerPublished != 0 {
		t.Fatalf("after Close: %d Close, %d Publish, %d Join of a new topic, Stats %+v; want 1 Close and 2 received",
			closes, pubs, joins, st)
	}
	peers[0].WriteFrame(true, codec.OpClose, []byte{0x03, 0xe8})
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := locked(&b.mu, func() int { return b.closes }); n != 1 {
		t.Fatalf("%d Close after Shutdown, want 1", n)
	}
}

// A broker that fails to open leaves a server that serves nothing: Listen fails with Open's error,
// reported to the error event, ServeHTTP answers 503, and the broker is not closed.
func TestBrokerOpenErrorFailsServer(t *testing.T) {
	refused := errors.New("no broker today")
	b := (&fakeCluster{}).node("solo")
	b.openErr = refused
	s := CreateServer(&ServerOptions{Broker: b}, nil)
	var reported error
	s.OnError(func(_ *Server, err error) { reported = err })
	if err := s.Listen(0, "127.0.0.1", nil); !errors.Is(err, refused) || !errors.Is(reported, refused) {
		t.Fatalf("Listen: %v, reported %v; want %v", err, reported, refused)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("ServeHTTP answered %d, want 503", rec.Code)
	}
	s.Close(nil)
	if opens, closes := locked(&b.mu, func() int { return b.opens }), locked(&b.mu, func() int { return b.closes }); opens != 1 || closes != 0 {
		t.Fatalf("%d Open and %d Close, want 1 and 0", opens, closes)
	}
}

// A publication the broker refuses still reaches the local subscribers; the refusal is counted and
// logged with its topic.
func TestBrokerPublishErrorCountedAndLogged(t *testing.T) {
	b := (&fakeCluster{}).node("solo")
	b.publishErr = errors.New("broker full")
	logger, h := newRecordingLogger()
	s, peers, conns := fanoutServer(t, &ServerOptions{Broker: b, Logger: logger}, 1)
	conns[0].Subscribe("t")
	if err := s.Publish("t", TextMessage, []byte("local anyway")); err != nil {
		t.Fatal(err)
	}
	expectTexts(t, peers[0], "subscriber", "local anyway")
	if st := s.Stats(); st.BrokerPublishErrors != 1 || st.BrokerPublished != 0 {
		t.Fatalf("Stats %+v, want one publish error", st)
	}
	expectOneRecord(t, h, slog.LevelWarn, LogBrokerPublishFailed, map[string]string{"topic": "t", "error": "broker full"})
}
