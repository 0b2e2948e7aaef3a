package poller

import "time"

// Tick is the granularity of deadlines: a deadline fires within one Tick after it passes.
const Tick = 100 * time.Millisecond

const wheelSlots = 256 // one turn of the wheel covers 25.6 s; later deadlines wait for their turn

// shrinkSlot is the capacity above which a slot that is mostly empty after a sweep is given back.
const shrinkSlot = 64

// timing is what a wheel keeps on a connection, embedded in the connection's transport. It is
// guarded as its wheel is: by the loop for a gnet connection, by streamTimers.mu for a stream.
type timing struct {
	deadline int64 // unix nanoseconds; 0 when no deadline is set (and once the connection closed)
	filed    int64 // the wheel tick the connection has its live entry under; 0 for none
}

// timed is a connection a wheel holds: a *gnetConn or a *stream.
type timed interface {
	// timer returns the connection's wheel fields.
	timer() *timing
	// fire runs the session's OnTimer if the connection is open and its deadline is still set
	// and passed by now, and clears the deadline first. It runs outside any lock of the wheel.
	fire(now int64)
}

type timerEntry[C timed] struct {
	c    C
	tick int64 // the tick the entry is filed under; stale once c's filed differs
}

// wheel is a hashed timer wheel: each loop has one for its connections, and streamTimers one for
// every stream. A connection has at most one live entry: a deadline later than the one filed
// waits for that entry, which re-files it when it comes due; an earlier one files a new entry and
// leaves the old one stale, to be dropped by the sweep, as is the entry of a deadline cleared or
// of a connection closed. Each sweep visits the slots from the last one it visited, the current
// tick's included, so a deadline fires at the first sweep after it: within one Tick on a wheel
// swept every Tick.
type wheel[C timed] struct {
	slots [wheelSlots][]timerEntry[C]
	next  int64 // the first tick whose slot the next sweep visits: the current one, once swept
	count int   // entries in all slots, live and stale
	due   []C
	again []C // deadlines not passed yet whose entry came due: filed anew after the slot
}

// tickOf returns the tick that time t falls in.
func tickOf(t int64) int64 { return t / int64(Tick) }

// add makes sure c has an entry under the tick that at falls in (or the first the sweeps still
// visit), or an earlier one. The sweep of that tick fires it once at has passed.
func (w *wheel[C]) add(c C, at int64) {
	if w.next == 0 {
		w.next = tickOf(nowNano())
	}
	t := max(tickOf(at), w.next)
	tm := c.timer()
	if tm.filed != 0 && tm.filed <= t {
		return
	}
	tm.filed = t
	s := &w.slots[t%wheelSlots]
	*s = append(*s, timerEntry[C]{c, t})
	w.count++
}

// sweep fires every deadline that has passed by now, on the caller's goroutine.
func (w *wheel[C]) sweep(now int64) {
	for _, c := range w.collect(now) {
		c.fire(now)
	}
	w.fired()
}

// collect visits the slots up to now's and returns the connections whose deadline has passed:
// the caller fires them (timed.fire), then calls fired. A deadline set meanwhile, by fire or
// anyone else, is filed as usual.
func (w *wheel[C]) collect(now int64) []C {
	last := tickOf(now)
	if w.count == 0 {
		w.next = last
		return nil
	}
	if last-w.next >= wheelSlots {
		w.next = last - wheelSlots + 1
	}
	for ; ; w.next++ {
		w.collectSlot(&w.slots[w.next%wheelSlots], now)
		if w.next >= last {
			break
		}
	}
	return w.due
}

// fired forgets the connections collect returned.
func (w *wheel[C]) fired() {
	clear(w.due)
	w.due = w.due[:0]
}

func (w *wheel[C]) collectSlot(s *[]timerEntry[C], now int64) {
	kept := (*s)[:0]
	for _, e := range *s {
		tm := e.c.timer()
		switch {
		case e.tick > w.next: // a later turn of the wheel
			kept = append(kept, e)
			continue
		case tm.filed != e.tick: // stale
		case tm.deadline == 0:
			tm.filed = 0
		case tm.deadline > now:
			tm.filed = 0
			w.again = append(w.again, e.c)
		default:
			tm.filed = 0 // fire clears the deadline, unless it was moved meanwhile
			w.due = append(w.due, e.c)
		}
		w.count--
	}
	clear((*s)[len(kept):])
	if cap(kept) > shrinkSlot && len(kept) < cap(kept)/4 {
		kept = append([]timerEntry[C](nil), kept...) // give a burst's memory back
	}
	*s = kept
	// File after the slot is rebuilt: it may add an entry to this very slot.
	for _, c := range w.again {
		w.add(c, c.timer().deadline)
	}
	clear(w.again)
	w.again = w.again[:0]
}

// entries returns how many entries the wheel holds, live and stale.
func (w *wheel[C]) entries() int { return w.count }

func nowNano() int64 { return time.Now().UnixNano() }
