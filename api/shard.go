package api

import (
	"sync"

	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/poller"
)

// shard is the part of a server's registry on one event loop: the loop's open connections, the
// topics they subscribed to, and the broadcasts and publications waiting for the loop's task.
// Connections over TLS have no loop and share one shard whose fan-out the caller writes.
type shard struct {
	loop *poller.Loop // nil for the shard of connections without a loop
	task *poller.Task
	link *brokerLink // the server's, told when a topic appears in the shard or leaves it

	// conns is written under connMu; on the loop, it is read without it, since only the loop
	// writes it.
	connMu sync.RWMutex
	conns  []*Conn // each at its Conn.regIndex

	topicMu sync.Mutex
	topics  map[string]*topic // with at least one subscriber each; also guards each member's membership

	mu        sync.Mutex
	pending   []fanout
	spare     []fanout
	scheduled bool

	// Loop only: the scratch of the running task.
	touched []*Conn            // the connections whose turn it began
	run1    []*PreparedMessage // the messages of consecutive fan-outs to the same receivers
	frames  []*engine.Shared   // what goes to one connection
}

func newShard(l *poller.Loop, link *brokerLink) *shard {
	sh := &shard{loop: l, link: link}
	if l != nil {
		sh.task = poller.NewTask(sh.run)
	}
	return sh
}

// add registers the open connection c. On its loop.
func (sh *shard) add(c *Conn) {
	sh.connMu.Lock()
	c.regIndex = len(sh.conns)
	sh.conns = append(sh.conns, c)
	sh.connMu.Unlock()
}

// remove takes c out of the shard, and out of every topic it subscribed to. On its loop.
func (sh *shard) remove(c *Conn) {
	sh.leaveAll(c)
	sh.connMu.Lock()
	defer sh.connMu.Unlock()
	if i := c.regIndex; i >= 0 && i < len(sh.conns) && sh.conns[i] == c {
		last := len(sh.conns) - 1
		sh.conns[i] = sh.conns[last]
		sh.conns[i].regIndex = i
		sh.conns[last] = nil
		sh.conns = sh.conns[:last]
	}
	c.regIndex = -1
}

// each yields the shard's connections under its read lock.
func (sh *shard) each(yield func(*Conn) bool) bool {
	sh.connMu.RLock()
	defer sh.connMu.RUnlock()
	for _, c := range sh.conns {
		if !yield(c) {
			return false
		}
	}
	return true
}

// enqueue hands f to the shard's loop: the task already queued takes it, or a new one is queued.
// Without a loop, f is written at once.
func (sh *shard) enqueue(f fanout) {
	if sh.loop == nil {
		sh.deliverNow(f)
		return
	}
	if f.pm != nil {
		f.pm.plain.Retain()
	}
	sh.mu.Lock()
	sh.pending = append(sh.pending, f)
	schedule := !sh.scheduled
	sh.scheduled = true
	sh.mu.Unlock()
	if schedule && sh.loop.Execute(sh.task) != nil {
		// The loop is shutting down and its connections are being closed: nothing is delivered.
		sh.mu.Lock()
		batch := sh.pending
		sh.pending, sh.scheduled = nil, false
		sh.mu.Unlock()
		runActs(batch)
		releaseAll(batch)
	}
}

// run is the shard's task: it queues every pending fan-out on its receivers, in order, then
// writes each receiver once. Consecutive fan-outs to the same receivers (every connection, or a
// topic's subscribers) are queued on each receiver together. On the loop.
func (sh *shard) run() {
	sh.mu.Lock()
	batch := sh.pending
	sh.pending, sh.spare = sh.spare[:0], nil
	sh.scheduled = false
	sh.mu.Unlock()
	for i := 0; i < len(batch); {
		f := &batch[i]
		if f.act != nil {
			f.act()
			i++
			continue
		}
		pms := sh.run1[:0]
		for ; i < len(batch) && (len(pms) == 0 || f.sameReceivers(&batch[i])); i++ {
			pms = append(pms, batch[i].pm)
		}
		var joined *engine.Shared // the run in one piece, for the receivers with room for it whole
		if len(pms) > 1 {
			frames := sh.frames[:0]
			for _, pm := range pms {
				frames = append(frames, pm.plain)
			}
			joined = engine.JoinShared(frames)
			clear(frames)
			sh.frames = frames[:0]
		}
		sh.receivers(*f, func(c *Conn) { sh.queueOnLoop(c, joined, pms) })
		if joined != nil {
			joined.Release()
		}
		clear(pms)
		sh.run1 = pms[:0]
	}
	for i, c := range sh.touched {
		c.ec.FlushOnLoop() // may run handlers, which may change the registry: it is not iterated here
		sh.touched[i] = nil
	}
	sh.touched = sh.touched[:0]
	releaseAll(batch)
	sh.mu.Lock()
	sh.spare = batch[:0]
	sh.mu.Unlock()
}

// queueOnLoop queues pms on c, in order, within the task's turn of c: as joined, their frames in
// one piece, if it is not nil and fits c's queue whole.
func (sh *shard) queueOnLoop(c *Conn, joined *engine.Shared, pms []*PreparedMessage) {
	frames := sh.frames[:0]
	for _, pm := range pms {
		frames = append(frames, pm.frameFor(c))
	}
	if c.ec.QueueSharedOnLoop(joined, frames...) {
		sh.touched = append(sh.touched, c)
	}
	clear(frames)
	sh.frames = frames[:0]
}

// deliverNow writes f to the receivers of a shard without a loop, from the caller's goroutine.
func (sh *shard) deliverNow(f fanout) {
	if f.act != nil {
		f.act()
		return
	}
	sh.connMu.RLock()
	defer sh.connMu.RUnlock()
	sh.receivers(f, func(c *Conn) { _ = c.ec.WriteShared(f.pm.frameFor(c), nil) })
}

// receivers calls send for each receiver of f in the shard: the subscribers of its topic, or the
// connections its filter keeps. On the loop, or with connMu held for a shard without one.
func (sh *shard) receivers(f fanout, send func(*Conn)) {
	if f.toTopic {
		sh.topicMu.Lock()
		defer sh.topicMu.Unlock()
		if t := sh.topics[f.topic]; t != nil {
			for _, m := range t.subs {
				send(m.c)
			}
		}
		return
	}
	for _, c := range sh.conns {
		if f.keep == nil || f.keep(c) {
			send(c)
		}
	}
}

// releaseAll gives back the references a batch of fan-outs took, and clears it.
func releaseAll(batch []fanout) {
	for i := range batch {
		if batch[i].pm != nil {
			batch[i].pm.plain.Release()
		}
		batch[i] = fanout{}
	}
}

// runActs takes the steps of a batch that no loop will run, so that they are not lost.
func runActs(batch []fanout) {
	for i := range batch {
		if batch[i].act != nil {
			batch[i].act()
		}
	}
}
