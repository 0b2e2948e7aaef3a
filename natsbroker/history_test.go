package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The topic of the history tests, and what the clients receive of its publications: the number,
// '|', the payload.
const histTopic = "news"

// historyNode is an api.Server on an embedded NATS node with JetStream and history. A client
// that connects to /live subscribes to histTopic; one that connects to /from/S recovers it
// from S, and is sent "gone" if the history no longer reaches back that far.
type historyNode struct {
	b    *Broker
	srv  *api.Server
	addr string
}

// startHistoryNode starts a historyNode on so (JetStream added) with history h.
func startHistoryNode(t testing.TB, name string, so ServerOptions, h History) historyNode {
	t.Helper()
	so.JetStream = &JetStreamOptions{}
	if h.Timeout == 0 {
		h.Timeout = 5 * time.Second
	}
	b, err := Embedded(so, Options{Node: name, History: &h})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.CreateServer(&api.ServerOptions{
		Broker: b,
		SequencedPayload: func(_ string, seq uint64, payload []byte) []byte {
			return fmt.Appendf(nil, "%d|%s", seq, payload)
		},
	}, func(c *api.Conn) {
		from, ok := strings.CutPrefix(c.Path(), "/from/")
		if !ok {
			c.Subscribe(histTopic)
			return
		}
		after, _ := strconv.ParseUint(from, 10, 64)
		c.SubscribeFrom(histTopic, after, func(err error) {
			switch {
			case errors.Is(err, api.ErrHistoryGone):
				c.SendText("gone", nil)
			case err != nil:
				c.SendText("error "+err.Error(), nil)
			}
		})
	})
	return historyNode{b: b, srv: srv, addr: serveLocal(t, srv)}
}

// histClient is a WebSocket client of a historyNode: what it received, as numbers and payloads.
type histClient struct {
	c      *api.Conn
	mu     sync.Mutex
	seqs   []uint64
	texts  []string
	other  []string // what is not a publication ("gone", errors)
	probes int      // publications of "probe", left out of seqs and texts
}

// dialHistory connects to path on n.
func dialHistory(t testing.TB, n historyNode, path string) *histClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := api.Dial(ctx, "ws://"+n.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(1000, "") })
	hc := &histClient{c: c}
	c.OnText(func(_ *api.Conn, text string) {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		seq, payload, ok := strings.Cut(text, "|")
		n, err := strconv.ParseUint(seq, 10, 64)
		switch {
		case !ok || err != nil:
			hc.other = append(hc.other, text)
			return
		case payload == "probe":
			hc.probes++
			return
		}
		hc.seqs = append(hc.seqs, n)
		hc.texts = append(hc.texts, payload)
	})
	return hc
}

// got returns what the client received: the numbers, the payloads, and the rest.
func (hc *histClient) got() (seqs []uint64, texts, other []string) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	return slices.Clone(hc.seqs), slices.Clone(hc.texts), slices.Clone(hc.other)
}

// waitTexts waits until the client received n publications.
func (hc *histClient) waitTexts(t testing.TB, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d publications at the client", n), func() bool {
		_, texts, other := hc.got()
		if len(other) > 0 {
			t.Fatalf("client told %q", other)
		}
		return len(texts) >= n
	})
}

// wantTexts checks that the client received exactly texts, in order, with increasing numbers,
// and returns the last number.
func (hc *histClient) wantTexts(t testing.TB, texts []string) uint64 {
	t.Helper()
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive meanwhile
	seqs, got, other := hc.got()
	if len(other) > 0 || !slices.Equal(got, texts) {
		t.Fatalf("client received %q (and %q), want %q", got, other, texts)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("numbers not increasing: %v", seqs)
		}
	}
	if len(seqs) == 0 {
		return 0
	}
	return seqs[len(seqs)-1]
}

// waitGone waits until the client is told the history is gone, having received no publication.
func (hc *histClient) waitGone(t testing.TB) {
	t.Helper()
	waitFor(t, 10*time.Second, "the client told gone", func() bool {
		_, texts, other := hc.got()
		if len(texts) > 0 || len(other) > 1 || len(other) == 1 && other[0] != "gone" {
			t.Fatalf("client received %q and %q, want only gone", texts, other)
		}
		return len(other) == 1
	})
}

// texts returns "m<i>" for i in first..last.
func texts(first, last int) []string {
	var out []string
	for i := first; i <= last; i++ {
		out = append(out, fmt.Sprintf("m%d", i))
	}
	return out
}

// publishTexts publishes texts(first, last) on srv.
func publishTexts(t testing.TB, srv *api.Server, first, last int) {
	t.Helper()
	for _, s := range texts(first, last) {
		if err := srv.Publish(histTopic, api.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitStored waits until n's stream holds count publications.
func waitStored(t testing.TB, n historyNode, count uint64) {
	t.Helper()
	waitFor(t, 10*time.Second, fmt.Sprintf("%d publications stored", count), func() bool {
		info, err := n.b.hist.stream.Info(context.Background())
		return err == nil && info.State.Msgs == count
	})
}

// A client subscribed on a node with history receives N publications, numbered; it disconnects,
// M more are published, and it reconnects with the last number it saw: it receives exactly the
// M, in order, then what is published live, while publications go on during the recovery.
func TestHistoryRecovery(t *testing.T) {
	n := startHistoryNode(t, "node0", ServerOptions{}, History{Count: 1000})
	first := dialHistory(t, n, "/live")
	waitFor(t, 5*time.Second, "the client subscribed", func() bool { return n.srv.Subscribers(histTopic) == 1 })
	publishTexts(t, n.srv, 1, 5)
	first.waitTexts(t, 5)
	last := first.wantTexts(t, texts(1, 5))
	first.c.Close(1000, "")
	waitFor(t, 5*time.Second, "the client gone", func() bool { return n.srv.Subscribers(histTopic) == 0 })

	publishTexts(t, n.srv, 6, 12)
	waitStored(t, n, 12)
	// Publications go on while the client recovers: it must get each once, in order.
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := 13; i <= 60; i++ {
			n.srv.Publish(histTopic, api.TextMessage, []byte(fmt.Sprintf("m%d", i)))
			time.Sleep(time.Millisecond)
		}
	}()
	again := dialHistory(t, n, fmt.Sprintf("/from/%d", last))
	<-pubDone
	again.waitTexts(t, 55)
	publishTexts(t, n.srv, 61, 63)
	again.waitTexts(t, 58)
	again.wantTexts(t, texts(6, 63))
}

// With a history of K publications a topic: a client that missed K recovers them, one that
// missed K+1 is told the history is gone, and can still have what the history holds.
func TestHistoryCountGone(t *testing.T) {
	const k = 3
	n := startHistoryNode(t, "node0", ServerOptions{DontListen: true}, History{Count: k, Memory: true})
	live := dialHistory(t, n, "/live")
	waitFor(t, 5*time.Second, "the client subscribed", func() bool { return n.srv.Subscribers(histTopic) == 1 })
	publishTexts(t, n.srv, 1, 2)
	live.waitTexts(t, 2)
	seqs, _, _ := live.got()

	publishTexts(t, n.srv, 3, 2+k)
	live.waitTexts(t, 2+k)
	exact := dialHistory(t, n, fmt.Sprintf("/from/%d", seqs[1])) // missed m3..m5: k
	exact.waitTexts(t, k)
	exact.wantTexts(t, texts(3, 2+k))

	gone := dialHistory(t, n, fmt.Sprintf("/from/%d", seqs[0])) // missed m2..m5: k+1
	gone.waitGone(t)
	all := dialHistory(t, n, "/from/0")
	all.waitTexts(t, k+1)
	all.wantTexts(t, texts(2, 2+k))
}

// With a history of a short age: once the client's last publication is older, it is told the
// history is gone.
func TestHistoryAgeGone(t *testing.T) {
	const age = time.Second
	n := startHistoryNode(t, "node0", ServerOptions{DontListen: true}, History{Count: 100, Age: age})
	live := dialHistory(t, n, "/live")
	waitFor(t, 5*time.Second, "the client subscribed", func() bool { return n.srv.Subscribers(histTopic) == 1 })
	publishTexts(t, n.srv, 1, 2)
	live.waitTexts(t, 2)
	seqs, _, _ := live.got()
	young := dialHistory(t, n, fmt.Sprintf("/from/%d", seqs[0]))
	young.waitTexts(t, 1)
	young.wantTexts(t, texts(2, 2))

	start := time.Now()
	waitStored(t, n, 0)
	if d := time.Since(start); d > 3*age {
		t.Errorf("history dropped after %v, age %v", d, age)
	}
	publishTexts(t, n.srv, 3, 3)
	live.waitTexts(t, 3)
	old := dialHistory(t, n, fmt.Sprintf("/from/%d", seqs[1]))
	old.waitGone(t)
}

// Three nodes with JetStream, clustered through routes (one JetStream cluster, the stream on one
// replica): a client on node 0 receives publications, disconnects, misses some published on node
// 1, and recovers them on node 2, where the numbers mean the same; then receives what any node
// publishes.
func TestHistoryRecoveryOnAnotherNode(t *testing.T) {
	// The routes are known before the servers start: a JetStream cluster counts its peers from
	// them.
	ports := wstest.FreePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	nodes := make([]historyNode, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var servers []*server.Server
	for i := range nodes {
		wg.Go(func() {
			nodes[i] = startHistoryNode(t, fmt.Sprintf("node%d", i), ServerOptions{
				Name: fmt.Sprintf("js%d", i), Cluster: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
			}, History{Count: 100})
			mu.Lock()
			servers = append(servers, nodes[i].b.Server())
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	waitRoutes(t, servers...)

	first := dialHistory(t, nodes[0], "/live")
	watch := dialHistory(t, nodes[1], "/live")
	waitFor(t, 5*time.Second, "the clients subscribed", func() bool {
		return nodes[0].srv.Subscribers(histTopic) == 1 && nodes[1].srv.Subscribers(histTopic) == 1
	})
	// Interest crosses the routes after the subscription: publish until both clients have one.
	waitFor(t, 10*time.Second, "interest across the cluster", func() bool {
		nodes[2].srv.Publish(histTopic, api.TextMessage, []byte("probe"))
		time.Sleep(20 * time.Millisecond)
		first.mu.Lock()
		watch.mu.Lock()
		defer first.mu.Unlock()
		defer watch.mu.Unlock()
		return first.probes > 0 && watch.probes > 0
	})
	time.Sleep(50 * time.Millisecond) // the last probes land
	publishTexts(t, nodes[0].srv, 1, 5)
	first.waitTexts(t, 5)
	last := first.wantTexts(t, texts(1, 5))
	first.c.Close(1000, "")

	publishTexts(t, nodes[1].srv, 6, 10)
	watch.waitTexts(t, 10)
	watch.wantTexts(t, texts(1, 10))
	if wseqs, _, _ := watch.got(); wseqs[4] != last {
		t.Fatalf("node 1 numbered m5 %d, node 0 %d", wseqs[4], last)
	}
	again := dialHistory(t, nodes[2], fmt.Sprintf("/from/%d", last))
	again.waitTexts(t, 5)
	publishTexts(t, nodes[0].srv, 11, 12)
	again.waitTexts(t, 7)
	again.wantTexts(t, texts(6, 12))
	if _, err := nodes[2].b.hist.stream.Info(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// History refuses what it cannot answer: a topic not joined, and a broker without history.
func TestHistoryRefusals(t *testing.T) {
	n := startHistoryNode(t, "node0", ServerOptions{DontListen: true}, History{Memory: true})
	if _, err := n.b.History("elsewhere", 0, nil); !errors.Is(err, ErrNotJoined) {
		t.Errorf("History of a topic not joined: %v, want ErrNotJoined", err)
	}
	plain, err := Embedded(ServerOptions{DontListen: true}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.KeepsHistory() || !n.b.KeepsHistory() {
		t.Errorf("KeepsHistory: %v without history, %v with", plain.KeepsHistory(), n.b.KeepsHistory())
	}
	if _, err := plain.History(histTopic, 0, nil); !errors.Is(err, api.ErrNoHistory) {
		t.Errorf("History without history: %v, want api.ErrNoHistory", err)
	}
	if _, err := Embedded(ServerOptions{DontListen: true}, Options{History: &History{Timeout: 200 * time.Millisecond}}); err == nil {
		t.Error("history on a server without JetStream: no error")
	}
}

// connectHistory connects a broker named name with history h to s, and opens it.
func connectHistory(t testing.TB, s *server.Server, name string, h History) node {
	t.Helper()
	b, err := Connect(Options{URLs: []string{s.ClientURL()}, Node: name, ReconnectWait: 300 * time.Millisecond, History: &h})
	if err != nil {
		t.Fatal(err)
	}
	return open(t, b)
}

// joinHistory joins topic on n and waits until its Join has read where the history stands.
func joinHistory(t testing.TB, n node, topic string) {
	t.Helper()
	n.Join(topic)
	if _, err := n.History(topic, 0, func(api.BrokerMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// kick has s close n's connection, and waits until n knows.
func kick(t testing.TB, s *server.Server, n node) {
	t.Helper()
	id, err := n.nc.GetClientID()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DisconnectClientByID(id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, n.Node()+" disconnected", func() bool { return !n.connected.Load() })
}

// settle lets the delivering goroutine's last read of the stream (of what follows the last
// publication) be answered, so that a kick does not lose it (it would report an unknown gap).
func settle() { time.Sleep(100 * time.Millisecond) }

// topicSeqs returns the TopicSeq of msgs.
func topicSeqs(msgs []api.BrokerMessage) []uint64 {
	var out []uint64
	for _, m := range msgs {
		out = append(out, m.TopicSeq)
	}
	return out
}

// A node whose connection drops misses what is published meanwhile; once reconnected it reads it
// back from the stream at once, without waiting for another publication, in order, and reports
// no gap. With a history too short for what it missed, it delivers what the stream still holds
// and reports the rest as a gap, in stream numbers.
func TestHistoryReconnectReadsBack(t *testing.T) {
	s := startServer(t, ServerOptions{JetStream: &JetStreamOptions{StoreDir: t.TempDir()}})
	x := connectHistory(t, s, "x", History{Count: 3})
	y := connectHistory(t, s, "y", History{Count: 3})
	joinHistory(t, y, "t")
	publishRun(t, x, "t", 1, 2)
	waitFor(t, 5*time.Second, "the first publications", func() bool { return len(y.sink.topic("t")) == 2 })
	settle()
	kick(t, s, y)
	publishRun(t, x, "t", 3, 5) // the stream keeps 4: all y missed
	waitFor(t, 5*time.Second, "y reconnected", func() bool { return y.connected.Load() })
	waitFor(t, 5*time.Second, "what y missed", func() bool { return len(y.sink.topic("t")) == 5 })
	if err := checkRun(y.sink.topic("t"), "x", 1, 5); err != nil {
		t.Error(err)
	}
	if g := y.sink.gapList(); len(g) != 0 {
		t.Errorf("gaps %v", g)
	}
	seqs := topicSeqs(y.sink.topic("t"))
	if !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != 5 {
		t.Errorf("numbers %v", seqs)
	}

	settle()
	kick(t, s, y)
	publishRun(t, x, "t", 6, 12) // the stream keeps 9..12: 6..8 are lost to y
	waitFor(t, 5*time.Second, "y reconnected", func() bool { return y.connected.Load() })
	// The gap is reported before the deliveries after it.
	waitFor(t, 5*time.Second, "what the stream kept", func() bool { return len(y.sink.topic("t")) == 9 })
	if err := checkRun(y.sink.topic("t")[5:], "x", 9, 12); err != nil {
		t.Error(err)
	}
	got := y.sink.topic("t")
	want := api.BrokerGap{Topic: "t", From: got[4].TopicSeq + 1, To: got[5].TopicSeq - 1}
	if g := y.sink.gapList(); !slices.Equal(g, []api.BrokerGap{want}) {
		t.Errorf("gaps %v, want %v", g, want)
	}
}
