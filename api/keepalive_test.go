package api

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
	"github.com/wsloop/wsloop/poller"
)

// Keepalive over real sockets, plain TCP and TLS: pings, the pong timeout and the idle timeout.

// The keepalive settings of these tests.
const (
	kaInterval = 400 * time.Millisecond
	kaPong     = 300 * time.Millisecond
	// kaLate is how late a keepalive deadline may fire: the wheel fires a deadline at the first
	// sweep after it, and sweeps once per tick, so up to one tick, plus the scheduling of the
	// loop and of the test on a loaded machine (two cores at a load of 9, a run saw 72 ms). It
	// stays below another interval, so a deadline fired a period late still fails.
	kaLate = poller.Tick + 150*time.Millisecond
)

var (
	serverPing = wstest.ServerFrame(true, codec.OpPing, nil)
	clientPong = wstest.FrameBytes(true, codec.OpPong, nil)
)

// A raw peer that answers two pings and then stops answering is closed within PingInterval +
// PongTimeout of its last pong (plus the wheel's lateness), not before the pong timeout after
// the ping: the error, then close 1006. Each ping comes a whole interval after the last pong.
func TestKeepaliveUnansweredPingCloses(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		s, addr, l, _ := tr.serve(t, ServerOptions{PingInterval: kaInterval, PongTimeout: kaPong})
		p := tr.dial(t, addr)
		p.expect(serverPing) // the first comes within the first interval, at a point of its own
		var last time.Time
		for range 2 {
			p.write(clientPong)
			last = time.Now()
			p.expect(serverPing)
			if d := time.Since(last); d < kaInterval-time.Millisecond || d > kaInterval+kaLate {
				t.Fatalf("ping %v after the pong, want after %v and within %v more", d, kaInterval, kaLate)
			}
		}
		pinged := time.Now()
		p.expectEnd()
		t.Logf("closed %v after the last pong, %v after the ping", time.Since(last), time.Since(pinged))
		if d, bound := time.Since(last), kaInterval+kaPong+kaLate; d > bound {
			t.Fatalf("closed %v after the last pong, want within %v", d, bound)
		}
		if d := time.Since(pinged); d < kaPong-poller.Tick {
			t.Fatalf("closed %v after the ping, want the pong timeout (%v, less a tick at most)", d, kaPong)
		}
		l.waitFor(t, closeEv(1006, ""))
		l.expect(t, "connection /", `pong ""`, `pong ""`, errEv(ErrPongTimeout), closeEv(1006, ""))
		if st := s.Stats(); st.PingsSent != 3 || st.KeepaliveClosed != 1 || st.Closes[1006] != 1 {
			t.Fatalf("Stats %+v, want PingsSent 3, KeepaliveClosed 1, Closes[1006] 1", st)
		}
	})
}

// A peer that answers (our own client: it answers pings by itself) stays open across several
// intervals, and gets the pings; so does a raw peer that sends data instead of pongs, since any
// byte proves the peer alive.
func TestKeepaliveAnsweringPeerStaysOpen(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		const interval = 200 * time.Millisecond
		_, addr, l, conns := tr.serve(t, ServerOptions{PingInterval: interval, PongTimeout: interval})
		scheme := "ws://"
		if tr.client != nil {
			scheme = "wss://"
		}
		r := newRecorder()
		opened := make(chan struct{})
		cl, err := Connect(scheme+addr+"/", r.opts(&ClientOptions{TLSConfig: tr.client}), func(*Conn) { close(opened) })
		if err != nil {
			t.Fatal(err)
		}
		recv(t, opened)
		recv(t, conns)
		raw := tr.dial(t, addr)
		recv(t, conns)
		deadline := time.Now().Add(6 * interval)
		for time.Now().Before(deadline) {
			raw.write(wstest.FrameBytes(true, codec.OpText, []byte("x")))
			time.Sleep(interval / 3)
		}
		pongs, texts := 0, 0
		for _, e := range l.get() {
			switch {
			case e == `pong ""`:
				pongs++
			case e == `text "x"`:
				texts++
			case strings.HasPrefix(e, "connection "):
			default:
				t.Fatalf("event %q while both peers were alive; events %q", e, l.get())
			}
		}
		// Each ping comes an interval after the last pong, and the wheel fires it up to one tick late.
		if want := int(6 * interval / (interval + kaLate)); pongs < want {
			t.Fatalf("%d pongs in %v with a ping interval of %v, want at least %d", pongs, 6*interval, interval, want)
		}
		if texts == 0 {
			t.Fatal("no message from the raw peer arrived")
		}
		cl.Close(1000, "done")
		if got := strings.Join(r.wait(t), "|"); got != "close 1000 done" {
			t.Fatalf("client events %q", got)
		}
	})
}

// IdleTimeout over real sockets: a peer that sends nothing gets a close with 1001 once that long
// passed; its answer ends the connection: the error, then close 1001.
func TestKeepaliveIdleTimeoutCloses(t *testing.T) {
	eachTransport(t, func(t *testing.T, tr transport) {
		const idle = 300 * time.Millisecond
		_, addr, l, _ := tr.serve(t, ServerOptions{IdleTimeout: idle})
		start := time.Now()
		p := tr.dial(t, addr)
		goingAway := codec.AppendClosePayload(nil, codec.CloseGoingAway, "idle timeout")
		p.expect(wstest.ServerFrame(true, codec.OpClose, goingAway))
		if d := time.Since(start); d < idle || d > idle+kaLate {
			t.Fatalf("idle close %v after the upgrade, want after %v and within %v more", d, idle, kaLate)
		}
		p.write(wstest.FrameBytes(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, "")))
		p.expectEnd()
		l.waitFor(t, closeEv(1001, ""))
		l.expect(t, "connection /", errEv(ErrIdleTimeout), closeEv(1001, ""))
	})
}

// A client with keepalive pings a silent server, and closes one that does not answer within
// PingInterval + PongTimeout: OnError with ErrPongTimeout, then OnClose with 1006.
func TestKeepaliveClient(t *testing.T) {
	wstest.CheckLeaks(t)
	pinged := make(chan time.Time, 1)
	ended := make(chan time.Time, 1)
	addr := rawServer(t, func(nc net.Conn, req string) {
		accept101(nc, req)
		if op, p := readClientFrame(t, nc); op != codec.OpPing || len(p) != 0 {
			t.Errorf("client sent %v %q, want an empty ping", op, p)
		}
		pinged <- time.Now()
		var b [1]byte
		_, err := nc.Read(b[:])
		ended <- time.Now()
		if err == nil {
			t.Errorf("the client sent %#x after the ping, want the end", b[0])
		}
	})
	r := newRecorder()
	start := time.Now()
	_, err := Connect("ws://"+addr, r.opts(&ClientOptions{PingInterval: kaInterval, PongTimeout: kaPong}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.wait(t), "|"); got != "error|close 1006 " {
		t.Fatalf("events %q", got)
	}
	if r.errs[0] != ErrPongTimeout {
		t.Fatalf("error %v, want %v", r.errs[0], ErrPongTimeout)
	}
	ping, end := recv(t, pinged), recv(t, ended)
	if d := ping.Sub(start); d > kaInterval+kaLate {
		t.Fatalf("first ping %v after Connect, want within %v", d, kaInterval+kaLate)
	}
	if d := end.Sub(ping); d < kaPong-poller.Tick || d > kaPong+kaLate {
		t.Fatalf("closed %v after the ping, want the pong timeout (%v) within %v", d, kaPong, kaLate)
	}
}
