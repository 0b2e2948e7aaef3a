package poller

import (
	"testing"
	"time"
)

// timerSlack is what a loaded machine (two shared cores, the race detector) may add to a sweep's
// Tick.
const timerSlack = Tick

// firedAt returns a stream session that sets the deadlines arms returns in OnOpen, one after the
// other, and a channel of the wall clock at each OnTimer.
func firedAt(arms func(now int64) []int64) (*streamSession, chan int64) {
	fired := make(chan int64, 16)
	s := newStreamSession()
	s.open = func(tr Transport) {
		for _, at := range arms(tr.Now()) {
			tr.SetDeadline(at)
		}
	}
	s.timer = func(Transport, int64) { fired <- time.Now().UnixNano() }
	return s, fired
}

// waitIdle waits until the stream wheel holds no entry and has disarmed its timer.
func waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		streamTimers.mu.Lock()
		n, ticking := streamTimers.w.entries(), streamTimers.ticking
		streamTimers.mu.Unlock()
		if n == 0 && !ticking {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream wheel keeps %d entries (ticking %v)", n, ticking)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectFires waits d, then checks that fired saw one OnTimer per deadline of want, in order,
// each at or after its deadline and within a Tick (and the slack) of it.
func expectFires(t *testing.T, what string, fired <-chan int64, d time.Duration, want ...int64) {
	t.Helper()
	time.Sleep(d)
	var got []int64
	for len(fired) > 0 {
		got = append(got, <-fired)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: OnTimer ran %d times, want %d", what, len(got), len(want))
	}
	for i, at := range got {
		if late := time.Duration(at - want[i]); late < 0 || late > Tick+timerSlack {
			t.Errorf("%s: OnTimer ran %v after its deadline, want within [0, %v]", what, late, Tick+timerSlack)
		}
	}
}

// A stream's deadline fires once, at the first sweep after it passes: not before, and within a
// Tick; the wheel then gives back its entry and its timer.
func TestStreamDeadlineFiresWithinATick(t *testing.T) {
	var at int64
	s, fired := firedAt(func(now int64) []int64 {
		at = now + int64(3*Tick/2)
		return []int64{at}
	})
	streamPair(t, s)
	await(t, s.opened, "OnOpen")
	expectFires(t, "deadline", fired, 3*Tick+timerSlack, at)
	waitIdle(t)
}

// A deadline moved earlier fires at its new time, once; one moved later fires only then; one
// cleared never fires; and one set again from inside OnTimer fires too.
func TestStreamDeadlineMovedClearedAndSetAgain(t *testing.T) {
	var earlier, later int64
	e, eFired := firedAt(func(now int64) []int64 {
		earlier = now + int64(Tick)
		return []int64{now + int64(8*Tick), earlier}
	})
	l, lFired := firedAt(func(now int64) []int64 {
		later = now + int64(5*Tick)
		return []int64{now + int64(Tick), later}
	})
	c, cFired := firedAt(func(now int64) []int64 { return []int64{now + int64(Tick), 0} })
	var first, again int64
	a, aFired := firedAt(func(now int64) []int64 {
		first = now + int64(Tick)
		return []int64{first}
	})
	inner := a.timer
	a.timer = func(tr Transport, now int64) {
		inner(tr, now)
		if again == 0 {
			again = now + int64(2*Tick)
			tr.SetDeadline(again)
		}
	}
	for _, s := range []*streamSession{e, l, c, a} {
		streamPair(t, s)
		await(t, s.opened, "OnOpen")
	}
	expectFires(t, "moved earlier", eFired, 10*Tick, earlier)
	expectFires(t, "moved later", lFired, 0, later)
	expectFires(t, "cleared", cFired, 0)
	expectFires(t, "set again from OnTimer", aFired, 0, first, again)
	waitIdle(t)
}

// A stream closed with a deadline set never fires it, and leaves the wheel.
func TestStreamClosedDeadlineNeverFires(t *testing.T) {
	s, fired := firedAt(func(now int64) []int64 { return []int64{now + int64(2*Tick)} })
	peer := streamPair(t, s)
	await(t, s.opened, "OnOpen")
	peer.Close()
	await(t, s.closed, "close after the peer's end")
	expectFires(t, "closed", fired, 4*Tick)
	waitIdle(t)
}

// Streams with deadlines keep no runtime timer each: arming one allocates nothing, and the wheel
// holds one entry per stream whose deadline is pushed later, then none once they fired.
func TestStreamDeadlinesAllocateNothing(t *testing.T) {
	const n = 16
	var streams []*stream
	var fires []chan int64
	for range n {
		s, fired := firedAt(func(int64) []int64 { return nil })
		streamPair(t, s)
		await(t, s.opened, "OnOpen")
		streams = append(streams, s.t.(*stream))
		fires = append(fires, fired)
	}
	at := nowNano() + int64(2*Tick)
	allocs := testing.AllocsPerRun(100, func() {
		at++ // later each time, as keepalive and drain polls move it
		for _, st := range streams {
			st.mu.Lock()
			st.SetDeadline(at)
			st.mu.Unlock()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations to arm %d streams' deadlines", allocs, n)
	}
	if got := streamTimers.entries(); got != n {
		t.Errorf("the wheel holds %d entries for %d streams' deadlines, moved 100 times", got, n)
	}
	time.Sleep(time.Duration(at-nowNano()) + Tick + timerSlack)
	for _, fired := range fires {
		expectFires(t, "stream", fired, 0, at)
	}
	waitIdle(t)
}

// A stream whose session holds its lock (a handler that blocks) delays no other stream's
// deadline, and its own fires once it lets go.
func TestStreamBlockedSessionDelaysNoOtherDeadline(t *testing.T) {
	var atA, atB int64
	a, aFired := firedAt(func(now int64) []int64 { atA = now + int64(2*Tick); return []int64{atA} })
	b, bFired := firedAt(func(now int64) []int64 { atB = now + int64(Tick); return []int64{atB} })
	const hold = 6 * Tick
	b.wake = func(Transport) { time.Sleep(hold) }
	streamPair(t, b)
	await(t, b.opened, "OnOpen")
	streamPair(t, a)
	await(t, a.opened, "OnOpen")
	b.t.Wake()
	expectFires(t, "the other stream", aFired, 2*Tick+Tick+timerSlack, atA)
	time.Sleep(time.Duration(atB-nowNano()) + hold + timerSlack)
	if n := len(bFired); n != 1 {
		t.Fatalf("the blocked stream's deadline fired %d times once it let go, want once", n)
	}
	waitIdle(t)
}
