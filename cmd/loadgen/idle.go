package main

import (
	"fmt"
	"time"
)

// runIdle opens C connections, holds them for -d, then checks that each still echoes a message.
// With -warm each also echoes one message before the hold, so that what a message leaves on the
// server (buffers kept, compression windows) is counted. It samples the server's memory before
// opening, once all are open, and at the end of the hold, and reports the growth per connection;
// and loadgen's own.
func (r *runner) runIdle() (*Result, error) {
	cfg := r.cfg
	res := r.newResult()
	mem := &MemoryResult{}
	res.Memory = mem
	mem.ServerBefore = r.serverMem(&res.Notes)
	mem.ClientBefore = clientMem()

	conns, err := r.openAll(cfg.conns, cfg.path, func(int) role { return echoRole{} }, "idle connections")
	if err != nil {
		return nil, err
	}
	up := func() int64 { return r.st.connOpened.Load() - r.st.connLost.Load() }
	if cfg.warm {
		r.echoOnce(conns)
	}
	r.sleep(time.Second) // let the server settle
	mem.ServerOpen = r.serverMem(&res.Notes)
	mem.ClientOpen = clientMem()

	start := time.Now()
	r.setProgress(func() string {
		rss := ""
		if cfg.serverPID > 0 {
			if v, err := readRSS(fmt.Sprint(cfg.serverPID)); err == nil {
				rss = ", server RSS " + fmtBytes(float64(v))
			}
		}
		return fmt.Sprintf("idle: %d connections up, %d lost, %d failed%s", up(), r.st.connLost.Load(), r.st.connFailed.Load(), rss)
	})
	r.sleep(cfg.duration)
	res.WindowS = time.Since(start).Seconds()
	mem.ServerAfter = r.serverMem(&res.Notes)

	r.echoOnce(conns) // every connection still up must still echo
	r.closeAll(conns)
	r.account(conns, func(lc *lconn) uint64 { return lc.seq })

	n := up()
	mem.Connections = n
	if n > 0 {
		per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(n) }
		if mem.ServerAfter.RSS > 0 && mem.ServerBefore.RSS > 0 {
			mem.ServerRSSPerConn = per(mem.ServerAfter.RSS, mem.ServerBefore.RSS)
		}
		if mem.ServerAfter.Heap > 0 && mem.ServerBefore.Heap > 0 {
			mem.ServerHeapPerConn = per(mem.ServerAfter.Heap+mem.ServerAfter.Stack, mem.ServerBefore.Heap+mem.ServerBefore.Stack)
		}
		mem.ClientRSSPerConn = per(mem.ClientOpen.RSS, mem.ClientBefore.RSS)
		mem.ClientHeapPerConn = per(mem.ClientOpen.Heap+mem.ClientOpen.Stack, mem.ClientBefore.Heap+mem.ClientBefore.Stack)
	}
	mem.ServerGoroutines, mem.ServerConnsCounted = mem.ServerAfter.Goroutines, mem.ServerAfter.Connections
	res.Messages = r.messages(r.completed.Load(), r.st.bytesRecv.Load(), 0)
	return res, nil
}

// echoOnce sends one message on every connection still up and waits for the echoes (at most
// -drain).
func (r *runner) echoOnce(conns []*lconn) {
	for _, lc := range conns {
		if lc.opened.Load() && !lc.closed.Load() {
			lc.mu.Lock()
			lc.sendLocked()
			lc.mu.Unlock()
		}
	}
	r.drainInflight()
}
