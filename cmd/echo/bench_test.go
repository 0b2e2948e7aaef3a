package main

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// BenchmarkEchoThroughput measures the echo server with 100 clients, each sending a 64-byte binary
// message and waiting for its echo, and reports messages per second (round trips). The clients are
// plain net.Conns in this process, so they share the machine's cores with the server.
//
//	go test -run '^$' -bench EchoThroughput -benchtime 200000x ./cmd/echo
func BenchmarkEchoThroughput(b *testing.B) {
	const clients = 100
	srv := newEchoServer(0, nil, false)
	if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
		b.Fatal(err)
	}
	defer srv.Close(nil)
	conns := make([]net.Conn, clients)
	for i := range conns {
		nc, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte(wstest.Request("/echo")))
		if _, err := io.ReadFull(nc, make([]byte, 129)); err != nil {
			b.Fatal(err)
		}
		conns[i] = nc
	}
	frame := wstest.FrameBytes(true, codec.OpBinary, make([]byte, 64))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / clients
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			echo := make([]byte, 66)
			for range per {
				if _, err := nc.Write(frame); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(nc, echo); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*clients)/time.Since(start).Seconds(), "msgs/s")
}
