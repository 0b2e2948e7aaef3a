package api

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// expectTexts reads frames from p and fails unless they are the text messages want, in order.
func expectTexts(t testing.TB, p *wstest.Peer, who string, want ...string) {
	t.Helper()
	for _, w := range want {
		f, err := p.ReadFrame()
		if err != nil || f.Op != codec.OpText || string(f.Payload) != w {
			t.Fatalf("%s: got %v %q (%v), want text %q", who, f.Op, short(f.Payload), err, w)
		}
	}
}

// Subscribe, Unsubscribe, Topics and Subscribers keep the registry, a publication reaches the
// subscribers of its topic and no one else, in the order of the calls, and a connection leaves all
// its topics when it closes.
func TestTopicsSubscribePublish(t *testing.T) {
	wstest.CheckLeaks(t)
	s, peers, conns := fanoutServer(t, nil, 4)
	sub := func(i int, topic string, want bool) {
		t.Helper()
		if got := conns[i].Subscribe(topic); got != want {
			t.Fatalf("conn %d Subscribe(%q) = %v, want %v", i, topic, got, want)
		}
	}
	counts := func(want map[string]int) {
		t.Helper()
		for topic, n := range want {
			if got := s.Subscribers(topic); got != n {
				t.Fatalf("Subscribers(%q) = %d, want %d", topic, got, n)
			}
		}
	}
	sub(0, "a", true)
	sub(1, "a", true)
	sub(1, "b", true)
	sub(2, "b", true)
	sub(1, "a", false) // already
	counts(map[string]int{"a": 2, "b": 2, "": 0, "c": 0})
	if got := conns[1].Topics(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"a", "b"}) {
		t.Fatalf("conn 1 Topics() = %q, want a, b", got)
	}
	if got := conns[3].Topics(); got != nil {
		t.Fatalf("conn 3 Topics() = %q, want none", got)
	}

	end := prepared(t, TextMessage, []byte("end"))
	if err := s.Publish("a", TextMessage, []byte("to a")); err != nil {
		t.Fatal(err)
	}
	s.PublishPrepared("b", prepared(t, TextMessage, []byte("to b")))
	s.Publish("c", TextMessage, []byte("to nobody"))
	s.Broadcast(end)
	expectTexts(t, peers[0], "conn 0", "to a", "end")
	expectTexts(t, peers[1], "conn 1", "to a", "to b", "end")
	expectTexts(t, peers[2], "conn 2", "to b", "end")
	expectTexts(t, peers[3], "conn 3", "end")
	if err := s.Publish("a", TextMessage, []byte{0xff}); err != ErrInvalidText {
		t.Fatalf("Publish of invalid text: %v, want ErrInvalidText", err)
	}

	if !conns[1].Unsubscribe("a") || conns[1].Unsubscribe("a") || conns[3].Unsubscribe("a") {
		t.Fatal("Unsubscribe must report true once for a topic subscribed, false after and for others")
	}
	counts(map[string]int{"a": 1, "b": 2})
	s.Publish("a", TextMessage, []byte("a again"))
	s.Broadcast(end)
	expectTexts(t, peers[0], "conn 0", "a again", "end")
	expectTexts(t, peers[1], "conn 1", "end")

	// Conn 2 closes: it leaves b; conn 0 closes: a is gone. A closed connection subscribes to nothing.
	for _, i := range []int{2, 0} {
		peers[i].WriteFrame(true, codec.OpClose, []byte{0x03, 0xe8})
		waitUntil(t, "the connection closes", func() bool { return conns[i].ReadyState() == Closed })
	}
	// The close event, which takes a connection out of its topics, comes after ReadyState is Closed.
	waitUntil(t, "the closed connections to leave their topics", func() bool {
		return s.Subscribers("a") == 0 && s.Subscribers("b") == 1
	})
	counts(map[string]int{"a": 0, "b": 1})
	sub(0, "a", false)
	if got := conns[0].Topics(); got != nil {
		t.Fatalf("closed conn 0 Topics() = %q, want none", got)
	}
	s.Publish("b", TextMessage, []byte("b again"))
	s.Broadcast(end)
	expectTexts(t, peers[1], "conn 1", "b again", "end")
	expectTexts(t, peers[3], "conn 3", "end")

	client, err := Connect("ws://"+s.Addr().String(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.ec.Terminate()
	if client.Subscribe("a") {
		t.Fatal("a client connection subscribed")
	}
}

// Many goroutines subscribe, unsubscribe and publish at once; the counts add up afterwards (and
// the race detector watches the registry).
func TestTopicsConcurrent(t *testing.T) {
	wstest.CheckLeaks(t)
	const n, topics = 8, 20
	s, _, conns := fanoutServer(t, nil, n)
	done := make(chan struct{})
	for i, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := range topics {
				c.Subscribe(fmt.Sprint("t", k))
				if k%2 == 1 {
					c.Unsubscribe(fmt.Sprint("t", k-1))
				}
				s.Publish(fmt.Sprint("t", (k+i)%topics), BinaryMessage, []byte{byte(k)})
			}
		}()
	}
	for range conns {
		recv(t, done)
	}
	for k := range topics {
		want := n * (k % 2) // the even topics were left again
		if got := s.Subscribers(fmt.Sprint("t", k)); got != want {
			t.Fatalf("Subscribers(t%d) = %d, want %d", k, got, want)
		}
	}
}

// TestTopicMembershipMemory measures the heap a (connection, topic) membership costs, the topics'
// own share (their registry entries, amortized over their subscribers) and each connection's first
// membership (its cold part and topic list) included, and bounds it: with many topics per
// connection, and with one (where the connection's cold part and topic list weigh most).
func TestTopicMembershipMemory(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("the race detector changes what the heap holds")
	}
	for _, v := range []struct{ conns, topics, limit int }{{200, 50, 64}, {1000, 1, 256}} {
		t.Run(fmt.Sprintf("%dx%d", v.conns, v.topics), func(t *testing.T) {
			_, _, cs := fanoutServer(t, nil, v.conns)
			names := make([]string, v.topics)
			for k := range names {
				names[k] = fmt.Sprint("topic-", k)
			}
			before := settledHeap()
			for _, c := range cs {
				for _, name := range names {
					c.Subscribe(name)
				}
			}
			per := float64(settledHeap()-before) / float64(v.conns*v.topics)
			runtime.KeepAlive(cs)
			t.Logf("%.1f bytes per membership (%d connections x %d topics)", per, v.conns, v.topics)
			if per > float64(v.limit) {
				t.Fatalf("%.1f bytes per membership, more than %d", per, v.limit)
			}
		})
	}
}

// settledHeap returns the live heap once it stopped changing (connections of earlier tests still
// closing free memory for a while), within a bound.
func settledHeap() int64 {
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	last := heap()
	for range 50 {
		time.Sleep(10 * time.Millisecond)
		now := heap()
		if d := now - last; d > -4<<10 && d < 4<<10 {
			return now
		}
		last = now
	}
	return last
}
