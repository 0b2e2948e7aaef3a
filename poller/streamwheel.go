package poller

import (
	"sync"
	"time"
)

// streamTimers holds the deadlines of every stream connection of the process. Streams have no
// loop to sweep a wheel of their own, so they share this one, guarded by a mutex.
var streamTimers streamWheel

// streamWheel is the wheel of the stream connections, and the one runtime timer that sweeps it
// every Tick while it holds entries. An idle process keeps neither the timer armed nor a
// goroutine for it; a stream keeps no timer and allocates nothing to arm a deadline.
//
// Lock order: a stream's mu, then the wheel's. A stream's timing fields are guarded by the
// wheel's mu; fire reads them again under both, after the sweep has let go of the wheel.
type streamWheel struct {
	mu      sync.Mutex
	w       wheel[*stream]
	ticking bool        // the timer is armed or its sweep runs: the wheel holds entries
	timer   *time.Timer // made on first use, then Reset
}

// set gives st the deadline at, 0 for none. st.mu is held.
func (sw *streamWheel) set(st *stream, at int64) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	st.deadline = at
	if at == 0 {
		return // the entry, if any, is dropped at its sweep
	}
	sw.w.add(st, at)
	if !sw.ticking {
		sw.ticking = true
		sw.after(Tick)
	}
}

// after arms the timer to sweep in d. sw.mu is held.
func (sw *streamWheel) after(d time.Duration) {
	if sw.timer == nil {
		sw.timer = time.AfterFunc(d, sw.sweep)
	} else {
		sw.timer.Reset(d)
	}
}

// sweep is the timer's function: it collects the streams whose deadline passed, fires them
// without the wheel's lock (their OnTimer may set a deadline again), and arms the timer for the
// next Tick unless the wheel is empty. Sweeps never overlap: the timer is armed again only at the
// end of one.
func (sw *streamWheel) sweep() {
	now := nowNano()
	sw.mu.Lock()
	due := sw.w.collect(now)
	sw.mu.Unlock()
	for _, st := range due {
		if st.mu.TryLock() {
			st.fireLocked(now)
			st.mu.Unlock()
		} else {
			// Its session runs (perhaps a handler that blocks): fire it on a goroutine of its
			// own rather than hold up every other stream's deadline.
			go st.fire(now)
		}
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.w.fired()
	if sw.w.entries() == 0 {
		sw.ticking = false
		return
	}
	sw.after(max(Tick-time.Duration(nowNano()-now), 0))
}

// entries returns how many entries the wheel holds, live and stale.
func (sw *streamWheel) entries() int {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	return sw.w.entries()
}

func (st *stream) timer() *timing { return &st.timing }

// fire implements timed: it takes st.mu, then runs fireLocked.
func (st *stream) fire(now int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.fireLocked(now)
}

// fireLocked runs OnTimer if st is open and its deadline is still set and passed by now (it may
// have been moved or cleared since the sweep collected it). st.mu is held.
func (st *stream) fireLocked(now int64) {
	if st.closed {
		return
	}
	streamTimers.mu.Lock()
	due := st.deadline != 0 && st.deadline <= now
	if due {
		st.deadline = 0
	}
	streamTimers.mu.Unlock()
	if due {
		st.session.OnTimer(now)
	}
}
