package main

import (
	"fmt"
	"sync/atomic"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// syncStream is the stream of the sync message: the publisher sends it once everyone is
// connected, and publishing starts once every connection got it, so that no subscriber joins the
// server's set late.
const syncStream = ^uint32(0)

// bcast is a broadcast: one publisher, its subscribers, and what they received. The soak mode
// runs one too, with a publisher paced by a clock rather than by its own copies.
type bcast struct {
	r         *runner
	pubID     uint32
	limit     uint64 // messages to publish (math.MaxUint64 in soak)
	window    int64  // publisher's own copies outstanding, at most (closed loop); 0: paced
	joinLate  bool   // subscribers may join a running broadcast (soak: reconnects)
	pubSeq    atomic.Uint64
	firstSent atomic.Int64

	deliveries atomic.Int64 // intact deliveries to subscribers
	pubCopies  atomic.Int64 // the publisher's own copies, intact or not
	synced     atomic.Int64
	lastAt     atomic.Int64 // latency clock at the latest delivery
	lastMsgAt  atomic.Int64 // latency clock at the latest delivery of the last message
	lastMsgTS  atomic.Int64 // send stamp of the last message
	hist       *Histogram
	nodeHist   []Histogram // delivery latency per node (broadcast mode on several nodes; else nil)
}

// subscriber is a role on /broadcast that checks the publisher's stream.
type subscriber struct{ b *bcast }

func (subscriber) opened(*lconn) {}

func (s subscriber) message(lc *lconn, typ ws.MessageType, p []byte) {
	b := s.b
	now := b.r.now()
	h, f := b.r.format.verify(typ, p)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if f == faultNone && h.stream == syncStream {
		if !lc.synced {
			lc.synced = true
			b.synced.Add(1)
		}
		return
	}
	if b.joinLate && !lc.trk.started && f == faultNone && h.stream == b.pubID {
		lc.trk.startAt(h.seq)
	}
	if lc.judgeLocked(h, f, b.pubID, b.pubSeq.Load()) != fresh {
		return
	}
	b.deliveries.Add(1)
	b.hist.Record(now - h.sent)
	if b.nodeHist != nil {
		b.nodeHist[lc.node].Record(now - h.sent)
	}
	atomicMax64(&b.lastAt, now)
	if h.seq == b.limit-1 {
		atomicMax64(&b.lastMsgAt, now)
		b.lastMsgTS.Store(h.sent)
	}
}

func (subscriber) closed(*lconn, int, bool) {}

// publisher is the role of the connection that publishes; it also receives its own messages.
type publisher struct{ b *bcast }

func (publisher) opened(*lconn) {}

func (pb publisher) message(lc *lconn, typ ws.MessageType, p []byte) {
	b := pb.b
	h, f := b.r.format.verify(typ, p)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if f == faultNone && h.stream == syncStream {
		if !lc.synced {
			lc.synced = true
			b.synced.Add(1)
		}
		return
	}
	if b.joinLate && !lc.trk.started && f == faultNone && h.stream == b.pubID {
		lc.trk.startAt(h.seq)
	}
	if lc.judgeLocked(h, f, b.pubID, b.pubSeq.Load()) == dup {
		return
	}
	b.pubCopies.Add(1)
	if lc.inflight > 0 {
		lc.inflight--
		b.r.inflight.Add(-1)
	}
	if b.window > 0 && !b.r.stopping.Load() {
		b.publishLocked(lc)
	}
}

func (publisher) closed(*lconn, int, bool) {}

// publishLocked sends the next message if any is left, and reports whether it did. lc (the
// publisher) is locked.
func (b *bcast) publishLocked(lc *lconn) bool {
	seq := b.pubSeq.Load()
	if seq >= b.limit {
		return false
	}
	b.pubSeq.Store(seq + 1) // before the send: a subscriber may get it before Send returns
	sent, ok := lc.sendPayload(header{stream: b.pubID, seq: seq})
	if !ok {
		return false
	}
	if seq == 0 {
		b.firstSent.Store(sent)
	}
	lc.inflight++
	b.r.inflight.Add(1)
	return true
}

func atomicMax64(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if m >= v || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// sync sends the sync message on the publisher and waits until want connections got it.
func (b *bcast) sync(pub *lconn, want int64, deadline time.Time) bool {
	pub.mu.Lock()
	pub.sendPayload(header{stream: syncStream})
	pub.mu.Unlock()
	return b.r.waitUntil(deadline, b.r.ctx, func() bool { return b.synced.Load() >= want })
}

// runBroadcast: C subscribers on /broadcast, spread over the nodes of -url, then one publisher
// on the node of -publish-on sending -m messages, -inflight of its own copies outstanding at
// most.
func (r *runner) runBroadcast() (*Result, error) {
	cfg := r.cfg
	res := r.newResult()
	res.Conns.Requested++ // the publisher
	b := &bcast{r: r, limit: uint64(cfg.messages), window: int64(cfg.inflight), hist: &r.hist}
	if len(cfg.urls) > 1 { // with one node, its figures are the run's
		b.nodeHist = make([]Histogram, len(cfg.urls))
	}
	pub := r.newConn(publisher{b})
	pub.node = cfg.publishOn
	b.pubID = pub.id
	subs, err := r.openAll(cfg.conns, cfg.path, func(int) role { return subscriber{b} }, "subscribers")
	if err != nil {
		return nil, err
	}
	pubs, err := r.open([]*lconn{pub}, cfg.path, "the publisher")
	if err != nil {
		return nil, err
	}
	all := append(subs, pubs...)
	var subsUp int64
	for _, lc := range subs {
		if lc.opened.Load() {
			subsUp++
		}
	}
	res.Broadcast = &BroadcastResult{Subscribers: cfg.conns, Messages: cfg.messages, Expected: subsUp * cfg.messages}
	if !pub.opened.Load() {
		r.closeAll(all)
		return res, nil
	}
	if !b.sync(pub, subsUp+1, time.Now().Add(cfg.connectTimeout)) {
		r.st.addError(fmt.Sprintf("sync message reached %d of %d connections", b.synced.Load(), subsUp+1))
	}

	start := time.Now()
	want := subsUp * cfg.messages
	r.setProgress(func() string {
		return fmt.Sprintf("broadcast: published %d/%d, %d/%d delivered, corrupted %d, lost conns %d",
			b.pubSeq.Load(), cfg.messages, b.deliveries.Load(), want, r.st.corrupted.Load(), r.st.connLost.Load())
	})
	pub.mu.Lock()
	for range cfg.inflight {
		if !b.publishLocked(pub) {
			break
		}
	}
	pub.mu.Unlock()
	r.waitUntil(start.Add(cfg.duration), r.ctx, func() bool {
		return b.deliveries.Load() >= want && b.pubCopies.Load() >= cfg.messages || pub.closed.Load()
	})
	r.stopping.Store(true)
	res.WindowS = time.Since(start).Seconds()
	// Whatever is still on its way gets -drain to arrive.
	r.waitUntil(time.Now().Add(cfg.drain), nil, func() bool {
		return b.deliveries.Load() >= subsUp*int64(b.pubSeq.Load()) && b.pubCopies.Load() >= int64(b.pubSeq.Load())
	})
	r.closeAll(all)
	published := b.pubSeq.Load()
	r.account(all, func(*lconn) uint64 { return published })

	br := res.Broadcast
	br.Deliveries = b.deliveries.Load()
	br.PublisherGot = b.pubCopies.Load()
	if b.nodeHist != nil {
		br.Nodes = b.nodeResults(all)
	}
	if last := b.lastAt.Load(); last > 0 {
		d := time.Duration(last - b.firstSent.Load())
		br.CompletionMs = float64(d) / 1e6
		if d > 0 {
			br.PerS = float64(br.Deliveries) / d.Seconds()
		}
		res.WindowS = d.Seconds()
	}
	if at := b.lastMsgAt.Load(); at > 0 {
		br.LastMsgMs = float64(at-b.lastMsgTS.Load()) / 1e6
	}
	res.Messages = r.messages(br.Deliveries, br.Deliveries*int64(cfg.size), time.Duration(res.WindowS*1e9))
	l := latencyOf(r.hist.Snapshot())
	res.Latency = &l
	return res, nil
}
