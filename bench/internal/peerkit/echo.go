package peerkit

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
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
)

// The per-connection echo loops and set-up pieces of the peers, shared by the benchmark servers
// (servers_test.go) and cmd/peerecho. Read limits stay with the callers.

// copyMessages echoes each message from next to the writer open returns for its type, through
// buf (nil: io.Copy's own), until an error.
func copyMessages[T any](next func() (T, io.Reader, error), open func(T) (io.WriteCloser, error), buf []byte) {
	for {
		typ, rd, err := next()
		if err != nil {
			return
		}
		wr, err := open(typ)
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
}

// GorillaEcho echoes each message of c with its type until an error: NextReader and NextWriter,
// io.Copy through the connection's buffered reader and writer (the buffers net/http already
// allocated, reused because the Upgrader's sizes are zero).
func GorillaEcho(c *gorilla.Conn) {
	copyMessages(c.NextReader, c.NextWriter, nil)
}

// CoderEcho echoes each message of c with its type until an error, copying from Reader to Writer
// (coder's echo example) through a 4 KiB buffer kept for the connection: plain io.Copy would
// allocate 32 KiB per message, since neither side implements WriterTo or ReaderFrom.
func CoderEcho(c *coder.Conn) {
	ctx := context.Background()
	next := func() (coder.MessageType, io.Reader, error) { return c.Reader(ctx) }
	open := func(typ coder.MessageType) (io.WriteCloser, error) { return c.Writer(ctx, typ) }
	copyMessages(next, open, make([]byte, 4096))
}

// GobwasConn is an upgraded gobwas connection with its buffered writer, written by one
// goroutine at a time: its echo loop or a broadcast.
type GobwasConn struct {
	NC net.Conn
	mu sync.Mutex
	bw *bufio.Writer
}

// NewGobwasConn wraps nc with a 4 KiB buffered writer.
func NewGobwasConn(nc net.Conn) *GobwasConn {
	return &GobwasConn{NC: nc, bw: bufio.NewWriterSize(nc, 4096)}
}

// WriteRaw writes b (a compiled frame) straight to the connection.
func (c *GobwasConn) WriteRaw(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.NC.Write(b)
}

// GobwasEcho runs gobwas' low-level frame API over br and c until an error, a close frame or a
// frame longer than limit: ws.ReadHeaderBuffer and ws.Cipher into a payload buffer reused across
// frames, then ws.WriteHeader and the payload through c's buffered writer, flushed once per
// frame. Pings are answered with pongs, pongs ignored. If replyClose, a close frame is answered
// with a close frame carrying its payload. If relay is not nil, every other frame (data or
// continuation) goes to relay instead of being echoed, the loop stopping when relay returns
// false; payload is only valid during the call.
func GobwasEcho(br *bufio.Reader, c *GobwasConn, limit int64, replyClose bool, relay func(op ws.OpCode, fin bool, payload []byte) bool) {
	hb := make([]byte, 2, ws.MaxHeaderSize-2)
	var payload []byte
	for {
		h, err := ws.ReadHeaderBuffer(br, hb)
		if err != nil || h.Length > limit {
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
			if replyClose {
				c.mu.Lock()
				ws.WriteFrame(c.NC, ws.NewCloseFrame(payload))
				c.mu.Unlock()
			}
			return
		case ws.OpPing:
			op = ws.OpPong
		case ws.OpPong:
			continue
		}
		if relay != nil && op != ws.OpPong {
			if !relay(op, h.Fin, payload) {
				return
			}
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

// NbioEcho is an nbio OnMessage handler writing each message back with its type.
func NbioEcho(c *nbws.Conn, typ nbws.MessageType, p []byte) { c.WriteMessage(typ, p) }

// NbioUpgrade returns the handler upgrading with u. It clears the keepalive read deadline nbio
// sets: idle and broadcast clients may never send. (TCP_NODELAY is already on, as for every
// other server: nbio accepts with net.Listener.Accept, which sets it, and then takes over the
// descriptor.)
func NbioUpgrade(u *nbws.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c.SetReadDeadline(time.Time{})
	}
}

// NbioEngine returns the nbhttp engine serving h on ln in its non-blocking (epoll) mode with
// pooled payloads (ReleaseWebsocketPayload), as nbio's README and its benchmark configuration
// set it up. Start it with Start.
func NbioEngine(ln net.Listener, h http.Handler) *nbhttp.Engine {
	return nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{ln.Addr().String()},
		Listen:                  func(string, string) (net.Listener, error) { return ln, nil },
		Handler:                 h,
		IOMod:                   nbhttp.IOModNonBlocking,
		ReleaseWebsocketPayload: true,
	})
}

// QuietLogger is a gws Logger that drops everything.
type QuietLogger struct{}

// Error drops its arguments.
func (QuietLogger) Error(...any) {}
