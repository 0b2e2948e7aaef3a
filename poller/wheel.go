package poller

import "time"

// Tick is the granularity of deadlines: a deadline fires within one Tick after it passes.
const Tick = 100 * time.Millisecond

const wheelSlots = 256 // one turn of the wheel covers 25.6 s; later deadlines wait for their turn

type timerEntry struct {
	c  *Conn
	at int64
}

// wheel is a hashed timer wheel owned by one loop. Entries are not removed when a deadline changes
// or a connection closes: the sweep drops an entry whose connection no longer has that deadline.
type wheel struct {
	slots [wheelSlots][]timerEntry
	next  int64 // the first tick not swept yet
	count int   // entries in all slots
	due   []*Conn
}

// tickOf returns the tick that time t falls in.
func tickOf(t int64) int64 { return t / int64(Tick) }

// add files c under the first tick that starts at or after at, so that when the sweep reaches
// that tick the deadline has passed, unless it is a whole turn of the wheel or more ahead.
func (w *wheel) add(c *Conn, at int64) {
	t := (at + int64(Tick) - 1) / int64(Tick)
	if w.next == 0 {
		w.next = tickOf(nowNano())
	}
	if t < w.next {
		t = w.next
	}
	s := &w.slots[t%wheelSlots]
	*s = append(*s, timerEntry{c, at})
	w.count++
}

// sweep fires every deadline that has passed by now.
func (w *wheel) sweep(now int64) {
	if w.count == 0 {
		w.next = tickOf(now) + 1
		return
	}
	last := tickOf(now)
	if last-w.next >= wheelSlots {
		w.next = last - wheelSlots + 1
	}
	for ; w.next <= last; w.next++ {
		s := &w.slots[w.next%wheelSlots]
		kept := (*s)[:0]
		for _, e := range *s {
			switch {
			case e.c.closed || e.c.deadline != e.at:
				w.count--
			case e.at > now:
				kept = append(kept, e)
			default:
				w.count--
				e.c.deadline = 0
				w.due = append(w.due, e.c)
			}
		}
		clear((*s)[len(kept):])
		*s = kept
		// Fire after the slot is rebuilt: OnTimer may set a new deadline in this very slot.
		for i, c := range w.due {
			w.due[i] = nil
			if !c.closed {
				c.session.OnTimer(now)
			}
		}
		w.due = w.due[:0]
	}
}

func nowNano() int64 { return time.Now().UnixNano() }
