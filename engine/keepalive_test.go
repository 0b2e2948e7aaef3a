package engine

import (
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/poller"
)

// The keepalive settings of these tests.
const (
	kaInterval = 10 * time.Second
	kaPong     = 3 * time.Second
)

var pingFrame = wireFrame{true, codec.OpPing, ""}

// firstPing is when the first ping of a connection last heard at t0 is due, after its jitter.
func firstPing() time.Duration {
	return kaInterval - time.Duration(jitter(t0, int64(kaInterval)))
}

// expectPingAt fails unless the peer reads nothing just before d past the open and a ping at d.
func (c *conn) expectPingAt(t *testing.T, d time.Duration) {
	t.Helper()
	c.after(d - time.Millisecond)
	c.expectFrames(t)
	c.after(d)
	c.expectFrames(t, pingFrame)
}

// pong feeds the peer's pong at d past the open, masked when the peer is a client.
func (c *conn) pong(t *testing.T, d time.Duration) {
	t.Helper()
	c.after(d)
	if c.cfg.Role == codec.ClientRole {
		c.m.Feed(codec.AppendFrame(nil, true, codec.OpPong, nil, codec.ServerRole, [4]byte{}))
	} else {
		c.m.Feed(frame(true, codec.OpPong, ""))
	}
	c.ev.expect(t, `pong ""`)
}

// A ping goes out once the peer was silent for PingInterval, and not before: the first one at a
// point of the first interval, each later one a whole interval after the peer was last heard.
// Server and client alike (the client's ping is masked).
func TestKeepalivePingAfterSilence(t *testing.T) {
	for _, role := range []codec.Role{codec.ServerRole, codec.ClientRole} {
		t.Run(role.String(), func(t *testing.T) {
			cfg := Config{PingInterval: kaInterval}
			c := openServer
			if role == codec.ClientRole {
				c = openClient
			}
			k := c(t, cfg)
			first := firstPing()
			if first <= 0 || first > kaInterval {
				t.Fatalf("first ping %v after the open, want within (0, %v]", first, kaInterval)
			}
			k.expectPingAt(t, first)
			k.pong(t, first+time.Second)
			k.expectPingAt(t, first+time.Second+kaInterval)
			k.ev.expect(t)
		})
	}
}

// Traffic from the peer postpones the ping to a whole interval after it, and does not touch the
// timer: the deadline stays what it was and the entry, when it fires, finds the later stamp.
func TestKeepaliveTrafficPostponesPing(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval})
	first := firstPing()
	c.expectPingAt(t, first)
	c.pong(t, first+time.Second)
	armed := c.m.Deadline()
	c.after(first + 5*time.Second)
	c.m.Feed(frame(true, codec.OpText, "busy"))
	c.ev.expect(t, `text "busy"`)
	if dl := c.m.Deadline(); dl != armed {
		t.Fatalf("traffic moved the deadline from %d to %d", armed, dl)
	}
	c.after(first + time.Second + kaInterval) // the entry fires, and finds the peer heard since
	c.expectFrames(t)
	c.expectPingAt(t, first+5*time.Second+kaInterval)
}

// A pong moves the deadline from a PongTimeout longer than the interval to the next ping, which
// comes a whole interval after the pong, not at the pong timeout.
func TestKeepaliveLongPongTimeout(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval, PongTimeout: 2 * kaInterval})
	first := firstPing()
	c.expectPingAt(t, first)
	c.pong(t, first+time.Second)
	c.expectPingAt(t, first+time.Second+kaInterval)
}

// A peer that does not answer the ping is closed PongTimeout after it, so within PingInterval +
// PongTimeout of its last byte: the error, then Closed with 1006, and no close frame.
func TestKeepaliveNoPongCloses(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval, PongTimeout: kaPong})
	first := firstPing()
	c.expectPingAt(t, first)
	c.expectClosedAt(t, first+kaPong, "the pong timeout")
	c.ev.expect(t, "error "+ErrPongTimeout.Error(), `closed true 1006 ""`)
	c.expectFrames(t)
}

// A peer that answers stays open across many intervals; its pongs also keep IdleTimeout away,
// which counts everything the peer sends. Once it stops answering, it is closed.
func TestKeepalivePongKeepsOpen(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval, PongTimeout: kaPong, IdleTimeout: 2 * kaInterval})
	at := firstPing()
	for range 6 {
		c.expectPingAt(t, at)
		c.pong(t, at+kaPong-time.Millisecond)
		at += kaPong - time.Millisecond + kaInterval
	}
	if c.m.Closed() {
		t.Fatal("closed although every ping was answered")
	}
	c.ev.expect(t)
	c.expectPingAt(t, at)
	c.expectClosedAt(t, at+kaPong, "the pong timeout")
	c.ev.expect(t, "error "+ErrPongTimeout.Error(), `closed true 1006 ""`)
}

// IdleTimeout: after that long with nothing from the peer, the error, then a close handshake
// with 1001; the peer's answer ends it. Traffic postpones it.
func TestKeepaliveIdleTimeout(t *testing.T) {
	const idle = 30 * time.Second
	c := openServer(t, Config{IdleTimeout: idle})
	c.after(20 * time.Second)
	c.m.Feed(frame(true, codec.OpText, "hi"))
	c.ev.expect(t, `text "hi"`)
	c.after(20*time.Second + idle - time.Millisecond)
	c.expectFrames(t)
	c.after(20*time.Second + idle)
	c.expectFrames(t, closeFrame(codec.CloseGoingAway, "idle timeout"))
	c.ev.expect(t, "error "+ErrIdleTimeout.Error())
	if c.m.Closed() {
		t.Fatal("closed before the peer answered the close")
	}
	c.m.Feed(frame(true, codec.OpClose, string(codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))))
	if !c.m.Closed() {
		t.Fatal("still open after the close handshake")
	}
	c.ev.expect(t, `closed true 1001 ""`)
}

// An idle peer that does not answer the close either is cut off at the close timeout.
func TestKeepaliveIdleUnansweredClose(t *testing.T) {
	const idle = 30 * time.Second
	c := openServer(t, Config{IdleTimeout: idle, CloseTimeout: time.Second})
	c.after(idle)
	c.expectFrames(t, closeFrame(codec.CloseGoingAway, "idle timeout"))
	c.expectClosedAt(t, idle+time.Second, "the close timeout")
	c.ev.expect(t, "error "+ErrIdleTimeout.Error(), `closed true 1006 ""`)
}

// While the input is paused nothing is read, so the peer counts as heard: no pong timeout, no
// idle close. Once resumed, the rules apply again.
func TestKeepalivePausedInputCountsAsHeard(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval, PongTimeout: kaPong, IdleTimeout: kaInterval})
	first := firstPing()
	c.expectPingAt(t, first)
	c.PauseInput()
	c.m.RunWakes()
	c.after(first + kaPong)
	c.after(first + 3*kaInterval)
	if c.m.Closed() {
		t.Fatal("closed while its input was paused")
	}
	c.ResumeInput()
	c.m.RunWakes()
	c.expectFrames(t)
	idle := first + 3*kaInterval + kaInterval
	c.after(idle - time.Millisecond)
	c.expectFrames(t)
	c.after(idle)
	c.expectFrames(t, closeFrame(codec.CloseGoingAway, "idle timeout"))
	c.ev.expect(t, "error "+ErrIdleTimeout.Error())
}

// Connections opened together (within one wheel tick) spread their first pings over the
// interval, and each first ping goes out when its deadline says.
func TestKeepaliveJitterSpreadsFirstPings(t *testing.T) {
	const n = 100
	const interval = time.Minute // 600 ticks
	perTick := map[int64]int{}
	lo, hi := int64(1<<62), int64(0)
	for i := range n {
		opened := t0 + int64(i)*int64(time.Microsecond)
		c := &conn{Conn: &Conn{}, ev: &recorder{}}
		c.Init(&Config{Role: codec.ServerRole, PingInterval: interval}, c.ev)
		c.m = poller.NewMemory(c.Conn, opened)
		c.m.Feed([]byte(upgrade))
		c.m.Read()
		at := c.m.Deadline() - opened
		if at <= 0 || at > int64(interval) {
			t.Fatalf("connection %d: first ping %v after its open, want within (0, %v]", i, time.Duration(at), interval)
		}
		c.m.SetNow(opened + at - 1)
		c.expectFrames(t)
		c.m.SetNow(opened + at)
		c.expectFrames(t, pingFrame)
		perTick[at/int64(poller.Tick)]++
		lo, hi = min(lo, at), max(hi, at)
	}
	for tick, k := range perTick {
		if k > 3 {
			t.Fatalf("%d of %d first pings in tick %d", k, n, tick)
		}
	}
	if hi-lo < int64(interval)*8/10 {
		t.Fatalf("first pings span %v of the %v interval", time.Duration(hi-lo), interval)
	}
}

// Keepalive off (the zero Config) arms nothing once the connection is open, and allocates no
// state; a PongTimeout without PingInterval is off too.
func TestKeepaliveOffArmsNothing(t *testing.T) {
	for _, cfg := range []Config{{}, {PongTimeout: kaPong}} {
		c := openServer(t, cfg)
		if dl := c.m.Deadline(); dl != 0 || c.kaState() != nil {
			t.Fatalf("%+v: deadline %d armed, state %v, with keepalive off", cfg, dl, c.kaState())
		}
	}
}

// A loop that fires the ping later than the wheel's lateness (a stalled loop) leaves the peer its
// PongTimeout less that lateness, counted from when the ping went out; a ping within it counts
// from when it was due.
func TestKeepaliveLateLoopLeavesPeerItsTime(t *testing.T) {
	c := openServer(t, Config{PingInterval: kaInterval, PongTimeout: kaPong})
	late := firstPing() + 5*time.Second // far later than wheelLate
	c.after(late)
	c.expectFrames(t, pingFrame)
	c.expectClosedAt(t, late-wheelLate+kaPong, "the pong timeout")
	c.ev.expect(t, "error "+ErrPongTimeout.Error(), `closed true 1006 ""`)
}
