package poller

import "time"

// Tick is the granularity of deadlines: a deadline fires within one Tick after it passes.
const Tick = 100 * time.Millisecond

const wheelSlots = 256 // one turn of the wheel covers 25.6 s; later deadlines wait for their turn

// shrinkSlot is the capacity above which a slot that is mostly empty after a sweep is given back.
const shrinkSlot = 64

type timerEntry struct {
	c    *gnetConn
	tick int64 // the tick the entry is filed under; stale once c.filed differs
}

// wheel is a hashed timer wheel owned by one loop. A connection has at most one live entry: a
// deadline later than the one filed waits for that entry, which re-files it when it comes due; an
// earlier one files a new entry and leaves the old one stale, to be dropped by the sweep. Each
// sweep visits the slots from the last one it visited, the current tick's included, so a
// deadline fires at the first sweep after it: within one Tick on a loop that sweeps every Tick.
type wheel struct {
	slots [wheelSlots][]timerEntry
	next  int64 // the first tick whose slot the next sweep visits: the current one, once swept
	count int   // entries in all slots, live and stale
	due   []*gnetConn
	again []*gnetConn // deadlines not passed yet whose entry came due: filed anew after the slot
}

// tickOf returns the tick that time t falls in.
func tickOf(t int64) int64 { return t / int64(Tick) }

// add makes sure c has an entry under the tick that at falls in (or the first the sweeps still
// visit), or an earlier one. The sweep of that tick fires it once at has passed.
func (w *wheel) add(c *gnetConn, at int64) {
	if w.next == 0 {
		w.next = tickOf(nowNano())
	}
	t := max(tickOf(at), w.next)
	if c.filed != 0 && c.filed <= t {
		return
	}
	c.filed = t
	s := &w.slots[t%wheelSlots]
	*s = append(*s, timerEntry{c, t})
	w.count++
}

// sweep fires every deadline that has passed by now.
func (w *wheel) sweep(now int64) {
	last := tickOf(now)
	if w.count == 0 {
		w.next = last
		return
	}
	if last-w.next >= wheelSlots {
		w.next = last - wheelSlots + 1
	}
	for ; ; w.next++ {
		w.sweepSlot(&w.slots[w.next%wheelSlots], now)
		if w.next >= last {
			break
		}
	}
}

func (w *wheel) sweepSlot(s *[]timerEntry, now int64) {
	kept := (*s)[:0]
	for _, e := range *s {
		c := e.c
		switch {
		case e.tick > w.next: // a later turn of the wheel
			kept = append(kept, e)
			continue
		case c.filed != e.tick || c.closed: // stale
		case c.deadline == 0:
			c.filed = 0
		case c.deadline > now:
			c.filed = 0
			w.again = append(w.again, c)
		default:
			c.filed, c.deadline = 0, 0
			w.due = append(w.due, c)
		}
		w.count--
	}
	clear((*s)[len(kept):])
	if cap(kept) > shrinkSlot && len(kept) < cap(kept)/4 {
		kept = append([]timerEntry(nil), kept...) // give a burst's memory back
	}
	*s = kept
	// File and fire after the slot is rebuilt: either may add an entry to this very slot.
	for i, c := range w.again {
		w.again[i] = nil
		w.add(c, c.deadline)
	}
	w.again = w.again[:0]
	for i, c := range w.due {
		w.due[i] = nil
		if !c.closed {
			c.session.OnTimer(now)
		}
	}
	w.due = w.due[:0]
}

// entries returns how many entries the wheel holds, live and stale.
func (w *wheel) entries() int { return w.count }

func nowNano() int64 { return time.Now().UnixNano() }
