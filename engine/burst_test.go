package engine

import (
	"runtime"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
)

// heapAfterGC returns the live heap once the collector has run three times: sync.Pool keeps what
// it was given through one collection (its victim cache) and drops it at the next.
func heapAfterGC() uint64 {
	for range 3 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHandshakeBurstLeavesNoMemory opens 10,000 server connections one after the other (each
// handshake's state reused by the next: the idle cost of an open connection), then 10,000 more
// at once: all in their handshake together (each holding its parsed request and the bytes kept),
// then all answered. Once collected, the burst's connections cost what the idle ones cost: the
// handshake state went back to its pools, and the pools gave it back to the heap, so nothing of
// the burst's peak stays. Every open connection holds no rare state.
func TestHandshakeBurstLeavesNoMemory(t *testing.T) {
	const n = 10_000
	cut := strings.Index(upgrade, "Sec-WebSocket-Key")
	first, rest := []byte(upgrade[:cut]), []byte(upgrade[cut:])
	cfg := Config{Role: codec.ServerRole}
	open := func(conns []*conn, i int) {
		c := &conn{Conn: &Conn{}, ev: &recorder{}}
		c.Init(&cfg, c.ev)
		c.m = newMemory(c.Conn)
		c.m.Feed(first)
		conns[i] = c
	}
	answer := func(c *conn) {
		c.m.Feed(rest)
		if out := c.m.Read(); !strings.HasPrefix(string(out), "HTTP/1.1 101 ") {
			t.Fatalf("answer to the upgrade: %q", out)
		}
		c.ev.events = nil
	}

	base := heapAfterGC()
	idle := make([]*conn, n)
	for i := range idle {
		open(idle, i)
		answer(idle[i])
	}
	afterIdle := heapAfterGC()

	burst := make([]*conn, n)
	for i := range burst {
		open(burst, i)
	}
	peak := heapAfterGC()
	for _, c := range burst {
		answer(c)
	}
	afterBurst := heapAfterGC()

	perIdle := float64(afterIdle-base) / n
	held := float64(peak-afterIdle) / n
	perBurst := float64(afterBurst-afterIdle) / n
	t.Logf("per connection: idle %.0f B, burst in its handshake %.0f B, burst answered %.0f B", perIdle, held, perBurst)
	if held < perIdle+1024 {
		t.Fatalf("the burst held %.0f B per connection in its handshake, not above the idle %.0f B by 1 KiB: the test measures nothing", held, perIdle)
	}
	if perBurst > perIdle*1.05+16 {
		t.Fatalf("after the burst, its connections hold %.0f B each, idle ones %.0f B: the handshake state stayed", perBurst, perIdle)
	}
	for i, c := range append(idle, burst...) {
		if c.rare != nil {
			t.Fatalf("open connection %d holds its rare state", i)
		}
	}
	runtime.KeepAlive(idle)
	runtime.KeepAlive(burst)
}
