package main

import (
	"fmt"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// echoRole is a connection of the echo, idle and soak modes: it sends its own stream and checks
// each echo. In echo mode each intact echo sends the next message (a closed loop, -inflight
// messages in flight); in soak the pacer sends.
type echoRole struct{ closedLoop bool }

func (echoRole) opened(*lconn) {}

func (e echoRole) message(lc *lconn, typ ws.MessageType, p []byte) {
	r := lc.r
	now := r.now()
	lc.mu.Lock()
	h, res := lc.receiveLocked(typ, p, lc.id, lc.seq)
	if res != dup {
		// An intact echo, or a corrupted one that stands for one of the messages in flight.
		r.completed.Add(1)
		if lc.inflight > 0 {
			lc.inflight--
			r.inflight.Add(-1)
		}
		if res == fresh {
			r.hist.Record(now - h.sent)
		}
		if e.closedLoop && !r.stopping.Load() {
			lc.sendLocked()
		}
	}
	lc.mu.Unlock()
}

func (echoRole) closed(*lconn, int, bool) {}

// runEcho: C connections, P messages in flight on each, until -d passes or -n echoes came back.
func (r *runner) runEcho() (*Result, error) {
	cfg := r.cfg
	res := r.newResult()
	conns, err := r.openAll(cfg.conns, cfg.path, func(int) role { return echoRole{closedLoop: true} }, "connections")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r.setProgress(func() string {
		el := time.Since(start).Seconds()
		s := r.hist.Snapshot()
		return fmt.Sprintf("echo: %d conns, %d echoes (%.0f/s), p99 %s, corrupted %d, lost conns %d, errors %d",
			r.st.connOpened.Load()-r.st.connLost.Load(), r.completed.Load(), float64(r.completed.Load())/el,
			fmtUS(float64(s.Percentile(0.99))/1e3), r.st.corrupted.Load(), r.st.connLost.Load(), r.st.errorCount())
	})
	for _, lc := range conns {
		if !lc.opened.Load() {
			continue
		}
		lc.mu.Lock()
		for range cfg.inflight {
			if !lc.sendLocked() {
				break
			}
		}
		lc.mu.Unlock()
	}
	deadline := start.Add(cfg.duration)
	r.waitUntil(deadline, r.ctx, func() bool {
		return cfg.count > 0 && r.completed.Load() >= cfg.count ||
			r.st.connOpened.Load() == r.st.connLost.Load()
	})
	r.stopping.Store(true)
	window := time.Since(start)
	received, bytes := r.completed.Load(), r.st.bytesRecv.Load()
	r.drainInflight()
	r.closeAll(conns)
	r.account(conns, func(lc *lconn) uint64 { return lc.seq })

	res.WindowS = window.Seconds()
	res.Messages = r.messages(received, bytes, window)
	res.Messages.InFlight = cfg.inflight
	l := latencyOf(r.hist.Snapshot())
	res.Latency = &l
	return res, nil
}
