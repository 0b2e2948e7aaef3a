package bench

// The echo and broadcast servers of the end-to-end benchmarks, one per library, each set up the
// way its documentation recommends for speed. They run in a child process (see child_test.go):
// every path echoes each message with its type, and the parent asks for broadcasts over the
// child's standard input.

import (
	"bufio"
	"context"
	"net"
	"net/http"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"

	wsloop "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/bench/internal/peerkit"
)

// peers lists the libraries in the order of every table; wsloop first, the base of the ratios.
var peers = []string{"wsloop", "gorilla", "gobwas", "gws", "nbio", "coder"}

// benchServer is one library's server.
type benchServer interface {
	// serve starts serving on ln and returns at once.
	serve(ln net.Listener) error
	// count returns the number of upgraded connections the server holds.
	count() int
	// broadcast sends msg as one binary message to every connection and returns once every
	// write was issued (queued or written, as the library does it).
	broadcast(msg []byte)
}

// burster is a server that broadcasts a burst of messages in one go (the limit row); the others
// broadcast each message of a burst in turn.
type burster interface{ burst(msg []byte, n int) }

// burst broadcasts msg n times in a row on s.
func burst(s benchServer, msg []byte, n int) {
	if bs, ok := s.(burster); ok {
		bs.burst(msg, n)
		return
	}
	for range n {
		s.broadcast(msg)
	}
}

func newServer(name string) benchServer {
	switch name {
	case "wsloop":
		return &wsloopServer{}
	case "gorilla":
		return &gorillaServer{}
	case "gobwas":
		return &gobwasServer{}
	case "gws":
		return &gwsServer{}
	case "nbio":
		return &nbioServer{}
	case "coder":
		return &coderServer{}
	case "gnet":
		return &gnetServer{}
	case "wsloop+deflate":
		return &wsloopServer{deflate: true}
	case "wsloop+defer":
		return &wsloopServer{deferAccept: true}
	case "gorilla+deflate":
		return &gorillaServer{up: gorilla.Upgrader{EnableCompression: true}}
	case "gws+deflate":
		return &gwsServer{deflate: true}
	}
	return nil
}

// wsloop: OnMessage + SendMessage, the documented zero-copy path, on its gnet loops; broadcast:
// one PreparedMessage and Server.Broadcast, which queues one task per loop.
type wsloopServer struct {
	s           *wsloop.Server
	deflate     bool // permessage-deflate in its default mode (no context takeover)
	deferAccept bool // ServerOptions.DeferAccept: upgrades answered on the accepting goroutine
}

func (w *wsloopServer) serve(ln net.Listener) error {
	opts := &wsloop.ServerOptions{DeferAccept: w.deferAccept}
	if w.deflate {
		opts.Deflate = &wsloop.DeflateOptions{}
	}
	w.s = wsloop.CreateServer(opts, nil)
	w.s.OnMessage(func(c *wsloop.Conn, typ wsloop.MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	return w.s.Serve(ln, nil)
}

func (w *wsloopServer) count() int {
	n := 0
	for range w.s.Connections() {
		n++
	}
	return n
}

func (w *wsloopServer) broadcast(msg []byte) {
	pm, err := wsloop.NewPreparedMessage(wsloop.BinaryMessage, msg)
	if err != nil {
		panic(err) // a binary message is always valid
	}
	w.s.Broadcast(pm)
	pm.Release()
}

// gorilla: net/http and a goroutine per connection reading with NextReader and writing with
// NextWriter (io.Copy moves the message through the connection's buffered reader and writer,
// the buffers net/http already allocated, reused because the Upgrader's sizes are zero).
// Broadcast: one PreparedMessage written to every connection.
type gorillaServer struct {
	up  gorilla.Upgrader
	reg peerkit.Registry[*gorilla.Conn]
}

func (g *gorillaServer) serve(ln net.Listener) error {
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := g.up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		g.reg.Add(c)
		defer c.Close()
		defer g.reg.Remove(c)
		peerkit.GorillaEcho(c)
	}))
	return nil
}

func (g *gorillaServer) count() int { return g.reg.Count() }

func (g *gorillaServer) broadcast(msg []byte) {
	pm, err := gorilla.NewPreparedMessage(gorilla.BinaryMessage, msg)
	if err != nil {
		panic(err)
	}
	peerkit.Fanout(g.reg.Snapshot(), func(c *gorilla.Conn) { c.WritePreparedMessage(pm) })
}

// gobwas: the zero-copy upgrade (ws.Upgrade straight on the accepted net.Conn, no net/http) and
// its low-level frame API on a goroutine per connection: ws.ReadHeader and ws.Cipher over a
// buffered reader, ws.WriteHeader and the payload through a buffered writer flushed once per
// message. Broadcast: one ws.CompileFrame written to every connection.
type gobwasServer struct {
	reg peerkit.Registry[*peerkit.GobwasConn]
}

func (g *gobwasServer) serve(ln net.Listener) error {
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go g.handle(nc)
		}
	}()
	return nil
}

func (g *gobwasServer) handle(nc net.Conn) {
	defer nc.Close()
	if _, err := ws.Upgrade(nc); err != nil {
		return
	}
	c := peerkit.NewGobwasConn(nc)
	g.reg.Add(c)
	defer g.reg.Remove(c)
	peerkit.GobwasEcho(bufio.NewReaderSize(nc, 4096), c, 16<<20, false, nil)
}

func (g *gobwasServer) count() int { return g.reg.Count() }

func (g *gobwasServer) broadcast(msg []byte) {
	frame := ws.MustCompileFrame(ws.NewBinaryFrame(msg))
	peerkit.Fanout(g.reg.Snapshot(), func(c *peerkit.GobwasConn) { c.WriteRaw(frame) })
}

// gws: its own server (gws.NewServer: http.ReadRequest straight off the socket, no net/http
// server) and its event handler; OnMessage writes the echo and returns the message's buffer to
// the pool. ParallelEnabled stays off (its default): each client has one message in flight, so
// handling one connection's messages in parallel cannot help and only adds a hand-off.
// Broadcast: gws.Broadcaster, which builds the frame once and queues it on each connection.
type gwsServer struct {
	reg     peerkit.Registry[*gws.Conn]
	deflate bool // permessage-deflate without context takeover, at its default level (1)
}

type gwsHandler struct {
	gws.BuiltinEventHandler
	reg *peerkit.Registry[*gws.Conn]
}

func (h *gwsHandler) OnOpen(c *gws.Conn)             { h.reg.Add(c) }
func (h *gwsHandler) OnClose(c *gws.Conn, err error) { h.reg.Remove(c) }
func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	c.WriteMessage(m.Opcode, m.Bytes())
	m.Close()
}

func (g *gwsServer) serve(ln net.Listener) error {
	s := gws.NewServer(&gwsHandler{reg: &g.reg}, &gws.ServerOption{Logger: peerkit.QuietLogger{},
		PermessageDeflate: gws.PermessageDeflate{Enabled: g.deflate}})
	s.OnError = func(net.Conn, error) {}
	go s.RunListener(ln)
	return nil
}

func (g *gwsServer) count() int { return g.reg.Count() }

func (g *gwsServer) broadcast(msg []byte) {
	b := gws.NewBroadcaster(gws.OpcodeBinary, msg)
	peerkit.Fanout(g.reg.Snapshot(), func(c *gws.Conn) { b.Broadcast(c) })
	b.Close()
}

// nbio: the nbhttp engine in its non-blocking (epoll) mode with pooled payloads
// (ReleaseWebsocketPayload), as nbio's README and its benchmark configuration set it up;
// OnMessage writes the echo. Broadcast: WriteMessage to every connection.
type nbioServer struct {
	reg peerkit.Registry[*nbws.Conn]
	eng *nbhttp.Engine
}

func (n *nbioServer) serve(ln net.Listener) error {
	logging.SetLevel(logging.LevelNone)
	u := nbws.NewUpgrader()
	u.OnOpen(n.reg.Add)
	u.OnClose(func(c *nbws.Conn, _ error) { n.reg.Remove(c) })
	u.OnMessage(peerkit.NbioEcho)
	mux := http.NewServeMux()
	mux.HandleFunc("/", peerkit.NbioUpgrade(u))
	n.eng = peerkit.NbioEngine(ln, mux)
	return n.eng.Start()
}

func (n *nbioServer) count() int { return n.reg.Count() }

func (n *nbioServer) broadcast(msg []byte) {
	peerkit.Fanout(n.reg.Snapshot(), func(c *nbws.Conn) { c.WriteMessage(nbws.BinaryMessage, msg) })
}

// coder: net/http, Accept, and a goroutine per connection copying each message from Reader to
// Writer (its echo example), through a buffer kept per connection: plain io.Copy would allocate
// 32 KiB per message, since neither side implements WriterTo or ReaderFrom. Its Writer sends
// every Write as a frame and Close as an empty final frame, so each echo is two frames; the
// client reassembles them. Broadcast: Conn.Write (coder has no prepared-message API).
type coderServer struct{ reg peerkit.Registry[*coder.Conn] }

func (s *coderServer) serve(ln net.Listener) error {
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{CompressionMode: coder.CompressionDisabled})
		if err != nil {
			return
		}
		s.reg.Add(c)
		defer c.CloseNow()
		defer s.reg.Remove(c)
		peerkit.CoderEcho(c)
	}))
	return nil
}

func (s *coderServer) count() int { return s.reg.Count() }

func (s *coderServer) broadcast(msg []byte) {
	ctx := context.Background()
	peerkit.Fanout(s.reg.Snapshot(), func(c *coder.Conn) { c.Write(ctx, coder.MessageBinary, msg) })
}
