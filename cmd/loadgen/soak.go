package main

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// soak holds the long-running mix: echo connections sent to at a steady rate, a broadcast, and
// handshake churn. Each slot is one long-lived connection, replaced when it drops.
type soak struct {
	r     *runner
	mu    sync.Mutex // orders reconnects against the end of the run
	slots []soakSlot
	b     *bcast
	bHist Histogram

	throttled atomic.Int64 // echo sends skipped: the connection had -inflight in flight
}

type soakSlot struct {
	lc    atomic.Pointer[lconn]
	fails atomic.Int32
	path  string
	kind  slotKind
	node  int // index in -url: its connections, the first and the replacements, go there
}

type slotKind uint8

const (
	slotEcho slotKind = iota
	slotSub
	slotPub
)

// soakRole wraps a role with the slot that replaces the connection when it drops.
type soakRole struct {
	role
	s    *soak
	slot int
}

func (sr soakRole) opened(lc *lconn) {
	sr.s.slots[sr.slot].fails.Store(0)
	sr.role.opened(lc)
}

func (sr soakRole) closed(lc *lconn, code int, unexpected bool) {
	sr.role.closed(lc, code, unexpected)
	if unexpected {
		// Count what it had in flight now: the slot's next connection replaces it.
		lc.accountOnce(sr.s.sent)
	}
	if unexpected || !lc.opened.Load() {
		sr.s.reconnect(sr.slot)
	}
}

// sent returns how many messages lc should have received: its own sent on an echo connection,
// those published on the broadcast. lc.mu is held.
func (s *soak) sent(lc *lconn) uint64 {
	if s.slots[lc.role.(soakRole).slot].kind == slotEcho {
		return lc.seq
	}
	return s.b.pubSeq.Load()
}

func (s *soak) newConn(slot int) *lconn {
	var ro role
	switch s.slots[slot].kind {
	case slotEcho:
		ro = echoRole{}
	case slotSub:
		ro = subscriber{s.b}
	case slotPub:
		ro = publisher{s.b}
	}
	lc := s.r.newConn(soakRole{role: ro, s: s, slot: slot})
	lc.path = s.slots[slot].path
	lc.node = s.slots[slot].node
	if s.slots[slot].kind == slotPub {
		lc.id = s.b.pubID
	}
	return lc
}

// reconnect replaces the connection of a slot after a pause that grows with its failures.
func (s *soak) reconnect(slot int) {
	if s.r.stopping.Load() {
		return
	}
	n := s.slots[slot].fails.Add(1)
	delay := min(100*time.Millisecond<<min(n-1, 6), 5*time.Second)
	time.AfterFunc(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.r.stopping.Load() {
			return
		}
		lc := s.newConn(slot)
		s.slots[slot].lc.Store(lc)
		s.r.st.reconnects.Add(1)
		if err := s.r.dialNow(lc, lc.path); err != nil {
			s.r.st.addError(errorKind(err))
		}
	})
}

// current returns the slot's connection when it is open.
func (s *soak) current(slot int) *lconn {
	lc := s.slots[slot].lc.Load()
	if lc == nil || !lc.opened.Load() || lc.closed.Load() {
		return nil
	}
	return lc
}

// pace runs every 10 ms until the run stops: echo sends and broadcasts to keep up with their
// rates.
func (s *soak) pace(start time.Time, done chan<- struct{}) {
	defer close(done)
	r, cfg := s.r, s.r.cfg
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var echoed, published int64
	next := 0
	echoSlots := cfg.conns
	for range t.C {
		if r.stopping.Load() {
			return
		}
		el := time.Since(start).Seconds()
		// Echo: round robin over the slots, skipping those down or at -inflight.
		due := int64(cfg.rate*el) - echoed
		for skipped := 0; due > 0 && skipped < echoSlots && echoSlots > 0; {
			slot := next % echoSlots
			next++
			lc := s.current(slot)
			if lc == nil {
				skipped++
				continue
			}
			lc.mu.Lock()
			ok := lc.inflight < int64(cfg.inflight) && lc.sendLocked()
			lc.mu.Unlock()
			if !ok {
				skipped++
				continue
			}
			skipped = 0
			echoed++
			due--
		}
		if due > 0 {
			s.throttled.Add(due)
			echoed += due // what could not be sent is not sent later in a burst
		}
		// Broadcast.
		if cfg.bcastRate > 0 {
			pdue := int64(cfg.bcastRate*el) - published
			if lc := s.current(len(s.slots) - 1); lc != nil {
				lc.mu.Lock()
				for ; pdue > 0; pdue-- {
					if !s.b.publishLocked(lc) {
						break
					}
					published++
				}
				lc.mu.Unlock()
			}
			published += max(pdue, 0) // skipped while the publisher was down
		}
	}
}

// runSoak runs the mix for -d, with a report line every -interval. The echo connections, the
// subscribers and the churn are spread over the nodes of -url round robin, the publisher is on
// the node of -publish-on; the server's memory is sampled on the first.
func (r *runner) runSoak() (*Result, error) {
	cfg := r.cfg
	res := r.newResult()
	s := &soak{r: r}
	s.b = &bcast{r: r, limit: math.MaxUint64, joinLate: true, hist: &s.bHist}
	s.b.pubID = r.nextID.Add(1)
	nb := 0
	if cfg.bcastRate > 0 {
		nb = cfg.subscribers + 1
	}
	s.slots = make([]soakSlot, cfg.conns+nb)
	for i := range s.slots {
		sl := &s.slots[i]
		sl.kind, sl.path, sl.node = slotEcho, cfg.path, i%len(cfg.urls)
		if i >= cfg.conns {
			sl.kind, sl.path, sl.node = slotSub, "/broadcast", (i-cfg.conns)%len(cfg.urls)
			if i == len(s.slots)-1 {
				sl.kind, sl.node = slotPub, cfg.publishOn
			}
		}
	}
	todo := make([]*lconn, len(s.slots))
	for i := range todo {
		todo[i] = s.newConn(i)
		s.slots[i].lc.Store(todo[i])
	}
	if _, err := r.open(todo, cfg.path, "connections"); err != nil {
		return nil, err
	}
	start := time.Now()
	ch := &churn{r: r, path: cfg.path}
	paceDone := make(chan struct{})
	go s.pace(start, paceDone)
	var churnStop chan struct{}
	if cfg.churn > 0 {
		churnStop = make(chan struct{})
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / cfg.churn))
			defer t.Stop()
			for {
				select {
				case <-churnStop:
					return
				case <-t.C:
					if ch.active.Load() < 1000 {
						ch.next()
					}
				}
			}
		}()
	}

	up := func() (n int64) {
		for i := range s.slots {
			if s.current(i) != nil {
				n++
			}
		}
		return n
	}
	r.setProgress(func() string {
		return fmt.Sprintf("soak: %d/%d connections up, %d echoes, %d deliveries, %d upgrades, lost %d, reconnects %d, corrupted %d",
			up(), len(s.slots), r.completed.Load(), s.b.deliveries.Load(), r.st.upgrades.Load(),
			r.st.connLost.Load(), r.st.reconnects.Load(), r.st.corrupted.Load())
	})
	fmt.Fprintf(r.out, "soak: %d echo connections at %.0f msgs/s, %d subscribers at %.0f msgs/s, churn %.0f/s, for %v\n",
		cfg.conns, cfg.rate, max(nb-1, 0), cfg.bcastRate, cfg.churn, cfg.duration)
	end := start.Add(cfg.duration)
	prevHist := r.hist.Snapshot()
	prevAt, prevEcho, prevDeliv, prevUp := start, int64(0), int64(0), int64(0)
	for time.Now().Before(end) && r.ctx.Err() == nil {
		r.sleep(min(cfg.interval, time.Until(end)))
		now := time.Now()
		dt := now.Sub(prevAt).Seconds()
		if dt <= 0 {
			break
		}
		h := r.hist.Snapshot()
		iv := IntervalResult{
			AtS:        now.Sub(start).Seconds(),
			EchoPerS:   float64(r.completed.Load()-prevEcho) / dt,
			Latency:    latencyOf(h.Since(prevHist, r.hist.TakeIntervalMax())),
			ConnsUp:    up(),
			Lost:       r.st.connLost.Load(),
			Reconnects: r.st.reconnects.Load(),
			Errors:     r.st.errorCount(),
			Corrupted:  r.st.corrupted.Load(),
		}
		iv.DeliveriesPS = float64(s.b.deliveries.Load()-prevDeliv) / dt
		iv.UpgradesPS = float64(r.st.upgrades.Load()-prevUp) / dt
		m := r.serverMem(&res.Notes)
		iv.ServerRSS, iv.ServerHeap = m.RSS, m.Heap
		prevHist = h
		prevAt, prevEcho, prevDeliv, prevUp = now, r.completed.Load(), s.b.deliveries.Load(), r.st.upgrades.Load()
		res.Intervals = append(res.Intervals, iv)
		r.printInterval(iv)
	}
	r.stopping.Store(true)
	<-paceDone
	if churnStop != nil {
		close(churnStop)
	}
	window := time.Since(start)
	echoes, bytes := r.completed.Load(), r.st.bytesRecv.Load()
	r.drainInflight()
	s.mu.Lock() // no reconnect from here on (stopping is set)
	s.mu.Unlock()
	var live []*lconn
	for i := range s.slots {
		if lc := s.slots[i].lc.Load(); lc != nil {
			live = append(live, lc)
		}
	}
	// The subscribers still up get -drain to catch up with the publisher, and the churn to end.
	published := s.b.pubSeq.Load()
	r.waitUntil(time.Now().Add(r.cfg.drain), nil, func() bool {
		for _, lc := range live {
			if s.slots[lc.role.(soakRole).slot].kind != slotSub || !lc.opened.Load() || lc.closed.Load() {
				continue
			}
			lc.mu.Lock()
			behind := lc.trk.next < published
			lc.mu.Unlock()
			if behind {
				return false
			}
		}
		return ch.active.Load() <= 0
	})
	r.closeAll(live)
	r.account(live, s.sent)

	res.WindowS = window.Seconds()
	res.Conns.Requested = r.dialed.Load() // the slots, their reconnects and the churn
	res.Messages = r.messages(echoes, bytes, window)
	res.Messages.InFlight = cfg.inflight
	l := latencyOf(r.hist.Snapshot())
	res.Latency = &l
	if nb > 0 {
		d := s.b.deliveries.Load()
		res.Broadcast = &BroadcastResult{Subscribers: nb - 1, Messages: int64(published), Deliveries: d,
			Expected: int64(nb-1) * int64(published), PerS: float64(d) / window.Seconds(), PublisherGot: s.b.pubCopies.Load()}
		bl := latencyOf(s.bHist.Snapshot())
		res.Broadcast.Latency = &bl
	}
	res.Handshake = &HandshakeResult{Upgrades: r.st.upgrades.Load(), PerS: float64(r.st.upgrades.Load()) / window.Seconds(),
		Latency: latencyOf(r.hsHist.Snapshot())}
	if n := s.throttled.Load(); n > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d echo sends skipped: their connection was down or had -inflight messages in flight", n))
	}
	return res, nil
}

func (r *runner) printInterval(iv IntervalResult) {
	mem := ""
	if iv.ServerRSS > 0 {
		mem += " rss " + fmtBytes(float64(iv.ServerRSS))
	}
	if iv.ServerHeap > 0 {
		mem += " heap " + fmtBytes(float64(iv.ServerHeap))
	}
	line := fmt.Sprintf("[%8.1fs] echo %.0f/s p50 %s p99 %s max %s | deliveries %.0f/s | upgrades %.0f/s | up %d lost %d reconnects %d errors %d corrupted %d%s",
		iv.AtS, iv.EchoPerS, fmtUS(iv.Latency.P50), fmtUS(iv.Latency.P99), fmtUS(iv.Latency.Max),
		iv.DeliveriesPS, iv.UpgradesPS, iv.ConnsUp, iv.Lost, iv.Reconnects, iv.Errors, iv.Corrupted, mem)
	if r.progressStop != nil {
		fmt.Fprint(r.out, "\r\033[K")
	}
	fmt.Fprintln(r.out, line)
}
