package api

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// ReconnectPolicy says when a Reconnector dials again. The zero value means the defaults.
//
// Attempts are numbered from 1 in runs: a run starts with ConnectReconnecting, and again when a
// connection that stayed open for ResetAfter ends. The first attempt of ConnectReconnecting dials
// at once; every later one waits a delay that grows with the number of waits in the run, w:
// MinDelay·Multiplier^(w-1), capped at MaxDelay, then moved by up to ±Jitter of itself at random and
// kept within [MinDelay, MaxDelay]. A connection that opens but ends before ResetAfter counts as
// an attempt of the run, so a server that accepts and drops at once is not dialed in a tight loop.
type ReconnectPolicy struct {
	// MinDelay is the first wait (default 500 ms), and the least of any wait.
	MinDelay time.Duration
	// MaxDelay caps the waits (default 30 s).
	MaxDelay time.Duration
	// Multiplier is the growth of the wait from one attempt to the next (default 2, also for a
	// value below 1; 1 keeps it at MinDelay).
	Multiplier float64
	// Jitter is the fraction of each wait by which it moves at random, so that clients dropped
	// together do not come back together (default 0.2; negative for none; at most 1).
	Jitter float64
	// MaxAttempts bounds the attempts of a run: when its last one fails, the Reconnector stops,
	// and Err returns that attempt's error. 0 means no bound.
	MaxAttempts int
	// ResetAfter is how long a connection must stay open for the next attempt to start a new run
	// (default MaxDelay).
	ResetAfter time.Duration
	// OnAttempt, when set, runs once per attempt before it dials: attempt is its number in the
	// run, delay the wait before it (0 for the first), err why it is needed (nil for the first;
	// else the previous attempt's failure, or the end of the connection that was open). It is a
	// field rather than a handler set later so that it sees the first attempts, which may fail at
	// once. It runs on the caller's goroutine for the first attempt and on the ended connection's
	// loop (or executor worker) for the others: it must not block.
	OnAttempt func(attempt int, delay time.Duration, err error)
}

// withDefaults returns p with its zero fields given their defaults.
func (p ReconnectPolicy) withDefaults() ReconnectPolicy {
	if p.MinDelay <= 0 {
		p.MinDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	p.MaxDelay = max(p.MaxDelay, p.MinDelay)
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	}
	p.Jitter = min(max(p.Jitter, 0), 1)
	if p.ResetAfter <= 0 {
		p.ResetAfter = p.MaxDelay
	}
	return p
}

// delay is the wait before an attempt after w waits in the run (w ≥ 1), jittered.
func (p ReconnectPolicy) delay(w int) time.Duration {
	d := min(float64(p.MinDelay)*math.Pow(p.Multiplier, float64(w-1)), float64(p.MaxDelay))
	d *= 1 + p.Jitter*(2*rand.Float64()-1)
	return min(max(time.Duration(d), p.MinDelay), p.MaxDelay)
}

// Reconnector keeps a client connection to one URL: when the connection fails or ends, it dials
// again after a delay, as its ReconnectPolicy says, until Close, the end of ClientOptions.Context,
// or the last of MaxAttempts. Each connection is a new *Conn, handed to the onConnect of
// ConnectReconnecting once open: the Reconnector subscribes to nothing and sends nothing by
// itself, so onConnect sets the handlers and sends what the server must hear again (a login, the
// topics to follow). It has no goroutine of its own: it waits on a timer, and only a dial has one,
// as for Connect.
type Reconnector struct {
	url       string
	opts      ClientOptions
	policy    ReconnectPolicy
	onConnect func(c *Conn, attempt int)
	done      chan struct{}
	stopCtx   func() bool

	mu      sync.Mutex
	cur     *attempt    // the attempt dialing or open; nil while waiting
	timer   *time.Timer // the wait before the next attempt; nil when none
	n       int         // the number of the latest attempt in the run
	waits   int         // the waits in the run
	closing bool        // Close or the context's end was asked
	err     error       // why it stopped
	over    bool        // stopped: done is closed
}

// attempt is one connection of a Reconnector, from its dial to its close event.
type attempt struct {
	c      *Conn
	n      int       // its number in the run
	err    error     // the last error event
	opened time.Time // zero until the handshake succeeded
}

// ConnectReconnecting opens a client connection to url as Connect does, and dials again each time
// it fails or ends, as policy says (see ReconnectPolicy for the numbering and the delays).
// onConnect runs on each new connection once it is open, with the number of the attempt that
// opened it: handlers set there see every message, as with Connect's onConnect. opts are used for
// every attempt; a Setup there runs on each new connection before it dials. An error is returned,
// and nothing dialed, for a URL or options that Connect refuses.
func ConnectReconnecting(url string, opts *ClientOptions, policy ReconnectPolicy, onConnect func(c *Conn, attempt int)) (*Reconnector, error) {
	r := &Reconnector{url: url, policy: policy.withDefaults(), onConnect: onConnect, done: make(chan struct{})}
	if opts != nil {
		r.opts = *opts
	}
	r.n = 1
	if err := r.dial(1, r.policy.OnAttempt); err != nil {
		return nil, err
	}
	if ctx := r.opts.Context; ctx != nil {
		r.stopCtx = context.AfterFunc(ctx, func() { r.stop(ctx.Err()) })
	}
	return r, nil
}

// dial starts attempt n. announce, when not nil, is the OnAttempt of the first attempt: it runs
// once Connect accepted the URL and options, before the dial.
func (r *Reconnector) dial(n int, announce func(attempt int, delay time.Duration, err error)) error {
	a := &attempt{n: n}
	o := r.opts
	setup := o.Setup
	o.Setup = func(c *Conn) {
		if announce != nil {
			announce(n, 0, nil)
		}
		r.mu.Lock()
		a.c, r.cur = c, a
		closing := r.closing
		r.mu.Unlock()
		if setup != nil {
			setup(c)
		}
		next := c.handlers().err
		c.OnError(func(c *Conn, err error) {
			r.mu.Lock()
			a.err = err
			r.mu.Unlock()
			if next != nil {
				next(c, err)
			}
		})
		c.cold.Load().afterClose = func(code int, reason string) { r.ended(a, code, reason) }
		if closing { // Close came since the timer fired: give the connection up before it dials
			c.Close(1000, "")
		}
	}
	_, err := Connect(r.url, &o, func(c *Conn) { r.opened(a) })
	return err
}

// opened runs on a's connection when its handshake succeeded.
func (r *Reconnector) opened(a *attempt) {
	r.mu.Lock()
	a.opened = time.Now()
	closing := r.closing
	r.mu.Unlock()
	if closing { // Close came during the handshake, too late to stop it
		a.c.Close(1000, "")
		return
	}
	if r.onConnect != nil {
		r.onConnect(a.c, a.n)
	}
}

// ended runs after the close event of a's connection: it schedules the next attempt, or stops.
func (r *Reconnector) ended(a *attempt, code int, reason string) {
	r.mu.Lock()
	r.cur = nil
	err := a.err
	if !a.opened.IsZero() && time.Since(a.opened) >= r.policy.ResetAfter {
		r.n, r.waits = 0, 0 // a new run
	}
	if err == nil {
		err = &CloseError{Code: code, Reason: reason}
	}
	if r.closing || (r.policy.MaxAttempts > 0 && r.n >= r.policy.MaxAttempts) {
		r.finish(err)
		r.mu.Unlock()
		return
	}
	r.n++
	r.waits++
	n, delay := r.n, r.policy.delay(r.waits)
	r.mu.Unlock()
	if fn := r.policy.OnAttempt; fn != nil {
		fn(n, delay, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		r.finish(nil)
		return
	}
	r.timer = time.AfterFunc(delay, func() {
		r.mu.Lock()
		r.timer = nil
		closing := r.closing
		if closing {
			r.finish(nil)
		}
		r.mu.Unlock()
		if closing {
			return
		}
		if err := r.dial(n, nil); err != nil { // not expected: the same URL and options passed the first time
			r.mu.Lock()
			r.finish(err)
			r.mu.Unlock()
		}
	})
}

// Close stops the Reconnector: it dials no more, and closes the connection being dialed or open
// with 1000. It returns at once; Done is closed once the connection is closed. Err then returns nil.
func (r *Reconnector) Close() { r.stop(nil) }

// stop is Close, with err as the reason Err gives.
func (r *Reconnector) stop(err error) {
	r.mu.Lock()
	if r.closing || r.over {
		r.mu.Unlock()
		return
	}
	r.closing = true
	r.err = err
	var c *Conn
	switch {
	case r.cur != nil:
		c = r.cur.c // its close event stops the Reconnector
	case r.timer != nil && r.timer.Stop():
		r.timer = nil
		r.finish(err)
	} // else ended, or the timer or a dial's Setup, is about to see closing
	r.mu.Unlock()
	if c != nil {
		c.Close(1000, "") // outside r.mu: its close event may run at once
	}
}

// finish marks the Reconnector stopped with err, unless Close or the context gave the reason
// first. r.mu is held.
func (r *Reconnector) finish(err error) {
	if r.over {
		return
	}
	if !r.closing {
		r.err = err
	}
	r.over = true
	if r.stopCtx != nil {
		r.stopCtx()
	}
	close(r.done)
}

// Done is closed when the Reconnector has stopped and its last connection is closed.
func (r *Reconnector) Done() <-chan struct{} { return r.done }

// Err returns why the Reconnector stopped: the last attempt's error after MaxAttempts, the
// context's error after the end of ClientOptions.Context, nil after Close or while it runs.
func (r *Reconnector) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Conn returns the connection that is open, nil while dialing or waiting.
func (r *Reconnector) Conn() *Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.cur; a != nil && !a.opened.IsZero() {
		return a.c
	}
	return nil
}
