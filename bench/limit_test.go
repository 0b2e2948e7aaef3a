package bench

// The limit row (internal/limit): a minimal WebSocket server written straight on gnet, doing no
// more protocol work than a fan-out or an echo needs, run as the peer "gnet". Every connection
// echoes and subscribes to the bursts.

import (
	"net"

	"github.com/wsloop/wsloop/bench/internal/limit"
)

// withLimit lists every library's row and then the limit row's.
var withLimit = append(append([]string(nil), peers...), "gnet")

// gnetServer is the limit's server as a benchServer, and a burster: each loop writes a whole
// burst to each of its connections in one write.
type gnetServer struct{ s limit.Server }

func (g *gnetServer) serve(ln net.Listener) error { return g.s.Serve(ln) }
func (g *gnetServer) count() int                  { return g.s.Count() }
func (g *gnetServer) broadcast(msg []byte)        { g.s.Burst(msg, 1) }
func (g *gnetServer) burst(msg []byte, n int)     { g.s.Burst(msg, n) }
