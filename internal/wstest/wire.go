package wstest

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// WireWatch is a TCP relay to a WebSocket server that parses what flows each way: it records the
// Sec-WebSocket-Extensions of the server's last 101 answer and counts the frames, and those with
// RSV1 (compressed under permessage-deflate), that each side sent after the upgrade. It shows on
// the wire that an extension was negotiated and used, not merely tolerated. A connection that is
// not upgraded (a plain HTTP request, a page) is relayed without being parsed.
type WireWatch struct {
	// Addr is the relay's loopback address: connect there instead of to the server.
	Addr string

	mu   sync.Mutex
	ext  string // the server's Sec-WebSocket-Extensions in the last 101
	rsv1 [2]int // frames with RSV1: client to server, server to client
	all  [2]int // data frames, likewise
	err  error  // a frame that does not parse
}

// NewWireWatch starts a WireWatch relaying plain TCP to target, closed when the test ends.
func NewWireWatch(t testing.TB, target string) *WireWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startWireWatch(t, ln, func() (net.Conn, error) { return net.Dial("tcp", target) })
}

// NewTLSWireWatch is NewWireWatch for a TLS server: the relay answers TLS with server and
// connects to target with client, so that it sees the frames in the clear between the two TLS
// connections it holds, one to each side.
func NewTLSWireWatch(t testing.TB, target string, server, client *tls.Config) *WireWatch {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	return startWireWatch(t, ln, func() (net.Conn, error) { return tls.Dial("tcp", target, client) })
}

// startWireWatch relays every connection ln accepts to one that dial opens.
func startWireWatch(t testing.TB, ln net.Listener, dial func() (net.Conn, error)) *WireWatch {
	w := &WireWatch{Addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		w.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		w.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := dial()
			if err != nil {
				in.Close()
				continue
			}
			w.mu.Lock()
			conns = append(conns, in, out)
			w.mu.Unlock()
			wg.Go(func() { w.relay(in, out, 0) })
			wg.Go(func() { w.relay(out, in, 1) })
		}
	})
	return w
}

// relay copies src to dst, parsing it: an HTTP head, then, if the head is an upgrade request
// (dir 0, the client's) or a 101 answer (dir 1, the server's), frames.
func (w *WireWatch) relay(src, dst net.Conn, dir int) {
	defer dst.Close()
	defer src.Close()
	role := codec.ServerRole // the reader of client frames
	if dir == 1 {
		role = codec.ClientRole
	}
	var buf []byte
	head, frames, skip := true, false, int64(0)
	chunk := make([]byte, 32<<10)
	for {
		n, err := src.Read(chunk)
		if head || frames {
			buf = append(buf, chunk[:n]...)
		}
		// The bytes are counted before they are passed on: once a peer has received a frame,
		// Counts includes it.
		for len(buf) > 0 {
			if head {
				i := bytes.Index(buf, []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				frames = w.recordHead(string(buf[:i]), dir)
				buf, head = buf[i+4:], false
				if !frames {
					buf = nil
				}
				continue
			}
			if skip > 0 {
				k := min(skip, int64(len(buf)))
				buf, skip = buf[k:], skip-k
				continue
			}
			h, hn, perr := codec.ParseHeaderDeflate(buf, role, 0)
			if perr != nil {
				w.mu.Lock()
				w.err = perr
				w.mu.Unlock()
				return
			}
			if hn == 0 {
				break
			}
			w.mu.Lock()
			if !h.Opcode.IsControl() {
				w.all[dir]++
			}
			if h.Rsv == 4 {
				w.rsv1[dir]++
			}
			w.mu.Unlock()
			buf, skip = buf[hn:], h.Length
		}
		if n > 0 {
			if _, werr := dst.Write(chunk[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// recordHead reports whether head, sent in direction dir, starts a WebSocket connection, and
// records the extensions of a 101 answer.
func (w *WireWatch) recordHead(head string, dir int) bool {
	lines := strings.Split(head, "\r\n")
	upgrade, ext := false, ""
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch value = strings.TrimSpace(value); {
		case strings.EqualFold(name, "Upgrade"):
			upgrade = strings.EqualFold(value, "websocket")
		case strings.EqualFold(name, "Sec-WebSocket-Extensions"):
			ext = value
		}
	}
	if dir == 0 {
		return upgrade
	}
	if !strings.HasPrefix(lines[0], "HTTP/1.1 101 ") {
		return false
	}
	w.mu.Lock()
	w.ext = ext
	w.mu.Unlock()
	return true
}

// Counts returns the frames with RSV1 and the data frames seen so far, each indexed by direction:
// 0 from the client, 1 from the server. A frame is counted before it is passed on, so a frame a
// peer has received is among them.
func (w *WireWatch) Counts() (rsv1, all [2]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rsv1, w.all
}

// WaitFrames waits, within Timeout, until the data frames each way (client to server, server to
// client) number all, and returns how many of them went compressed (RSV1).
func (w *WireWatch) WaitFrames(t testing.TB, all [2]int) (rsv1 [2]int) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		rsv1, got := w.Counts()
		if got == all {
			return rsv1
		}
		if time.Now().After(deadline) {
			t.Fatalf("on the wire: %v data frames, want %v", got, all)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Expect fails the test unless, within Timeout, the last 101 answered Sec-WebSocket-Extensions
// ext and at least min frames with RSV1 went each way; it fails at once on a frame that does not
// parse.
func (w *WireWatch) Expect(t testing.TB, ext string, min int) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		w.mu.Lock()
		e, rsv1, all, err := w.ext, w.rsv1, w.all, w.err
		w.mu.Unlock()
		if err != nil {
			t.Fatalf("a frame on the wire does not parse: %v", err)
		}
		if e == ext && rsv1[0] >= min && rsv1[1] >= min {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("on the wire: extensions %q (want %q), compressed frames %v of %v (want %d each way)", e, ext, rsv1, all, min)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
