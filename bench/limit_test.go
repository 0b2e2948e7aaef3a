package bench

// The limit row: a minimal WebSocket server written straight on gnet, doing no more protocol
// work than a fan-out or an echo needs. It parses just enough of the upgrade request to answer it
// (the Sec-WebSocket-Key line), keeps its connections in a per-loop list, and broadcasts by
// running one task on each loop that writes every subscriber once with all the frames of the
// burst; it echoes as limit_echo_test.go says. It is what any library on gnet costs at least, so
// every other row reads as a multiple of it.

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// withLimit lists every library's row and then the limit row's.
var withLimit = append(append([]string(nil), peers...), "gnet")

type gnetServer struct {
	gnet.BuiltinEventEngine
	booted chan struct{}

	mu    sync.Mutex
	loops map[gnet.EventLoop]*gnetLoop
	conns atomic.Int64
}

// gnetLoop is one loop's upgraded connections and its echo's scratch; loop only, but for the map
// that finds it.
type gnetLoop struct {
	el    gnet.EventLoop
	conns map[gnet.Conn]struct{}
	echo  gnetEcho
}

// serve takes ln's address for gnet's own listener (gnet listens itself).
func (g *gnetServer) serve(ln net.Listener) error {
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return err
	}
	g.booted = make(chan struct{})
	g.loops = map[gnet.EventLoop]*gnetLoop{}
	failed := make(chan error, 1)
	go func() {
		failed <- gnet.Run(g, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(quietGnet{}))
	}()
	select {
	case <-g.booted:
		return nil
	case err := <-failed:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("gnet did not start within 10 s")
	}
}

func (g *gnetServer) OnBoot(gnet.Engine) gnet.Action {
	close(g.booted)
	return gnet.None
}

func (g *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	in, _ := c.Peek(-1)
	if c.Context() != nil { // upgraded: its loop, or the frame whose echo is under way
		return echoTraffic(c, in)
	}
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return gnet.None
	}
	const keyField = "Sec-WebSocket-Key: "
	i := bytes.Index(in[:end], []byte(keyField))
	if i < 0 {
		return gnet.Close
	}
	key := in[i+len(keyField):]
	key = key[:bytes.IndexByte(key, '\r')]
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := append([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "),
		base64.StdEncoding.EncodeToString(h.Sum(nil))...)
	resp = append(resp, "\r\n\r\n"...)
	c.Discard(end + 4)
	l := g.loopOf(c.EventLoop())
	c.SetContext(l)
	c.Write(resp)
	l.conns[c] = struct{}{}
	g.conns.Add(1)
	return gnet.None
}

func (g *gnetServer) OnClose(c gnet.Conn, _ error) gnet.Action {
	if c.Context() != nil {
		delete(g.loopOf(c.EventLoop()).conns, c)
		g.conns.Add(-1)
	}
	return gnet.None
}

func (g *gnetServer) loopOf(el gnet.EventLoop) *gnetLoop {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.loops[el]
	if l == nil {
		l = &gnetLoop{el: el, conns: map[gnet.Conn]struct{}{}}
		g.loops[el] = l
	}
	return l
}

func (g *gnetServer) count() int { return int(g.conns.Load()) }

func (g *gnetServer) broadcast(msg []byte) { g.burst(msg, 1) }

// burst frames msg n times into one buffer and has each loop write it to each of its
// connections in one write, then returns.
func (g *gnetServer) burst(msg []byte, n int) {
	frame := appendFrame(nil, opBinary, msg, false, [4]byte{})
	batch := bytes.Repeat(frame, n)
	g.mu.Lock()
	loops := make([]*gnetLoop, 0, len(g.loops))
	for _, l := range g.loops {
		loops = append(loops, l)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			for c := range l.conns {
				c.Write(batch)
			}
			return nil
		}))
	}
	wg.Wait()
}

// quietGnet drops gnet's log lines.
type quietGnet struct{}

func (quietGnet) Debugf(string, ...any) {}
func (quietGnet) Infof(string, ...any)  {}
func (quietGnet) Warnf(string, ...any)  {}
func (quietGnet) Errorf(string, ...any) {}
func (quietGnet) Fatalf(string, ...any) {}
