package api

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// heapWatch samples the heap in use every few milliseconds until stopped, and reports the most it
// grew above where it started.
type heapWatch struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       chan struct{}
}

func watchHeap() *heapWatch {
	runtime.GC()
	w := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	w.base.Store(heapInUse())
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := heapInUse(); h > w.peak.Load() {
				w.peak.Store(h)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// growth stops the watch and returns the peak growth in bytes.
func (w *heapWatch) growth() int64 {
	close(w.stop)
	<-w.done
	return int64(w.peak.Load()) - int64(w.base.Load())
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// flood writes frame to p again and again, never reading, until the server ends the connection
// or limit passes, and returns how long the connection lasted.
func flood(t *testing.T, p *wstest.Peer, frame []byte, perWrite int, limit time.Duration) time.Duration {
	t.Helper()
	batch := []byte(strings.Repeat(string(frame), perWrite))
	start := time.Now()
	for time.Since(start) < limit {
		_ = p.Conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := p.Conn.Write(batch); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue // the server stopped reading: the kernel's window is full
			}
			return time.Since(start)
		}
	}
	return time.Since(start)
}

// floodCloseTimeout is the close timeout of the flood tests: the drain deadline of a connection
// whose output stays over its cap.
const floodCloseTimeout = 2 * time.Second

// floodServer starts a server with a 1 MiB queue cap whose connection's error and close are
// recorded, with when they came, and a peer that reads nothing with a small receive buffer. The
// handlers only send on ended (t must not be used from a loop once the test may be over).
func floodServer(t *testing.T, onMessage func(*Conn, MessageType, []byte)) (*wstest.Peer, chan string) {
	t.Helper()
	ended := make(chan string, 2)
	s, addr := startServer(t, &ServerOptions{MaxQueuedBytes: 1 << 20, CloseTimeout: floodCloseTimeout}, nil)
	start := time.Now()
	s.OnConnError(func(c *Conn, err error) {
		ended <- fmt.Sprintf("error %v (after %v)", err, time.Since(start))
	})
	s.OnConnClose(func(c *Conn, code int, reason string) {
		ended <- fmt.Sprintf("close %d (after %v)", code, time.Since(start))
	})
	if onMessage != nil {
		s.OnMessage(onMessage)
	}
	p := wstest.DialRaw(t, addr)
	_ = p.Conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	p.Upgrade("/")
	return p, ended
}

// expectEnded waits for the server's error and close events of a flooding connection, and
// checks that nothing follows them.
func expectEnded(t *testing.T, ended chan string, lasted time.Duration) {
	t.Helper()
	for _, want := range []string{"error ", "close 1006"} {
		select {
		case got := <-ended:
			if !strings.HasPrefix(got, want) {
				t.Fatalf("server event %q, want %q (connection lasted %v)", got, want, lasted)
			}
			t.Log(got)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %q event from the server (connection lasted %v)", want, lasted)
		}
	}
	select {
	case got := <-ended:
		t.Fatalf("server event %q after the close: error and close fire once", got)
	case <-time.After(100 * time.Millisecond):
	}
}

// A peer that floods pings and reads nothing: pongs count against the 1 MiB cap, the server stops
// reading (TCP holds the peer back), and closes the connection (error, then close 1006) at the
// drain deadline, the close timeout. The heap grows by no more than the cap, one read buffer and
// the pooled buffers of one connection.
func TestAdversarialPingFlood(t *testing.T) {
	p, ended := floodServer(t, nil)
	heap := watchHeap()
	ping := codec.AppendFrame(nil, true, codec.OpPing, []byte(strings.Repeat("p", 125)), codec.ClientRole, [4]byte{9, 8, 7, 6})
	lasted := flood(t, p, ping, 64, 20*time.Second)
	grew := heap.growth()
	expectEnded(t, ended, lasted)
	if lasted > floodCloseTimeout+time.Second {
		t.Errorf("the flooding peer stayed connected %v: want it closed within the close timeout", lasted)
	}
	if limit := int64(8 << 20); grew > limit {
		t.Errorf("heap grew %d bytes under a ping flood, want at most %d (cap 1 MiB)", grew, limit)
	}
	t.Logf("connection lasted %v, heap grew %d bytes", lasted, grew)
}

// A peer that sends tiny messages to an echo server, one per write, and reads nothing: the echoes
// are gathered into large writes, not kept as one transport buffer each, so the heap stays within
// the cap's bound however long it goes on.
func TestAdversarialTinyMessageFlood(t *testing.T) {
	p, ended := floodServer(t, func(c *Conn, typ MessageType, b []byte) { c.SendMessage(typ, b, nil) })
	heap := watchHeap()
	msg := codec.AppendFrame(nil, true, codec.OpText, []byte("x"), codec.ClientRole, [4]byte{9, 8, 7, 6})
	lasted := flood(t, p, msg, 1, 8*time.Second)
	grew := heap.growth()
	p.Conn.Close()
	for got := ""; !strings.HasPrefix(got, "close "); { // the server's handlers are done before the test
		got = recv(t, ended)
		t.Log(got)
	}
	if limit := int64(8 << 20); grew > limit {
		t.Errorf("heap grew %d bytes under a tiny-message flood, want at most %d (cap 1 MiB)", grew, limit)
	}
	t.Logf("connection lasted %v, heap grew %d bytes", lasted, grew)
}

// Plain HTTP requests whose bodies arrive slowly are kept in one buffer of the request's size
// each, not in gnet's doubling inbound buffer: 500 connections holding 60 KiB of a 64 KiB body
// cost under 128 KiB of heap each, half of what they cost before (255 KiB). The figure includes
// the test's own client sockets and, under -race, the detector's overhead: about 83 KiB without
// it, 107 KiB with it.
func TestAdversarialHeldRequestBodies(t *testing.T) {
	const conns, body = 500, 64 << 10
	_, addr := startServer(t, &ServerOptions{HandshakeTimeout: time.Minute}, nil)
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", body)
	part := []byte(head + strings.Repeat("b", body-4<<10))
	heap := watchHeap()
	peers := make([]*wstest.Peer, conns)
	for i := range peers {
		peers[i] = wstest.DialRaw(t, addr)
		peers[i].Write(part)
	}
	time.Sleep(500 * time.Millisecond) // let every loop take what was sent
	runtime.GC()
	grew := heap.growth()
	if per := grew / conns; per > 128<<10 {
		t.Errorf("%d bytes of heap per connection holding %d bytes of a request body", per, len(part))
	}
	t.Logf("heap grew %d bytes, %d per connection", grew, grew/conns)
	for _, p := range peers { // the rest of the body: each request is answered 400 (no HTTPHandler)
		p.Write([]byte(strings.Repeat("b", 4<<10)))
	}
	for _, p := range peers {
		if head := p.ReadHead(); !strings.HasPrefix(string(head), "HTTP/1.1 400 ") {
			t.Fatalf("answer to the completed request: %q", head)
		}
	}
}
