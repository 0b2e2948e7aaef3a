package poller

import (
	"testing"
	"time"
)

// timerSession records when OnTimer runs and can set a new deadline from inside it.
type timerSession struct {
	Conn
	fired []int64
	again int64 // a deadline to set from inside OnTimer, once
}

func (s *timerSession) Transport() *Conn     { return &s.Conn }
func (s *timerSession) OnOpen()              {}
func (s *timerSession) OnTraffic([]byte) int { return 0 }
func (s *timerSession) OnWake()              {}
func (s *timerSession) OnClose(error)        {}
func (s *timerSession) OnTimer(now int64) {
	s.fired = append(s.fired, now)
	if s.again != 0 {
		at := s.again
		s.again = 0
		s.deadline = at
		s.loop.timers.add(&s.Conn, at)
	}
}

func newTimerSession(l *Loop) *timerSession {
	s := &timerSession{}
	s.session = s
	s.loop = l
	return s
}

func TestWheelFiresOnceAtItsDeadline(t *testing.T) {
	l := &Loop{}
	base := (time.Now().UnixNano() / int64(Tick)) * int64(Tick)
	l.timers.next = tickOf(base)
	a, b := newTimerSession(l), newTimerSession(l)
	a.SetDeadline(base + int64(3*Tick/2))
	b.SetDeadline(base + int64(30*time.Second)) // more than one turn of the wheel ahead

	l.timers.sweep(base + int64(Tick))
	if len(a.fired) != 0 {
		t.Fatal("fired before its deadline")
	}
	l.timers.sweep(base + int64(2*Tick))
	if len(a.fired) != 1 || a.Deadline() != 0 {
		t.Fatalf("fired %d times, deadline %d", len(a.fired), a.Deadline())
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
	if l.timers.count != 0 {
		t.Fatalf("%d entries left", l.timers.count)
	}
}

func TestWheelReplacedClearedAndClosedDeadlines(t *testing.T) {
	l := &Loop{}
	base := (time.Now().UnixNano() / int64(Tick)) * int64(Tick)
	l.timers.next = tickOf(base)
	moved, cleared, closed := newTimerSession(l), newTimerSession(l), newTimerSession(l)
	moved.SetDeadline(base + int64(Tick))
	moved.SetDeadline(base + int64(5*Tick)) // replaces the first
	cleared.SetDeadline(base + int64(Tick))
	cleared.SetDeadline(0)
	closed.SetDeadline(base + int64(Tick))
	closed.closed = true

	l.timers.sweep(base + int64(2*Tick))
	if len(moved.fired)+len(cleared.fired)+len(closed.fired) != 0 {
		t.Fatal("a replaced, cleared or closed deadline fired")
	}
	l.timers.sweep(base + int64(6*Tick))
	if len(moved.fired) != 1 {
		t.Fatalf("replacement fired %d times", len(moved.fired))
	}
}

func TestWheelDeadlineSetFromOnTimer(t *testing.T) {
	l := &Loop{}
	base := (time.Now().UnixNano() / int64(Tick)) * int64(Tick)
	l.timers.next = tickOf(base)
	s := newTimerSession(l)
	again := base + int64(Tick) + int64(wheelSlots)*int64(Tick) // lands in the slot being swept
	s.again = again
	s.SetDeadline(base + int64(Tick))
	l.timers.sweep(base + int64(2*Tick))
	if len(s.fired) != 1 || s.Deadline() == 0 {
		t.Fatalf("fired %d, deadline %d", len(s.fired), s.Deadline())
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
