package bench

// The echo and broadcast servers of the end-to-end benchmarks, one per library, each set up the
// way its documentation recommends for speed. They run in a child process (see child_test.go):
// every path echoes each message with its type, and the parent asks for broadcasts over the
// child's standard input.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

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
	}
	return nil
}

// wsloop: OnMessage + SendMessage, the documented zero-copy path, on its gnet loops; broadcast
// over Server.Connections.
type wsloopServer struct{ s *wsloop.Server }

func (w *wsloopServer) serve(ln net.Listener) error {
	w.s = wsloop.CreateServer(nil, nil)
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
	peerkit.Fanout(slices.Collect(w.s.Connections()), func(c *wsloop.Conn) {
		c.SendMessage(wsloop.BinaryMessage, msg, nil)
	})
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
		for {
			typ, rd, err := c.NextReader()
			if err != nil {
				return
			}
			wr, err := c.NextWriter(typ)
			if err != nil {
				return
			}
			if _, err := io.Copy(wr, rd); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
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
type gobwasServer struct{ reg peerkit.Registry[*gobwasConn] }

type gobwasConn struct {
	nc net.Conn
	mu sync.Mutex // one writer at a time: the echo loop or a broadcast
	bw *bufio.Writer
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
	c := &gobwasConn{nc: nc, bw: bufio.NewWriterSize(nc, 4096)}
	g.reg.Add(c)
	defer g.reg.Remove(c)
	br := bufio.NewReaderSize(nc, 4096)
	hb := make([]byte, 2, ws.MaxHeaderSize-2)
	var payload []byte
	for {
		h, err := ws.ReadHeaderBuffer(br, hb)
		if err != nil || h.Length > 16<<20 {
			return
		}
		payload = slices.Grow(payload[:0], int(h.Length))[:h.Length]
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		op := h.OpCode
		switch op {
		case ws.OpClose:
			return
		case ws.OpPing:
			op = ws.OpPong
		case ws.OpPong:
			continue
		}
		c.mu.Lock()
		err = ws.WriteHeader(c.bw, ws.Header{Fin: h.Fin, OpCode: op, Length: h.Length})
		if err == nil {
			_, err = c.bw.Write(payload)
		}
		if err == nil {
			err = c.bw.Flush()
		}
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (g *gobwasServer) count() int { return g.reg.Count() }

func (g *gobwasServer) broadcast(msg []byte) {
	frame := ws.MustCompileFrame(ws.NewBinaryFrame(msg))
	peerkit.Fanout(g.reg.Snapshot(), func(c *gobwasConn) {
		c.mu.Lock()
		c.nc.Write(frame)
		c.mu.Unlock()
	})
}

// gws: its own server (gws.NewServer: http.ReadRequest straight off the socket, no net/http
// server) and its event handler; OnMessage writes the echo and returns the message's buffer to
// the pool. ParallelEnabled stays off (its default): each client has one message in flight, so
// handling one connection's messages in parallel cannot help and only adds a hand-off.
// Broadcast: gws.Broadcaster, which builds the frame once and queues it on each connection.
type gwsServer struct{ reg peerkit.Registry[*gws.Conn] }

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

type quietLogger struct{}

func (quietLogger) Error(...any) {}

func (g *gwsServer) serve(ln net.Listener) error {
	s := gws.NewServer(&gwsHandler{reg: &g.reg}, &gws.ServerOption{Logger: quietLogger{}})
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
	u.OnMessage(func(c *nbws.Conn, typ nbws.MessageType, p []byte) { c.WriteMessage(typ, p) })
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		// No keepalive deadline: broadcast clients never send. (TCP_NODELAY is already on, as
		// for every other server: nbio accepts with net.Listener.Accept, which sets it, and
		// then takes over the descriptor.)
		c.SetReadDeadline(time.Time{})
	})
	n.eng = nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{ln.Addr().String()},
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		Handler:                 mux,
		IOMod:                   nbhttp.IOModNonBlocking,
		ReleaseWebsocketPayload: true,
	})
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
		ctx := context.Background()
		buf := make([]byte, 4096)
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			wr, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			if _, err := io.CopyBuffer(wr, rd, buf); err != nil {
				return
			}
			if err := wr.Close(); err != nil {
				return
			}
		}
	}))
	return nil
}

func (s *coderServer) count() int { return s.reg.Count() }

func (s *coderServer) broadcast(msg []byte) {
	ctx := context.Background()
	peerkit.Fanout(s.reg.Snapshot(), func(c *coder.Conn) { c.Write(ctx, coder.MessageBinary, msg) })
}
