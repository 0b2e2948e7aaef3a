package main

import (
	"fmt"
	"sync/atomic"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// churn opens connections and closes each as soon as its handshake is done. In handshake mode
// each close starts the next connection (C at a time); in soak a clock starts them.
type churn struct {
	r       *runner
	path    string
	limit   int64 // upgrades to start at most, 0 for no limit
	chained bool  // a close starts the next connection
	started atomic.Int64
	active  atomic.Int64
}

type churner struct{ ch *churn }

func (c churner) opened(lc *lconn) {
	lc.r.st.upgrades.Add(1)
	lc.close()
}

// message counts a message nobody should have sent: the connection never sends one.
func (churner) message(lc *lconn, _ ws.MessageType, _ []byte) { lc.r.st.addFault(faultStream) }

func (c churner) closed(lc *lconn, _ int, _ bool) {
	c.ch.active.Add(-1)
	if !c.ch.chained || lc.r.stopping.Load() {
		return
	}
	if !lc.opened.Load() {
		// Failed: do not spin against a server that refuses.
		time.AfterFunc(20*time.Millisecond, c.ch.next)
		return
	}
	c.ch.next()
}

// next starts one connection, unless the run stops or the limit is reached.
func (c *churn) next() {
	r := c.r
	if r.stopping.Load() || c.limit > 0 && c.started.Add(1) > c.limit {
		return
	}
	c.active.Add(1)
	lc := r.newConn(churner{c})
	lc.node = r.nextNode()
	if err := r.dialNow(lc, c.path); err != nil {
		c.active.Add(-1)
		r.st.addError(errorKind(err))
	}
}

// runHandshake opens and closes connections as fast as it can, C at a time, round robin over the
// nodes of -url, for -d or until -n upgrades.
func (r *runner) runHandshake() (*Result, error) {
	cfg := r.cfg
	res := r.newResult()
	c := &churn{r: r, path: cfg.path, limit: cfg.count, chained: true}
	start := time.Now()
	r.setProgress(func() string {
		el := time.Since(start).Seconds()
		return fmt.Sprintf("handshake: %d upgrades (%.0f/s), %d failed, errors %d",
			r.st.upgrades.Load(), float64(r.st.upgrades.Load())/el, r.st.connFailed.Load(), r.st.errorCount())
	})
	for range cfg.conns {
		c.next()
	}
	r.waitUntil(start.Add(cfg.duration), r.ctx, func() bool {
		return cfg.count > 0 && r.st.upgrades.Load() >= cfg.count
	})
	r.stopping.Store(true)
	window := time.Since(start)
	upgrades := r.st.upgrades.Load()
	r.waitUntil(time.Now().Add(cfg.drain), nil, func() bool { return c.active.Load() <= 0 })
	r.closeAll(nil)

	res.WindowS = window.Seconds()
	res.Handshake = &HandshakeResult{
		Upgrades: upgrades,
		PerS:     float64(upgrades) / window.Seconds(),
		Latency:  latencyOf(r.hsHist.Snapshot()),
	}
	res.Conns.Requested = r.dialed.Load()
	return res, nil
}
