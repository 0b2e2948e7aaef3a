// Command peerecho is cmd/echo's server built on one of the peers of the comparison, so that
// cmd/loadgen can put every library under the same load:
//
//	peerecho -lib gorilla|gobwas|gws|nbio|coder|gnet -addr 127.0.0.1:9001
//
// As in cmd/echo, / and /echo echo each message with its type; /broadcast sends every message it
// receives to every connection on /broadcast, the sender included; GET /stats answers a JSON
// object with the process's heap_bytes, stack_bytes, goroutines and connections (the upgraded
// connections it holds). It prints one line with the bound address when ready, logs nothing per
// connection or message, and exits on SIGINT or SIGTERM.
//
// Each library is set up as in bench/servers_test.go, the way its documentation recommends for
// speed: gorilla and coder on net/http with a goroutine per connection, gobwas with its
// zero-copy upgrade and frame API on a goroutine per connection, gws with its own server, nbio
// with its non-blocking engine; gnet is not a library but the benchmarks' limit row
// (internal/limit, see gnet.go). Broadcasts build the frame once where the library can (gorilla's
// PreparedMessage, gobwas' compiled frame, gws' Broadcaster) and are spread over GOMAXPROCS
// goroutines (peerkit.Fanout), as in the benchmarks.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/logging"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"

	"github.com/wsloop/wsloop/bench/internal/peerkit"
)

// maxMessage bounds a message, as cmd/echo's default does (2 MiB).
const maxMessage = 2 << 20

// conns counts the upgraded connections the server holds, for GET /stats.
var conns atomic.Int64

// deflate and deflateTakeover are the -deflate and -deflate-takeover flags.
var deflate, deflateTakeover bool

func main() {
	lib := flag.String("lib", "", "the library: gorilla, gobwas, gws, nbio, coder, or gnet (the limit row)")
	addr := flag.String("addr", "127.0.0.1:8080", "host:port to listen on (port 0 picks a free port)")
	flag.BoolVar(&deflate, "deflate", false, "gorilla and gws: accept permessage-deflate (gws without context takeover)")
	flag.BoolVar(&deflateTakeover, "deflate-takeover", false, "gws: accept permessage-deflate with context takeover both ways")
	flag.Parse()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal(err)
	}
	switch *lib {
	case "gorilla":
		go http.Serve(ln, gorillaHandler())
	case "gobwas":
		go gobwasServe(ln)
	case "gws":
		go gwsServe(ln)
	case "nbio":
		err = nbioServe(ln)
	case "coder":
		go http.Serve(ln, coderHandler())
	case "gnet":
		err = gnetServe(ln)
	default:
		fmt.Fprintln(os.Stderr, "peerecho: -lib must be gorilla, gobwas, gws, nbio, coder or gnet")
		os.Exit(2)
	}
	if err != nil {
		fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	<-sig
	ln.Close()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "peerecho:", err)
	os.Exit(1)
}

// statsJSON is the body of GET /stats, with cmd/echo's keys and meanings: after a collection of
// garbage when gc is set (GET /stats?gc=1).
func statsJSON(gc bool) []byte {
	if gc {
		runtime.GC()
		runtime.GC() // what sync.Pools dropped at the first survives it in their victim caches
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b, _ := json.Marshal(map[string]any{
		"heap_bytes":  m.HeapInuse,
		"stack_bytes": m.StackInuse,
		"goroutines":  runtime.NumGoroutine(),
		"connections": conns.Load(),
	})
	return append(b, '\n')
}

func serveStats(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(statsJSON(r.URL.Query().Get("gc") == "1"))
}

// writeRawStats answers GET /stats on a bare connection, for the servers that parse the
// request themselves (gobwas, gws, gnet).
func writeRawStats(w io.Writer, gc bool) {
	body := statsJSON(gc)
	fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// mux routes /stats to the stats, /broadcast to bcast and everything else to echo.
func mux(echo, bcast http.HandlerFunc) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /stats", serveStats)
	m.HandleFunc("/broadcast", bcast)
	m.HandleFunc("/", echo)
	return m
}

// gorilla: a goroutine per connection; /echo reads with NextReader and writes with NextWriter
// (io.Copy through the buffers net/http already allocated), /broadcast reads whole messages and
// writes one PreparedMessage to every connection on /broadcast.
type gorillaConn struct {
	*gorilla.Conn
	mu sync.Mutex // one writer at a time
}

func gorillaHandler() http.Handler {
	up := gorilla.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: deflate}
	var subs peerkit.Registry[*gorillaConn]
	handle := func(loop func(*gorilla.Conn)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			c.SetReadLimit(maxMessage)
			conns.Add(1)
			defer conns.Add(-1)
			defer c.Close()
			loop(c)
		}
	}
	bcast := func(c *gorilla.Conn) {
		gc := &gorillaConn{Conn: c}
		subs.Add(gc)
		defer subs.Remove(gc)
		for {
			typ, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			pm, err := gorilla.NewPreparedMessage(typ, p)
			if err != nil {
				return
			}
			peerkit.Fanout(subs.Snapshot(), func(d *gorillaConn) {
				d.mu.Lock()
				d.WritePreparedMessage(pm)
				d.mu.Unlock()
			})
		}
	}
	return mux(handle(peerkit.GorillaEcho), handle(bcast))
}

// gobwas: ws.Upgrader straight on the accepted net.Conn (no net/http), its OnRequest taking the
// path, and its frame API on a goroutine per connection, as in the benchmarks; a GET /stats is
// recognised from the first bytes before the upgrade. /broadcast reassembles fragmented messages
// and writes one compiled frame to every connection on /broadcast.
func gobwasServe(ln net.Listener) {
	var subs peerkit.Registry[*peerkit.GobwasConn]
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if isTemporary(err) {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return
		}
		go gobwasHandle(nc, &subs)
	}
}

// isTemporary reports an accept error worth retrying (out of descriptors).
func isTemporary(err error) bool {
	var errno syscall.Errno
	for e := err; e != nil; {
		if en, ok := e.(syscall.Errno); ok {
			errno = en
			break
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return errno == syscall.EMFILE || errno == syscall.ENFILE || errno == syscall.ECONNABORTED
}

// The request lines of GET /stats and GET /stats?gc=1, as far as statsRequest looks.
var statsPrefix, statsGCPrefix = []byte("GET /stats "), []byte("GET /stats?gc=1 ")

// statsRequest reports whether the request starting with head is a GET /stats, and whether it
// asks for a collection first (?gc=1); head needs len(statsGCPrefix) bytes at most.
func statsRequest(head []byte) (stats, gc bool) {
	gc = bytes.HasPrefix(head, statsGCPrefix)
	return gc || bytes.HasPrefix(head, statsPrefix), gc
}

func gobwasHandle(nc net.Conn, subs *peerkit.Registry[*peerkit.GobwasConn]) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 4096)
	head, _ := br.Peek(len(statsGCPrefix))
	if stats, gc := statsRequest(head); stats {
		writeRawStats(nc, gc)
		return
	}
	var path string
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		if i := bytes.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		path = string(uri)
		return nil
	}}
	if _, err := u.Upgrade(struct {
		io.Reader
		io.Writer
	}{br, nc}); err != nil {
		return
	}
	conns.Add(1)
	defer conns.Add(-1)
	c := peerkit.NewGobwasConn(nc)
	var relay func(ws.OpCode, bool, []byte) bool
	if path == "/broadcast" {
		subs.Add(c)
		defer subs.Remove(c)
		// Reassemble fragmented messages; send each as one compiled frame to every connection.
		var msg []byte
		var msgOp ws.OpCode
		relay = func(op ws.OpCode, fin bool, payload []byte) bool {
			if op != ws.OpContinuation {
				msgOp, msg = op, msg[:0]
			}
			if len(msg)+len(payload) > maxMessage {
				return false
			}
			msg = append(msg, payload...)
			if !fin {
				return true
			}
			frame := ws.MustCompileFrame(ws.NewFrame(msgOp, true, msg))
			peerkit.Fanout(subs.Snapshot(), func(d *peerkit.GobwasConn) { d.WriteRaw(frame) })
			return true
		}
	}
	peerkit.GobwasEcho(br, c, maxMessage, true, relay)
}

// gws: its own server (gws.NewServer: http.ReadRequest straight off the socket), its OnRequest
// hook answering GET /stats and marking the connections of /broadcast in their session;
// OnMessage echoes, or on /broadcast queues one gws.Broadcaster frame on every connection there.
type gwsHandler struct {
	gws.BuiltinEventHandler
	subs *peerkit.Registry[*gws.Conn]
}

func (h *gwsHandler) OnOpen(c *gws.Conn) {
	conns.Add(1)
	if _, ok := c.Session().Load("broadcast"); ok {
		h.subs.Add(c)
	}
}

func (h *gwsHandler) OnClose(c *gws.Conn, err error) {
	conns.Add(-1)
	h.subs.Remove(c)
}

func (h *gwsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if _, ok := c.Session().Load("broadcast"); !ok {
		c.WriteMessage(m.Opcode, m.Bytes())
		return
	}
	b := gws.NewBroadcaster(m.Opcode, m.Bytes())
	peerkit.Fanout(h.subs.Snapshot(), func(d *gws.Conn) { b.Broadcast(d) })
	b.Close()
}

func gwsServe(ln net.Listener) {
	s := gws.NewServer(&gwsHandler{subs: &peerkit.Registry[*gws.Conn]{}}, &gws.ServerOption{
		Logger:             peerkit.QuietLogger{},
		ReadMaxPayloadSize: maxMessage,
		PermessageDeflate: gws.PermessageDeflate{Enabled: deflate || deflateTakeover,
			ServerContextTakeover: deflateTakeover, ClientContextTakeover: deflateTakeover},
		Authorize: func(r *http.Request, session gws.SessionStorage) bool {
			if r.URL.Path == "/broadcast" {
				session.Store("broadcast", true)
			}
			return true
		},
	})
	s.OnError = func(net.Conn, error) {}
	s.OnRequest = func(conn net.Conn, br *bufio.Reader, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/stats" {
			writeRawStats(conn, r.URL.Query().Get("gc") == "1")
			conn.Close()
			return
		}
		socket, err := s.GetUpgrader().UpgradeFromConn(conn, br, r)
		if err != nil {
			conn.Close()
			return
		}
		socket.ReadLoop()
	}
	s.RunListener(ln)
}

// nbio: the nbhttp engine in its non-blocking (epoll) mode with pooled payloads, as in the
// benchmarks; one Upgrader for /echo, one for /broadcast, whose OnMessage writes to every
// connection there.
func nbioServe(ln net.Listener) error {
	logging.SetLevel(logging.LevelNone)
	var subs peerkit.Registry[*nbws.Conn]
	newUpgrader := func() *nbws.Upgrader {
		u := nbws.NewUpgrader()
		u.MessageLengthLimit = maxMessage
		u.CheckOrigin = func(*http.Request) bool { return true }
		u.OnClose(func(c *nbws.Conn, _ error) { conns.Add(-1); subs.Remove(c) })
		return u
	}
	echoUp := newUpgrader()
	echoUp.OnOpen(func(*nbws.Conn) { conns.Add(1) })
	echoUp.OnMessage(peerkit.NbioEcho)
	bcastUp := newUpgrader()
	bcastUp.OnOpen(func(c *nbws.Conn) { conns.Add(1); subs.Add(c) })
	bcastUp.OnMessage(func(_ *nbws.Conn, typ nbws.MessageType, p []byte) {
		peerkit.Fanout(subs.Snapshot(), func(d *nbws.Conn) { d.WriteMessage(typ, p) })
	})
	return peerkit.NbioEngine(ln, mux(peerkit.NbioUpgrade(echoUp), peerkit.NbioUpgrade(bcastUp))).Start()
}

// coder: net/http, Accept, and a goroutine per connection; /echo copies each message from Reader
// to Writer through a buffer kept per connection (its echo example), /broadcast reads whole
// messages and writes each to every connection there with Conn.Write (coder has no
// prepared-message API; its writes are safe from several goroutines).
func coderHandler() http.Handler {
	var subs peerkit.Registry[*coder.Conn]
	opts := &coder.AcceptOptions{CompressionMode: coder.CompressionDisabled, InsecureSkipVerify: true}
	handle := func(loop func(*coder.Conn)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, err := coder.Accept(w, r, opts)
			if err != nil {
				return
			}
			c.SetReadLimit(maxMessage)
			conns.Add(1)
			defer conns.Add(-1)
			defer c.CloseNow()
			loop(c)
		}
	}
	bcast := func(c *coder.Conn) {
		subs.Add(c)
		defer subs.Remove(c)
		ctx := context.Background()
		for {
			typ, p, err := c.Read(ctx)
			if err != nil {
				return
			}
			peerkit.Fanout(subs.Snapshot(), func(d *coder.Conn) { d.Write(ctx, typ, p) })
		}
	}
	return mux(handle(peerkit.CoderEcho), handle(bcast))
}
