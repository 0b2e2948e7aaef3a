package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// fanoutServer starts a server with opts and dials n peers to it, one after the other; it returns
// the peers and, at the same index, each one's connection on the server.
func fanoutServer(t *testing.T, opts *ServerOptions, n int) (*Server, []*wstest.Peer, []*Conn) {
	t.Helper()
	opened := make(chan *Conn, 1)
	s, addr := startServer(t, opts, func(c *Conn) { opened <- c })
	peers, conns := make([]*wstest.Peer, n), make([]*Conn, n)
	for i := range n {
		peers[i] = wstest.Dial(t, addr, "/")
		conns[i] = recv(t, opened)
	}
	return s, peers, conns
}

// seqMsg is the i-th message of a sequence.
func seqMsg(i int) []byte { return fmt.Appendf(nil, "msg %06d", i) }

// prepared prepares a message and releases it when the test ends.
func prepared(t testing.TB, typ MessageType, payload []byte) *PreparedMessage {
	t.Helper()
	pm, err := NewPreparedMessage(typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pm.Release)
	return pm
}

// expectSeq reads frames from p and fails unless they are the text messages from..to-1 of the
// sequence, in order.
func expectSeq(t testing.TB, p *wstest.Peer, who string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		f, err := p.ReadFrame()
		if err != nil {
			t.Fatalf("%s: reading message %d: %v", who, i, err)
		}
		if f.Op != codec.OpText || !f.Fin || !bytes.Equal(f.Payload, seqMsg(i)) {
			t.Fatalf("%s: message %d is %v %q, want text %q", who, i, f.Op, short(f.Payload), seqMsg(i))
		}
	}
}

// A prepared frame goes on the wire exactly as a server frame of its message (unmasked, minimal
// length in each of the three length forms), and SendPrepared has the callback and error rules of
// the other sends.
func TestPreparedFrameBytes(t *testing.T) {
	wstest.CheckLeaks(t)
	_, peers, conns := fanoutServer(t, nil, 1)
	p, c := peers[0], conns[0]
	r := newCBRecorder()
	for _, v := range []struct {
		typ MessageType
		op  codec.Opcode
		n   int
	}{{TextMessage, codec.OpText, 5}, {BinaryMessage, codec.OpBinary, 200}, {BinaryMessage, codec.OpBinary, 70000}} {
		payload := bytes.Repeat([]byte("a"), v.n)
		pm := prepared(t, v.typ, payload)
		name := fmt.Sprint(v.n)
		if err := c.SendPrepared(pm, r.cb(name)); err != nil {
			t.Fatal(err)
		}
		want := wstest.ServerFrame(true, v.op, payload)
		got := make([]byte, len(want))
		p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
		if _, err := io.ReadFull(p.Conn, got); err != nil { // the server sent nothing else since the 101
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: wire %x..., want %x...", v.n, got[:min(12, len(got))], want[:min(12, len(want))])
		}
		r.expectQuick(t, name, nil)
	}

	if _, err := NewPreparedMessage(TextMessage, []byte{0xff}); !errors.Is(err, ErrInvalidText) {
		t.Fatalf("invalid text prepared: %v, want ErrInvalidText", err)
	}
	if _, err := NewPreparedMessage(MessageType(9), nil); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("type 9 prepared: %v, want ErrInvalidData", err)
	}

	p.WriteFrame(true, codec.OpClose, []byte{0x03, 0xe8})
	waitUntil(t, "the connection closes", func() bool { return c.ReadyState() == Closed })
	if err := c.SendPrepared(prepared(t, TextMessage, []byte("late")), r.cb("late")); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("SendPrepared on a closed connection: %v, want ErrNotOpen", err)
	}
	r.expectQuick(t, "late", ErrNotOpen)
}

// A client connection masks a prepared message like any message it sends: mask bit set, a key,
// the payload masked with it.
func TestPreparedClientMasked(t *testing.T) {
	wstest.CheckLeaks(t)
	payload := []byte("prepared from a client")
	frames := make(chan []byte, 1)
	addr := rawServer(t, func(nc net.Conn, req string) {
		accept101(nc, req)
		raw := make([]byte, 2+4+len(payload))
		if _, err := io.ReadFull(nc, raw); err != nil {
			t.Errorf("reading the client's frame: %v", err)
		}
		frames <- raw
	})
	pm := prepared(t, TextMessage, payload)
	sent := make(chan error, 1)
	c, err := Connect("ws://"+addr, nil, func(c *Conn) {
		if err := c.SendPrepared(pm, func(err error) { sent <- err }); err != nil {
			t.Errorf("SendPrepared: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.ec.Terminate()
	raw := recv(t, frames)
	if err := recv(t, sent); err != nil {
		t.Fatalf("send callback: %v", err)
	}
	if raw[0] != 0x81 || raw[1] != 0x80|byte(len(payload)) {
		t.Fatalf("header %x, want 81 %x (FIN text, masked, length %d)", raw[:2], 0x80|len(payload), len(payload))
	}
	key := [4]byte(raw[2:6])
	body := raw[6:]
	if bytes.Equal(body, payload) {
		t.Fatal("the payload went unmasked")
	}
	codec.Mask(key, 0, body)
	if !bytes.Equal(body, payload) {
		t.Fatalf("unmasked with its key the payload is %q, want %q", body, payload)
	}
}

// broadcastOrdered broadcasts msgs messages to n subscribers, then reads each subscriber's in
// turn: every one must have every message, in order.
func broadcastOrdered(t *testing.T, n, msgs int) {
	wstest.CheckLeaks(t)
	s, peers, _ := fanoutServer(t, nil, n)
	start := time.Now()
	for i := range msgs {
		pm, err := NewPreparedMessage(TextMessage, seqMsg(i))
		if err != nil {
			t.Fatal(err)
		}
		s.Broadcast(pm)
		pm.Release()
	}
	for i, p := range peers {
		expectSeq(t, p, fmt.Sprintf("subscriber %d", i), 0, msgs)
	}
	t.Logf("%d subscribers got %d messages each in %v", n, msgs, time.Since(start))
}

func TestBroadcast1000InOrder(t *testing.T) { broadcastOrdered(t, 1000, 100) }

// TestBroadcast9000InOrder is the large fan-out: 9,000 subscribers, each reading every message in
// order (18,000 descriptors in this process, under this machine's hard limit of 20,000; about 4 s
// under the race detector). Left out with -short.
func TestBroadcast9000InOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("large fan-out: not with -short")
	}
	broadcastOrdered(t, 9000, 20)
}

// A subscriber that stops reading gets the send-queue policy while every other subscriber
// receives every message, in order. Under CloseSlowConnections it is closed with ErrQueueFull;
// otherwise the messages its queue cannot take are refused for it alone, OnDrain fires once it
// reads again, and what it does receive is in order.
func TestBroadcastSlowSubscriber(t *testing.T) {
	for _, closeSlow := range []bool{true, false} {
		t.Run(fmt.Sprint("CloseSlow=", closeSlow), func(t *testing.T) {
			wstest.CheckLeaks(t)
			const fast, maxQueued = 8, 128 << 10
			opts := &ServerOptions{MaxQueuedBytes: maxQueued, CloseSlowConnections: closeSlow}
			s, peers, conns := fanoutServer(t, opts, fast+1)
			slow, slowConn := peers[fast], conns[fast]
			drained := make(chan struct{}, 1)
			slowConn.OnDrain(func(*Conn) {
				select {
				case drained <- struct{}{}:
				default:
				}
			})
			closed := make(chan error, 1)
			slowConn.OnError(func(_ *Conn, err error) { closed <- err })

			// The fast subscribers read in goroutines of their own, counting what they got.
			big := bytes.Repeat([]byte("x"), 8<<10)
			msg := func(i int) []byte { return append(seqMsg(i), big...) }
			var got [fast]atomic.Int64
			var wg sync.WaitGroup
			const maxMsgs = 2000
			total := atomic.Int64{}
			total.Store(maxMsgs)
			for k := range fast {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; int64(i) < total.Load(); i++ {
						f, err := peers[k].ReadFrame()
						if err != nil || !bytes.Equal(f.Payload, msg(i)) {
							t.Errorf("fast subscriber %d: message %d is %q (%v)", k, i, short(f.Payload), err)
							return
						}
						got[k].Add(1)
					}
				}()
			}
			// Broadcast, a few messages ahead of the slowest fast subscriber, until the slow one
			// has been refused (its queue full) or closed.
			sent := 0
			deadline := time.Now().Add(2 * wstest.Timeout)
			for ; sent < maxMsgs && time.Now().Before(deadline); sent++ {
				if closeSlow && slowConn.ReadyState() == Closed || !closeSlow && slowConn.ec.Room() < len(big) && sent > 64 {
					break
				}
				for k := range fast {
					for int64(sent)-got[k].Load() > 4 && time.Now().Before(deadline) {
						time.Sleep(100 * time.Microsecond)
					}
				}
				pm, err := NewPreparedMessage(TextMessage, msg(sent))
				if err != nil {
					t.Fatal(err)
				}
				s.Broadcast(pm)
				pm.Release()
			}
			// A few more once the policy has struck, for the others.
			for range 8 {
				pm, _ := NewPreparedMessage(TextMessage, msg(sent))
				s.Broadcast(pm)
				pm.Release()
				sent++
			}
			total.Store(int64(sent))
			wg.Wait()
			for k := range fast {
				if n := got[k].Load(); n != int64(sent) {
					t.Fatalf("fast subscriber %d got %d messages of %d", k, n, sent)
				}
			}
			if closeSlow {
				if err := recv(t, closed); !errors.Is(err, ErrQueueFull) {
					t.Fatalf("slow subscriber's error: %v, want ErrQueueFull", err)
				}
				return
			}
			// The slow one reads now: what it gets is in order, with the refused ones missing. Once
			// its queue drained (OnDrain), one more broadcast reaches it: the last message it reads.
			go func() {
				select {
				case <-drained:
					pm, _ := NewPreparedMessage(TextMessage, msg(sent))
					s.Broadcast(pm)
					pm.Release()
				case <-time.After(2 * wstest.Timeout):
				}
			}()
			last, n := -1, 0
			for last < sent {
				f, err := slow.ReadFrame()
				if err != nil {
					t.Fatalf("slow subscriber after %d messages (last %d of %d): %v", n, last, sent, err)
				}
				var i int
				if _, err := fmt.Sscanf(string(f.Payload[:10]), "msg %06d", &i); err != nil || !bytes.Equal(f.Payload, msg(i)) {
					t.Fatalf("slow subscriber: message %q", short(f.Payload))
				}
				if i <= last {
					t.Fatalf("slow subscriber: message %d after %d", i, last)
				}
				last, n = i, n+1
			}
			if n > sent {
				t.Fatalf("slow subscriber got all %d messages: its queue never filled", sent)
			}
			t.Logf("slow subscriber got %d of %d messages", n, sent)
		})
	}
}

// countingSubscribers dials n subscribers to addr, raw TCP clients whose goroutines read into a
// buffer of their own and count the bytes, so that they allocate nothing; it returns the count,
// all subscribers together, once the server has them all open.
func countingSubscribers(tb testing.TB, s *Server, n int) *atomic.Int64 {
	tb.Helper()
	var received atomic.Int64
	for range n {
		p := wstest.Dial(tb, s.Addr().String(), "/")
		p.Conn.SetReadDeadline(time.Time{})
		go func() {
			buf := make([]byte, 64<<10)
			for {
				k, err := p.Conn.Read(buf)
				received.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
	}
	waitUntil(tb, "every subscriber is open", func() bool { return countOpen(s) == n })
	return &received
}

func countOpen(s *Server) int {
	n := 0
	for range s.Connections() {
		n++
	}
	return n
}

// awaitBytes waits until received reaches want, bounded by wstest.Timeout.
func awaitBytes(tb testing.TB, received *atomic.Int64, want int64) {
	deadline := time.Now().Add(wstest.Timeout)
	for received.Load() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d bytes delivered", received.Load(), want)
		}
		runtime.Gosched()
	}
}

// broadcastPaced broadcasts pm n times, each at most window messages ahead of the slowest
// delivery, and waits for every delivery; perMsg is the bytes one broadcast delivers in all. It
// returns the allocations of the whole process meanwhile.
func broadcastPaced(tb testing.TB, s *Server, pm *PreparedMessage, received *atomic.Int64, perMsg int64, n, window int) uint64 {
	received.Store(0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	for i := range n {
		if i >= window {
			awaitBytes(tb, received, int64(i-window)*perMsg)
		}
		s.Broadcast(pm)
	}
	awaitBytes(tb, received, int64(n)*perMsg)
	runtime.ReadMemStats(&ms)
	received.Store(0)
	return ms.Mallocs - mallocs
}

// A broadcast allocates nothing per delivery: a task per loop and per batch of broadcasts at
// most, whatever the number of subscribers.
func TestBroadcastAllocs(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	const subs, msgs = 200, 400
	s, _ := startServer(t, nil, nil)
	received := countingSubscribers(t, s, subs)
	pm := prepared(t, BinaryMessage, bytes.Repeat([]byte{'a'}, 100))
	perMsg := int64(subs * (2 + 100))
	broadcastPaced(t, s, pm, received, perMsg, msgs, 4) // warm up
	allocs := broadcastPaced(t, s, pm, received, perMsg, msgs, 4)
	perDelivery := float64(allocs) / (subs * msgs)
	t.Logf("%d allocations for %d deliveries: %.4f per delivery", allocs, subs*msgs, perDelivery)
	if perDelivery > 0.02 { // 4 per broadcast: the loops' tasks, and noise from the test's own waiting
		t.Fatalf("%.4f allocations per delivery", perDelivery)
	}
}

// BenchmarkBroadcast measures Broadcast of a 128-byte prepared message to 1,000 subscribers over
// loopback (countingSubscribers: the clients allocate nothing). It reports deliveries per second
// and the process's allocations per delivery. Broadcasts are paced to stay within a window of
// messages ahead of the slowest delivery, so no send queue fills: window 16 keeps each loop task
// to a few messages (each subscriber's turn well under 16 KiB, written with one write), window 256
// lets bursts of up to 256 messages (33 KiB per subscriber) share a task, whose writev costs an
// allocation of its iovecs inside golang.org/x/sys (unix.Writev). The clients share the machine's
// cores with the server: the rate is a lower bound of the server's.
func BenchmarkBroadcast(b *testing.B) {
	const subs, size = 1000, 128
	s, _ := startServer(&testing.T{}, nil, nil)
	defer func() {
		for c := range s.Connections() {
			c.Close(1001, "bench over")
		}
		s.Close(nil)
	}()
	received := countingSubscribers(b, s, subs)
	pm := prepared(b, BinaryMessage, bytes.Repeat([]byte{'b'}, size))
	perMsg := int64(subs * len(wstest.ServerFrame(true, codec.OpBinary, make([]byte, size))))
	for _, window := range []int{16, 256} {
		b.Run(fmt.Sprint("window=", window), func(b *testing.B) {
			broadcastPaced(b, s, pm, received, perMsg, window, window) // warm up: queues, pools, scratch
			b.ResetTimer()
			allocs := broadcastPaced(b, s, pm, received, perMsg, b.N, window)
			b.StopTimer()
			deliveries := float64(b.N) * subs
			b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(allocs)/deliveries, "allocs/delivery")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
		})
	}
}

// Over TLS, where connections have no event loop and the caller writes the fan-out, broadcasts
// and publications reach their receivers in the order of the calls.
func TestBroadcastTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	const n, msgs = 4, 50
	opened := make(chan *Conn, n)
	s, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg}, func(c *Conn) { opened <- c })
	got := make([]chan string, n)
	for i := range n {
		got[i] = make(chan string, 2*msgs)
		c, err := Connect("wss://"+addr, &ClientOptions{TLSConfig: clientCfg}, func(c *Conn) {
			c.OnText(func(_ *Conn, text string) { got[i] <- text })
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(1000, "")
		if i > 0 { // the first one subscribes to nothing
			recv(t, opened).Subscribe("t")
		} else {
			recv(t, opened)
		}
	}
	for i := range msgs {
		s.Broadcast(prepared(t, TextMessage, seqMsg(2*i)))
		s.Publish("t", TextMessage, seqMsg(2*i+1))
	}
	for k := range n {
		for i := range 2 * msgs {
			if k == 0 && i%2 == 1 {
				continue
			}
			if text := recv(t, got[k]); text != string(seqMsg(i)) {
				t.Fatalf("client %d: got %q, want %q", k, text, seqMsg(i))
			}
		}
	}
}

// Broadcasts, filtered broadcasts and publications made one after the other reach each receiver
// in the order of the calls, each only where it is addressed, however many share a loop task.
// The filter holds the loops until every call is made, so that they do share tasks.
func TestFanoutInterleavedOrder(t *testing.T) {
	wstest.CheckLeaks(t)
	const n, msgs = 6, 90
	s, peers, conns := fanoutServer(t, nil, n)
	kept := map[*Conn]bool{conns[0]: true, conns[3]: true} // read by the filter on the loops
	// Connections are spread over the loops in turn: both loops have subscribers and others.
	for _, c := range conns[:n/2] {
		c.Subscribe("half")
	}
	want := make([][]int, n) // each connection's messages, in order
	gate := make(chan struct{})
	for i := range msgs {
		pm := prepared(t, TextMessage, seqMsg(i))
		switch {
		case i%5 == 0:
			s.Broadcast(pm)
		case i%5 == 1:
			s.BroadcastFunc(pm, func(c *Conn) bool { <-gate; return kept[c] })
		default: // runs of publications to the same topic
			s.PublishPrepared("half", pm)
		}
		for k, c := range conns {
			if i%5 == 0 || i%5 == 1 && kept[c] || i%5 > 1 && k < n/2 {
				want[k] = append(want[k], i)
			}
		}
	}
	close(gate)
	for k, p := range peers {
		for _, i := range want[k] {
			f, err := p.ReadFrame()
			if err != nil || string(f.Payload) != string(seqMsg(i)) {
				t.Fatalf("conn %d: got %q (%v), want %q", k, short(f.Payload), err, seqMsg(i))
			}
		}
		p.ExpectSilence(20 * time.Millisecond)
	}
}
