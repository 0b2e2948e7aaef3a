package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"
)

// memConn is an in-memory net.Conn: reads come from r, writes go to w (or, with keepLast, only
// the last write is kept, so a benchmark writing forever does not grow a buffer).
type memConn struct {
	r        bytes.Reader
	w        bytes.Buffer
	keepLast bool
	last     []byte
}

var memAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000}

func (c *memConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error) {
	if c.keepLast {
		c.last = append(c.last[:0], p...)
		return len(p), nil
	}
	return c.w.Write(p)
}
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return memAddr }
func (c *memConn) RemoteAddr() net.Addr             { return memAddr }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// reset makes the connection read in from the start and forget what was written.
func (c *memConn) reset(in []byte) {
	c.r.Reset(in)
	c.w.Reset()
}

// hijacker is the http.ResponseWriter a net/http server hands a handler, reduced to what an
// upgrade needs: headers, WriteHeader (which writes the status line and headers at once, as
// net/http does for a 101 on Hijack) and Hijack, which returns conn with the reader the request
// was parsed from.
type hijacker struct {
	h    http.Header
	conn *memConn
	brw  *bufio.ReadWriter
}

func (w *hijacker) Header() http.Header         { return w.h }
func (w *hijacker) Write(p []byte) (int, error) { return w.conn.Write(p) }
func (w *hijacker) WriteHeader(code int) {
	fmt.Fprintf(w.conn, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	w.h.Write(w.conn)
	w.conn.Write([]byte("\r\n"))
}
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.conn, w.brw, nil }

func (w *hijacker) reset(br *bufio.Reader) {
	clear(w.h)
	w.brw.Reader = br
}
