package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

// reconnectLog records a Reconnector's attempts and connections in order.
type reconnectLog struct {
	mu     sync.Mutex
	events []string
	delays []time.Duration // the delay of each attempt, from OnAttempt
	errs   []error         // the err of each attempt, from OnAttempt
	at     []time.Time     // when each attempt was announced
	sig    chan struct{}
}

func newReconnectLog() *reconnectLog { return &reconnectLog{sig: make(chan struct{}, 1)} }

func (l *reconnectLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	select {
	case l.sig <- struct{}{}:
	default:
	}
}

// onAttempt is an OnAttempt that records each attempt.
func (l *reconnectLog) onAttempt(n int, delay time.Duration, err error) {
	l.mu.Lock()
	l.delays = append(l.delays, delay)
	l.errs = append(l.errs, err)
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
	l.add(fmt.Sprintf("attempt %d", n))
}

func (l *reconnectLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// waitFor waits until the log holds want.
func (l *reconnectLog) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(wstest.Timeout)
	for {
		if slices.Contains(l.get(), want) {
			return
		}
		select {
		case <-l.sig:
		case <-deadline:
			t.Fatalf("no %q; events %q", want, l.get())
		}
	}
}

// stopped waits for r's Done, promptly.
func stopped(t *testing.T, r *Reconnector, within time.Duration) {
	t.Helper()
	select {
	case <-r.Done():
	case <-time.After(within):
		t.Fatalf("not stopped within %v", within)
	}
}

// freePort returns a loopback address with nothing listening.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// inBand checks that delay is the policy's delay after w waits: within its jitter band and [min, max].
func inBand(t *testing.T, p ReconnectPolicy, w int, delay time.Duration) {
	t.Helper()
	base := min(float64(p.MinDelay)*float64(int(1)<<(w-1)), float64(p.MaxDelay)) // Multiplier 2
	lo := max(time.Duration(base*(1-p.Jitter)), p.MinDelay)
	hi := min(time.Duration(base*(1+p.Jitter)), p.MaxDelay)
	if delay < lo || delay > hi {
		t.Fatalf("delay after %d waits %v, want within [%v, %v]", w, delay, lo, hi)
	}
}

func TestReconnectAfterTheServerDrops(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, nil, nil)
	s.OnText(func(c *Conn, text string) {
		c.SendText("echo "+text, nil)
		c.Close(4000, "once")
	})
	l := newReconnectLog()
	p := ReconnectPolicy{MinDelay: 20 * time.Millisecond, MaxDelay: 80 * time.Millisecond, Multiplier: 2, Jitter: 0.25,
		ResetAfter: time.Hour, OnAttempt: l.onAttempt}
	r, err := ConnectReconnecting("ws://"+addr+"/again", nil, p, func(c *Conn, n int) {
		l.add(fmt.Sprintf("connect %d", n))
		c.OnText(func(_ *Conn, text string) { l.add(text) })
		c.SendText(fmt.Sprint(n), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	const runs = 5
	l.waitFor(t, fmt.Sprintf("echo %d", runs))
	r.Close()
	stopped(t, r, 2*time.Second)
	var want []string
	for n := 1; n <= runs; n++ {
		want = append(want, fmt.Sprintf("attempt %d", n), fmt.Sprintf("connect %d", n), fmt.Sprintf("echo %d", n))
	}
	if got := l.get(); strings.Join(got[:len(want)], "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.delays[0] != 0 || l.errs[0] != nil {
		t.Fatalf("first attempt: delay %v err %v", l.delays[0], l.errs[0])
	}
	for n := 2; n <= runs; n++ {
		inBand(t, p, n-1, l.delays[n-1])
		if err := l.errs[n-1]; err == nil || err.Error() != "websocket: closed with 4000: once" {
			t.Fatalf("attempt %d: err %v", n, err)
		}
	}
	if r.Err() != nil {
		t.Fatalf("Err after Close: %v", r.Err())
	}
}

func TestReconnectDelays(t *testing.T) {
	d := ReconnectPolicy{}.withDefaults()
	if d.MinDelay != 500*time.Millisecond || d.MaxDelay != 30*time.Second || d.Multiplier != 2 || d.Jitter != 0.2 ||
		d.ResetAfter != 30*time.Second || d.MaxAttempts != 0 {
		t.Fatalf("defaults %+v", d)
	}
	p := ReconnectPolicy{MinDelay: 100 * time.Millisecond, MaxDelay: 3 * time.Second, Jitter: 0.5}.withDefaults()
	spread := map[time.Duration]bool{}
	for w := 1; w <= 40; w++ {
		for range 50 {
			got := p.delay(w)
			inBand(t, p, min(w, 10), got)
			if w == 3 {
				spread[got] = true
			}
		}
	}
	if len(spread) < 10 {
		t.Fatalf("jitter gave %d distinct delays in 50", len(spread))
	}
	exact := ReconnectPolicy{MinDelay: 100 * time.Millisecond, MaxDelay: time.Second, Multiplier: 3, Jitter: -1}.withDefaults()
	for w, want := range []time.Duration{100, 300, 900, 1000, 1000} {
		if got := exact.delay(w + 1); got != want*time.Millisecond {
			t.Fatalf("no jitter: delay after %d waits %v, want %v", w+1, got, want*time.Millisecond)
		}
	}
}

func TestReconnectMaxAttemptsStopsWithTheLastError(t *testing.T) {
	wstest.CheckLeaks(t)
	l := newReconnectLog()
	p := ReconnectPolicy{MinDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxAttempts: 3, OnAttempt: l.onAttempt}
	r, err := ConnectReconnecting("ws://"+freePort(t)+"/", nil, p, func(*Conn, int) { l.add("connect") })
	if err != nil {
		t.Fatal(err)
	}
	stopped(t, r, wstest.Timeout)
	if got := strings.Join(l.get(), "|"); got != "attempt 1|attempt 2|attempt 3" {
		t.Fatalf("events %q", got)
	}
	if err := r.Err(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Err %v, want the refused dial", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, err := range l.errs[1:] {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("attempt %d: err %v", i+2, err)
		}
		if waited := l.at[i+1].Sub(l.at[i]); waited < l.delays[i] {
			t.Fatalf("attempt %d came %v after the previous, before its delay %v", i+2, waited, l.delays[i])
		}
	}
}

func TestReconnectCloseStopsPromptly(t *testing.T) {
	wstest.CheckLeaks(t)
	t.Run("waiting", func(t *testing.T) {
		l := newReconnectLog()
		p := ReconnectPolicy{MinDelay: 10 * time.Second, OnAttempt: l.onAttempt}
		r, err := ConnectReconnecting("ws://"+freePort(t)+"/", nil, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		l.waitFor(t, "attempt 2") // its wait has begun
		start := time.Now()
		r.Close()
		stopped(t, r, 500*time.Millisecond)
		if r.Err() != nil || time.Since(start) > 500*time.Millisecond {
			t.Fatalf("Err %v after %v", r.Err(), time.Since(start))
		}
		if got := strings.Join(l.get(), "|"); got != "attempt 1|attempt 2" {
			t.Fatalf("events %q", got)
		}
	})
	t.Run("connected", func(t *testing.T) {
		_, addr, sl, conns := recServer(t, nil)
		connected := make(chan *Conn, 1)
		r, err := ConnectReconnecting("ws://"+addr+"/open", nil, ReconnectPolicy{MinDelay: time.Millisecond}, func(c *Conn, n int) {
			connected <- c
		})
		if err != nil {
			t.Fatal(err)
		}
		c := recv(t, connected)
		recv(t, conns)
		if r.Conn() != c {
			t.Fatal("Conn is not the open connection")
		}
		r.Close()
		stopped(t, r, 2*time.Second)
		if r.Err() != nil || r.Conn() != nil || c.ReadyState() != Closed {
			t.Fatalf("Err %v Conn %v state %d", r.Err(), r.Conn(), c.ReadyState())
		}
		sl.expect(t, "connection /open", closeEv(1000, ""))
		select {
		case <-connected:
			t.Fatal("connected again after Close")
		case <-time.After(50 * time.Millisecond):
		}
	})
}

// A connection that stayed open for ResetAfter starts a new run: numbers from 1, the first wait.
func TestReconnectResetsAfterAStableConnection(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, nil, nil)
	s.OnText(func(c *Conn, text string) { c.Close(4001, "after "+text) })
	l := newReconnectLog()
	p := ReconnectPolicy{MinDelay: 10 * time.Millisecond, MaxDelay: 40 * time.Millisecond, Jitter: -1, ResetAfter: 100 * time.Millisecond, OnAttempt: l.onAttempt}
	var conns atomic.Int32
	r, err := ConnectReconnecting("ws://"+addr+"/", nil, p, func(c *Conn, n int) {
		l.add(fmt.Sprintf("connect %d", n))
		wait := time.Duration(0)
		if conns.Add(1) == 2 {
			wait = 150 * time.Millisecond // the second connection stays open past ResetAfter
		}
		time.AfterFunc(wait, func() { c.SendText(fmt.Sprint(n), nil) })
	})
	if err != nil {
		t.Fatal(err)
	}
	l.waitFor(t, "connect 3")
	r.Close()
	stopped(t, r, 2*time.Second)
	want := "attempt 1|connect 1|attempt 2|connect 2|attempt 1|connect 1|attempt 2|connect 2|attempt 3|connect 3"
	if got := conns.Load(); got < 5 {
		t.Fatalf("%d connections", got)
	}
	if got := strings.Join(l.get(), "|"); !strings.HasPrefix(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ms := time.Millisecond
	if got := l.delays[:5]; fmt.Sprint(got) != fmt.Sprint([]time.Duration{0, 10 * ms, 10 * ms, 20 * ms, 40 * ms}) {
		t.Fatalf("delays %v", got)
	}
	if l.errs[2].Error() != "websocket: closed with 4001: after 2" {
		t.Fatalf("reason of the new run: %v", l.errs[2])
	}
}

func TestReconnectStopsWithTheContext(t *testing.T) {
	wstest.CheckLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	l := newReconnectLog()
	r, err := ConnectReconnecting("ws://"+freePort(t)+"/", &ClientOptions{Context: ctx}, ReconnectPolicy{MinDelay: 10 * time.Second, OnAttempt: l.onAttempt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.waitFor(t, "attempt 2")
	cancel()
	stopped(t, r, 500*time.Millisecond)
	if !errors.Is(r.Err(), context.Canceled) {
		t.Fatalf("Err %v", r.Err())
	}
}

func TestReconnectRefusesABadURL(t *testing.T) {
	l := newReconnectLog()
	if r, err := ConnectReconnecting("http://127.0.0.1:1/", nil, ReconnectPolicy{OnAttempt: l.onAttempt}, nil); r != nil || err == nil ||
		err.Error() != "Invalid protocol http:. It must be ws or wss" {
		t.Fatalf("Reconnector %v, err %v", r, err)
	}
}
