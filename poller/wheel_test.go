package poller

import (
	"testing"
	"time"
)

// timerSession records when OnTimer runs and can set a new deadline from inside it.
type timerSession struct {
	c     *gnetConn
	fired []int64
	again int64 // a deadline to set from inside OnTimer, once
}

func (s *timerSession) OnOpen(Transport, int64) {}
func (s *timerSession) OnTraffic([]byte) int    { return 0 }
func (s *timerSession) OnWake()                 {}
func (s *timerSession) OnClose(error)           {}
func (s *timerSession) OnTimer(now int64) {
	s.fired = append(s.fired, now)
	if s.again != 0 {
		at := s.again
		s.again = 0
		s.c.SetDeadline(at)
	}
}

func newTimerSession(l *Loop) *timerSession {
	s := &timerSession{}
	s.c = &gnetConn{session: s, loop: l}
	return s
}

// testLoop returns a loop whose wheel starts at the tick of base, a tick boundary.
func testLoop() (*Loop, int64) {
	l := &Loop{}
	base := (time.Now().UnixNano() / int64(Tick)) * int64(Tick)
	l.timers.next = tickOf(base)
	return l, base
}

func TestWheelFiresOnceAtItsDeadline(t *testing.T) {
	l, base := testLoop()
	a, b := newTimerSession(l), newTimerSession(l)
	a.c.SetDeadline(base + int64(3*Tick/2))
	b.c.SetDeadline(base + int64(30*time.Second)) // more than one turn of the wheel ahead

	l.timers.sweep(base + int64(Tick))
	if len(a.fired) != 0 {
		t.Fatal("fired before its deadline")
	}
	l.timers.sweep(base + int64(2*Tick))
	if len(a.fired) != 1 || a.c.deadline != 0 {
		t.Fatalf("fired %d times, deadline %d", len(a.fired), a.c.deadline)
	}
	l.timers.sweep(base + int64(10*Tick))
	if len(a.fired) != 1 {
		t.Fatal("fired twice")
	}
	if len(b.fired) != 0 {
		t.Fatal("a deadline a wheel turn ahead fired early")
	}
	l.timers.sweep(base + int64(30*time.Second) + int64(Tick))
	if len(b.fired) != 1 {
		t.Fatalf("far deadline fired %d times", len(b.fired))
	}
	if n := l.timers.entries(); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

func TestWheelReplacedClearedAndClosedDeadlines(t *testing.T) {
	l, base := testLoop()
	later, earlier, cleared, closed := newTimerSession(l), newTimerSession(l), newTimerSession(l), newTimerSession(l)
	later.c.SetDeadline(base + int64(Tick))
	later.c.SetDeadline(base + int64(5*Tick)) // moved later: the first entry re-files it
	earlier.c.SetDeadline(base + int64(5*Tick))
	earlier.c.SetDeadline(base + int64(2*Tick)) // moved earlier: a new entry, the old one stale
	cleared.c.SetDeadline(base + int64(Tick))
	cleared.c.SetDeadline(0)
	closed.c.SetDeadline(base + int64(Tick))
	closed.c.closed = true

	l.timers.sweep(base + int64(Tick))
	if len(later.fired)+len(cleared.fired)+len(closed.fired)+len(earlier.fired) != 0 {
		t.Fatal("a moved, cleared or closed deadline fired")
	}
	l.timers.sweep(base + int64(2*Tick))
	if len(earlier.fired) != 1 {
		t.Fatalf("a deadline moved earlier fired %d times at its new time", len(earlier.fired))
	}
	l.timers.sweep(base + int64(6*Tick))
	if len(later.fired) != 1 || len(earlier.fired) != 1 {
		t.Fatalf("later fired %d times, earlier %d", len(later.fired), len(earlier.fired))
	}
	if n := l.timers.entries(); n != 0 {
		t.Fatalf("%d entries left after every deadline passed", n)
	}
}

// A connection whose deadline is pushed later on every loop pass (a drain poll, a busy
// connection) keeps one entry, not one per pass.
func TestWheelOneEntryPerConnection(t *testing.T) {
	l, base := testLoop()
	s := newTimerSession(l)
	for i := range 10000 {
		s.c.SetDeadline(base + int64(Tick) + int64(i))
	}
	if n := l.timers.entries(); n != 1 {
		t.Fatalf("%d entries for one connection's deadline moved 10,000 times", n)
	}
	l.timers.sweep(base + int64(Tick) + 10000)
	if len(s.fired) != 1 {
		t.Fatalf("fired %d times", len(s.fired))
	}
}

// A burst of deadlines in one slot grows it; once they have fired the slot gives its memory back.
func TestWheelGivesBackABurst(t *testing.T) {
	l, base := testLoop()
	const burst = 20000
	for range burst {
		newTimerSession(l).c.SetDeadline(base + int64(Tick))
	}
	slot := &l.timers.slots[tickOf(base+int64(Tick))%wheelSlots]
	if cap(*slot) < burst {
		t.Fatalf("slot capacity %d for %d entries", cap(*slot), burst)
	}
	l.timers.sweep(base + int64(Tick))
	if c := cap(*slot); c > shrinkSlot {
		t.Fatalf("slot keeps capacity %d after its burst fired", c)
	}
}

func TestWheelDeadlineSetFromOnTimer(t *testing.T) {
	l, base := testLoop()
	s := newTimerSession(l)
	again := base + int64(Tick) + int64(wheelSlots)*int64(Tick) // lands in the slot being swept
	s.again = again
	s.c.SetDeadline(base + int64(Tick))
	l.timers.sweep(base + int64(2*Tick))
	if len(s.fired) != 1 || s.c.deadline == 0 {
		t.Fatalf("fired %d, deadline %d", len(s.fired), s.c.deadline)
	}
	l.timers.sweep(again + int64(Tick))
	if len(s.fired) != 2 {
		t.Fatalf("the deadline set inside OnTimer fired %d times in all", len(s.fired))
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	var p time.Duration
	var seen []time.Duration
	for range 10 {
		p = backoff(p)
		seen = append(seen, p)
	}
	if seen[0] != 5*time.Millisecond || seen[1] != 10*time.Millisecond || seen[9] != time.Second {
		t.Fatalf("backoff sequence %v", seen)
	}
}

// A deadline fires at the first sweep after it, whatever the phase of the sweeps against the
// tick boundaries: within one Tick of its passing on a loop that sweeps every Tick. (Filed under
// the next tick boundary instead, it would wait for the sweep after that boundary: up to two.)
func TestWheelFiresAtTheFirstSweepAfterTheDeadline(t *testing.T) {
	l, base := testLoop()
	a := newTimerSession(l)
	a.c.SetDeadline(base + int64(Tick/2))
	l.timers.sweep(base + int64(Tick/4)) // the deadline's own tick, before it: not yet
	if len(a.fired) != 0 {
		t.Fatal("fired before its deadline")
	}
	l.timers.sweep(base + int64(3*Tick/4)) // still in that tick, after the deadline
	if len(a.fired) != 1 {
		t.Fatalf("fired %d times at the first sweep after the deadline, want once", len(a.fired))
	}
}
