package api

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// echoSizes are the message sizes whose echo is measured: a small message, one that is copied
// into the output, and one that is lent to the output without a copy (engine's lendMin).
var echoSizes = []int{64, 1 << 10, 16 << 10}

// BenchmarkEcho measures one echoed message through the whole server (loop, engine, api, the
// OnMessage and SendMessage hot path) over loopback: the client writes a masked frame and reads
// the echo. allocs/op counts the server's allocations too (the client allocates nothing); in
// steady state it is 0. "cb" sends each echo with a completion callback. Each size is measured
// after the warm-up of TestAllocsPerEcho and after the size before it, so a pool that forgets the
// sizes it saw shows here.
func BenchmarkEcho(b *testing.B) {
	for _, v := range []struct {
		name string
		cb   func(error)
	}{{"nocb", nil}, {"cb", ignoreSent}} {
		b.Run(v.name, func(b *testing.B) {
			p := dialEcho(b, v.cb)
			p.warm(b)
			for _, size := range echoSizes {
				b.Run(sizeName(size), func(b *testing.B) {
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						p.echo(b, size)
					}
				})
			}
		})
	}
}

// ignoreSent is a send callback that allocates nothing: a top-level function, not a closure.
func ignoreSent(error) {}

// echoPeer is a raw client of a server that echoes every message with SendMessage. Its frames are
// built once and its reads go into one buffer, so an echo allocates nothing on the client side.
type echoPeer struct {
	nc     net.Conn
	frames map[int][]byte // size -> the masked client frame
	echoes map[int][]byte // size -> the server frame expected back
	in     []byte
}

// dialEcho starts a server whose OnMessage echoes with SendMessage(typ, p, cb) and connects an
// echoPeer to it, ready to echo every size in echoSizes.
func dialEcho(tb testing.TB, cb func(error)) *echoPeer {
	tb.Helper()
	s := CreateServer(nil, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, cb) })
	if err := s.Listen(0, "127.0.0.1", nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(nil) })
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	if _, err := nc.Write([]byte(wstest.Request("/"))); err != nil {
		tb.Fatal(err)
	}
	head := make([]byte, 129) // the 101 without a protocol is 129 bytes
	if _, err := io.ReadFull(nc, head); err != nil {
		tb.Fatal(err)
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		tb.Fatalf("upgrade answered %q", head)
	}
	p := &echoPeer{nc: nc, frames: map[int][]byte{}, echoes: map[int][]byte{}}
	for _, size := range echoSizes {
		payload := pattern(size)
		p.frames[size] = wstest.FrameBytes(true, codec.OpBinary, payload)
		p.echoes[size] = wstest.ServerFrame(true, codec.OpBinary, payload)
		p.in = make([]byte, max(len(p.in), len(p.echoes[size])))
	}
	// One deadline for the peer's whole life: setting one per echo could allocate a timer.
	if err := nc.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		tb.Fatal(err)
	}
	return p
}

// echo sends one message of size bytes and checks that exactly its echo comes back.
func (p *echoPeer) echo(tb testing.TB, size int) {
	if _, err := p.nc.Write(p.frames[size]); err != nil {
		tb.Fatal(err)
	}
	want := p.echoes[size]
	got := p.in[:len(want)]
	if _, err := io.ReadFull(p.nc, got); err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("echo of %d bytes: got %s, want %s", size, short(got), short(want))
	}
}

// echoN echoes n messages of size bytes.
func (p *echoPeer) echoN(tb testing.TB, size, n int) {
	for range n {
		p.echo(tb, size)
	}
}

// mix echoes n messages of each size in echoSizes, largest first, then n of each again in
// the other order: every size follows a phase of the others.
func (p *echoPeer) mix(tb testing.TB, n int) {
	for i := len(echoSizes) - 1; i >= 0; i-- {
		p.echoN(tb, echoSizes[i], n)
	}
	for _, size := range echoSizes {
		p.echoN(tb, size, n)
	}
}

// warm echoes a long phase of 64-byte messages, then a mix of every size.
func (p *echoPeer) warm(tb testing.TB) {
	p.echoN(tb, 64, calibrationPhase)
	p.mix(tb, 200)
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
