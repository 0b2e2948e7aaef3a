package api

import (
	"io"
	"net"
	"strconv"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// BenchmarkEcho measures one echoed message through the whole server (loop, engine, api, the
// OnMessage and SendMessage hot path) over loopback: the client writes a masked frame and reads
// the echo. allocs/op counts the server's allocations too; in steady state it is 0.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 1024, 16 << 10} {
		b.Run(sizeName(size), func(b *testing.B) { benchEcho(b, size) })
	}
}

func benchEcho(b *testing.B, size int) {
	s := CreateServer(nil, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	if err := s.Listen(0, "127.0.0.1", nil); err != nil {
		b.Fatal(err)
	}
	defer s.Close(nil)
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte(wstest.Request("/"))); err != nil {
		b.Fatal(err)
	}
	head := make([]byte, 129) // the 101 without a protocol is 129 bytes
	if _, err := io.ReadFull(nc, head); err != nil {
		b.Fatal(err)
	}
	frame := wstest.FrameBytes(true, codec.OpBinary, make([]byte, size))
	echo := make([]byte, codec.HeaderLen(int64(size), false)+size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, echo); err != nil {
			b.Fatal(err)
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<10 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
