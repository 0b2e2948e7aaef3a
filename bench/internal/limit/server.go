// Package limit is the limit row of the peer comparison: a minimal WebSocket server written
// straight on gnet, doing no more protocol work than an echo or a fan-out needs. It parses just
// enough of the upgrade request to answer it (upgrade.go), unmasks in place and writes once per
// readable event (echo.go), and broadcasts by running one task on each loop that writes every
// subscriber once with all the frames of the burst (broadcast.go). It is what any library on
// gnet costs at least, so every other row reads as a multiple of it. The benchmarks of bench run
// it as the peer "gnet", and so does cmd/peerecho -lib gnet for cmd/loadgen.
//
// It checks nothing it does not need: no UTF-8 validation, no limits, no reassembly of
// fragmented messages (each frame is echoed or relayed as it came).
package limit

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Server is the limit's server. Set its fields before Serve and leave them.
type Server struct {
	gnet.BuiltinEventEngine

	// BroadcastPath, when set, is the path whose connections subscribe to the broadcasts and
	// relay each of their data frames to every subscriber, the sender included; the others
	// echo. Empty: every connection echoes and subscribes (to Burst).
	BroadcastPath string
	// HTTP, when set, sees every request head (up to its blank line) before the upgrade: a
	// non-nil answer is written back as it is and the connection closed (cmd/peerecho's
	// GET /stats); nil goes on with the upgrade.
	HTTP func(head []byte) []byte

	broadcastLine []byte // "GET " and BroadcastPath, the request line's start on that path
	booted        chan struct{}

	mu    sync.Mutex
	loops map[gnet.EventLoop]*loop
	conns atomic.Int64
}

// loop is one loop's subscribers and its echo's scratch; loop only, but for the map that finds
// it.
type loop struct {
	el    gnet.EventLoop
	conns map[gnet.Conn]struct{} // the subscribers: what a burst or a relayed frame is written to
	echo  echo
}

// relaying is the context of a connection on BroadcastPath; an echoing connection's is its
// *loop, or the *frame whose echo is under way, and a connection not yet upgraded has none.
type relaying struct{}

// Serve takes ln's address for gnet's own listener (gnet listens itself: ln is closed) and
// returns once gnet runs, its loops on every CPU.
func (s *Server) Serve(ln net.Listener) error {
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return err
	}
	if s.BroadcastPath != "" {
		s.broadcastLine = []byte("GET " + s.BroadcastPath)
	}
	s.booted = make(chan struct{})
	s.loops = map[gnet.EventLoop]*loop{}
	failed := make(chan error, 1)
	go func() {
		failed <- gnet.Run(s, "tcp://"+addr, gnet.WithMulticore(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay), gnet.WithLogger(quiet{}))
	}()
	select {
	case <-s.booted:
		return nil
	case err := <-failed:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("gnet did not start within 10 s")
	}
}

// OnBoot is gnet's: the engine runs.
func (s *Server) OnBoot(gnet.Engine) gnet.Action {
	close(s.booted)
	return gnet.None
}

// OnTraffic is gnet's: c has bytes to read.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	in, _ := c.Peek(-1)
	switch c.Context().(type) {
	case nil:
		return s.upgrade(c, in)
	case relaying:
		return s.relay(c, in)
	}
	return echoTraffic(c, in)
}

// OnClose is gnet's: c is gone.
func (s *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	if c.Context() != nil {
		delete(s.loopOf(c.EventLoop()).conns, c)
		s.conns.Add(-1)
	}
	return gnet.None
}

func (s *Server) loopOf(el gnet.EventLoop) *loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.loops[el]
	if l == nil {
		l = &loop{el: el, conns: map[gnet.Conn]struct{}{}}
		s.loops[el] = l
	}
	return l
}

// Count returns the number of upgraded connections the server holds.
func (s *Server) Count() int { return int(s.conns.Load()) }

// quiet drops gnet's log lines.
type quiet struct{}

func (quiet) Debugf(string, ...any) {}
func (quiet) Infof(string, ...any)  {}
func (quiet) Warnf(string, ...any)  {}
func (quiet) Errorf(string, ...any) {}
func (quiet) Fatalf(string, ...any) {}
