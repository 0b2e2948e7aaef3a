package main

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/internal/wstest"
)

// TestTenThousandClients opens 10,000 client connections from this process to the echo command
// (a process of its own: both ends in one process would pass the descriptor limit), exchanges a
// message on each, reports the heap each idle client connection holds, and closes them all.
//
//	go test -run TenThousandClients -v ./cmd/echo
func TestTenThousandClients(t *testing.T) {
	const n = 10000
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	wstest.CheckLeaks(t)
	_, addr := startEcho(t)
	before := liveHeap()
	var echoed, closed, failed atomic.Int64
	allEchoed, allClosed := make(chan struct{}), make(chan struct{})
	conns := make([]*ws.Conn, n)
	for i := range conns {
		msg := "hello " + strconv.Itoa(i)
		c, err := ws.Connect("ws://"+addr+"/echo", nil, func(c *ws.Conn) {
			c.OnText(func(c *ws.Conn, text string) {
				if text != msg {
					failed.Add(1)
				}
				if echoed.Add(1) == n {
					close(allEchoed)
				}
			})
			c.SendText(msg, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		c.OnError(func(_ *ws.Conn, err error) { failed.Add(1) })
		c.OnClose(func(*ws.Conn, int, string) {
			if closed.Add(1) == n {
				close(allClosed)
			}
		})
		conns[i] = c
	}
	select {
	case <-allEchoed:
	case <-time.After(60 * time.Second):
		t.Fatalf("%d of %d echoed, %d failed", echoed.Load(), n, failed.Load())
	}
	if failed.Load() != 0 {
		t.Fatalf("%d connections failed or got a wrong echo", failed.Load())
	}
	t.Logf("live heap per idle client connection: %d bytes (the test's own closures included)", (liveHeap()-before)/n)
	for _, c := range conns {
		c.Close(1000, "")
	}
	select {
	case <-allClosed:
	case <-time.After(60 * time.Second):
		t.Fatalf("%d of %d closed", closed.Load(), n)
	}
}

// liveHeap returns the bytes of live heap objects after two collections (the second empties the
// pools' victim caches, which hold the handshakes' pooled state for one cycle).
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
