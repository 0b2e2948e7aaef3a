package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// A peer that stops reading while the server sends, the same tests over plain TCP and over TLS:
// the queue cap and its policy, CloseTimeout and Shutdown hold on both.

// transport is one way of carrying a connection in these tests.
type transport struct {
	name           string
	server, client *tls.Config // nil for plain TCP
}

// eachTransport runs test once over plain TCP and once over TLS.
func eachTransport(t *testing.T, test func(t *testing.T, tr transport)) {
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	for _, tr := range []transport{{name: "TCP"}, {name: "TLS", server: serverCfg, client: clientCfg}} {
		t.Run(tr.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			test(t, tr)
		})
	}
}

// serve starts a recording server (recServer) with opts over tr.
func (tr transport) serve(t *testing.T, opts ServerOptions) (*Server, string, *evlog, chan *Conn) {
	t.Helper()
	opts.TLSConfig = tr.server
	return recServer(t, &opts)
}

// stuckPeer is a client that completed its upgrade and reads nothing until told to.
type stuckPeer struct {
	t  *testing.T
	nc net.Conn
	rd *bufio.Reader
}

// dial connects to addr over tr, upgrades, and reads nothing more.
func (tr transport) dial(t *testing.T, addr string) *stuckPeer {
	t.Helper()
	d := &net.Dialer{Timeout: wstest.Timeout}
	var nc net.Conn
	var err error
	if tr.client != nil {
		nc, err = tls.DialWithDialer(d, "tcp", addr, tr.client)
	} else {
		nc, err = d.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	p := &stuckPeer{t: t, nc: nc, rd: bufio.NewReader(nc)}
	p.write([]byte(wstest.Request("/")))
	nc.SetReadDeadline(time.Now().Add(wstest.Timeout))
	head, err := p.rd.ReadString('\n')
	for err == nil && !strings.HasSuffix(head, "\r\n\r\n") {
		var line string
		line, err = p.rd.ReadString('\n')
		head += line
	}
	if err != nil || !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("upgrade answered %q (%v)", head, err)
	}
	return p
}

func (p *stuckPeer) write(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(wstest.Timeout))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// expect reads exactly len(want) bytes and fails unless they are want.
func (p *stuckPeer) expect(want []byte) {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(wstest.Timeout))
	got := make([]byte, len(want))
	if n, err := io.ReadFull(p.rd, got); err != nil {
		p.t.Fatalf("read %d of %d bytes: %v", n, len(want), err)
	}
	if !bytes.Equal(got, want) {
		p.t.Fatalf("the %d bytes read differ from what the server accepted", len(want))
	}
}

// expectEnd reads what is left and fails unless the connection ends within wstest.Timeout.
func (p *stuckPeer) expectEnd() {
	p.t.Helper()
	p.nc.SetReadDeadline(time.Now().Add(wstest.Timeout))
	_, err := io.Copy(io.Discard, p.rd)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.t.Fatal("the server did not close the socket")
	}
}

// stuckCap is the queue cap of these tests.
const stuckCap = 256 << 10

// stuckMessage is what fillUntilFull sends, as the peer receives it.
var stuckMessage = wstest.ServerFrame(true, codec.OpBinary, bytes.Repeat([]byte{7}, 64<<10))

// socketBuffers returns the most the kernel may hold for one loopback connection: the sender's
// and the receiver's largest socket buffers.
func socketBuffers(t *testing.T) int {
	t.Helper()
	total := 0
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_wmem", "/proc/sys/net/ipv4/tcp_rmem"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("no socket buffer limits to bound the test with: %v", err)
		}
		fields := strings.Fields(string(b))
		n, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			t.Fatalf("%s: %q", f, b)
		}
		total += n
	}
	return total
}

// Without CloseSlowConnections, sends to a peer that reads nothing are refused once the kernel's
// buffers and the cap are full, so what the server holds is bounded; the connection still reads
// what the peer sends; and once the peer reads, everything accepted arrives, in order, and the
// drain event fires.
func TestStuckPeerSendsRefusedAndBounded(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		s, addr, l, conns := tr.serve(t, ServerOptions{MaxQueuedBytes: stuckCap})
		drained := make(chan struct{}, 1)
		s.OnDrain(func(*Conn) { drained <- struct{}{} })
		p := tr.dial(t, addr)
		c := recv(t, conns)
		sent := fillUntilFull(t, c)
		t.Logf("%d messages of 64 KiB went before a refusal", sent)
		if bound := stuckCap + socketBuffers(t) + len(stuckMessage); sent*len(stuckMessage) > bound {
			t.Fatalf("%d messages (%d bytes) went before a refusal, want at most %d", sent, sent*len(stuckMessage), bound)
		}
		p.write(wstest.FrameBytes(true, codec.OpText, []byte("still here")))
		start := time.Now()
		l.waitFor(t, `text "still here"`)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a message from the peer took %v to be read while the server's output was stuck", d)
		}
		p.expect(bytes.Repeat(stuckMessage, sent))
		recv(t, drained)
		if err := c.SendText("again", nil); err != nil {
			t.Fatalf("send after the drain: %v", err)
		}
		p.expect(wstest.ServerFrame(true, codec.OpText, []byte("again")))
		bye := codec.AppendClosePayload(nil, codec.CloseNormal, "bye")
		p.write(wstest.FrameBytes(true, codec.OpClose, bye))
		p.expect(wstest.ServerFrame(true, codec.OpClose, bye))
		p.expectEnd()
		l.waitFor(t, closeEv(1000, "bye"))
	})
}

// With CloseSlowConnections, the send that finds the queue full ends the connection at once:
// error ErrQueueFull, then close 1006, and the socket really closes.
func TestStuckPeerClosedAsSlow(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		_, addr, l, conns := tr.serve(t, ServerOptions{MaxQueuedBytes: stuckCap, CloseSlowConnections: true})
		p := tr.dial(t, addr)
		fillUntilFull(t, recv(t, conns))
		start := time.Now()
		l.waitFor(t, closeEv(1006, ""))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("the slow connection closed %v after the refused send, want within 1s", d)
		}
		if got := l.get(); len(got) != 3 || got[1] != errEv(ErrQueueFull) {
			t.Fatalf("events %q, want the connection, error %v, close 1006", got, ErrQueueFull)
		}
		p.expectEnd()
	})
}

// Close to a peer that reads nothing (and so never answers) ends the connection within
// CloseTimeout, although its output cannot drain.
func TestStuckPeerCloseTimeout(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		const closeTimeout = 500 * time.Millisecond
		_, addr, l, conns := tr.serve(t, ServerOptions{MaxQueuedBytes: stuckCap, CloseTimeout: closeTimeout})
		p := tr.dial(t, addr)
		c := recv(t, conns)
		fillUntilFull(t, c)
		start := time.Now()
		if err := c.Close(1000, "bye"); err != nil {
			t.Fatal(err)
		}
		l.waitFor(t, closeEv(1006, ""))
		if d := time.Since(start); d < closeTimeout || d > closeTimeout+time.Second {
			t.Fatalf("closed %v after Close, want after CloseTimeout (%v) and within 1s more", d, closeTimeout)
		}
		p.expectEnd()
	})
}

// Shutdown with a peer that reads nothing: once its grace runs out it returns, and the connection
// is ended at once (Terminate), although its output cannot drain and CloseTimeout is far away.
func TestStuckPeerShutdownGraceRunsOut(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		const grace = 300 * time.Millisecond
		s, addr, l, conns := tr.serve(t, ServerOptions{MaxQueuedBytes: stuckCap, CloseTimeout: time.Minute})
		p := tr.dial(t, addr)
		fillUntilFull(t, recv(t, conns))
		r := recv(t, startShutdown(s, grace))
		if !errors.Is(r.err, context.DeadlineExceeded) || r.d < grace || r.d > grace+time.Second {
			t.Fatalf("Shutdown = %v after %v, want the context's deadline after about %v", r.err, r.d, grace)
		}
		start := time.Now()
		l.waitFor(t, closeEv(1006, ""))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("the connection closed %v after Shutdown returned, want at once", d)
		}
		p.expectEnd()
	})
}
