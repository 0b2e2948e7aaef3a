package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// sleepFor is how long the blocking handlers of these tests block.
const sleepFor = time.Second

// fastEcho bounds the echo of a connection whose loop is not held. An echo held behind the
// blocking handler waits for most of sleepFor, so a quarter of it tells the two apart, and leaves
// room for what stalls a shared machine under the race detector now and then (a CI run once saw
// 81 ms).
const fastEcho = sleepFor / 4

// peers dials n connections to addr.
func peers(t *testing.T, addr string, n int) []*wstest.Peer {
	var ps []*wstest.Peer
	for range n {
		ps = append(ps, wstest.Dial(t, addr, "/"))
	}
	return ps
}

// worstEcho has every peer echo a text, round after round, for d, and returns the slowest echo.
func worstEcho(t *testing.T, ps []*wstest.Peer, d time.Duration) time.Duration {
	t.Helper()
	var worst time.Duration
	for start := time.Now(); time.Since(start) < d; {
		for i, p := range ps {
			msg := []byte("ping " + strconv.Itoa(i))
			sent := time.Now()
			p.WriteFrame(true, codec.OpText, msg)
			p.ExpectFrame(codec.OpText, msg)
			worst = max(worst, time.Since(sent))
		}
	}
	return worst
}

// sleepyServer is an echo server whose text handler sleeps for sleepFor on "sleep" first, with x
// (nil: on the loop) running the handlers; sleeping receives a value when the handler falls asleep.
func sleepyServer(t *testing.T, x *Executor) (addr string, sleeping chan struct{}) {
	sleeping = make(chan struct{}, 1)
	s, addr := startServer(t, &ServerOptions{Executor: x}, nil)
	s.OnText(func(c *Conn, text string) {
		if text == "sleep" {
			sleeping <- struct{}{}
			time.Sleep(sleepFor)
		}
		c.SendText(text, nil)
	})
	return addr, sleeping
}

// While one connection's handler sleeps on a worker, every other connection, those on its loop
// included, echoes well within the sleep. Without the executor, the same setup
// (four connections per loop, so that some share the sleeper's loop) stalls some of them for
// about as long as the handler sleeps: that part shows the first can fail.
func TestExecutorSleepingHandlerDelaysNoOtherConnection(t *testing.T) {
	n := 4 * runtime.GOMAXPROCS(0)
	run := func(t *testing.T, x *Executor) time.Duration {
		addr, sleeping := sleepyServer(t, x)
		ps := peers(t, addr, n)
		ps[0].WriteFrame(true, codec.OpText, []byte("sleep"))
		recv(t, sleeping)
		worst := worstEcho(t, ps[1:], sleepFor/2)
		ps[0].ExpectFrame(codec.OpText, []byte("sleep"))
		t.Logf("slowest echo of %d connections while one handler slept: %v", n-1, worst)
		return worst
	}
	executorAgainstLoop(t, "another connection's handler slept", run)
}

// A Handshake hook that blocks on a worker holds its own connection only: the connections of the
// loop go on echoing, and the connection opens once the hook returns. Without the executor, the
// hook holds its loop: that part shows the first can fail.
func TestExecutorHandshakeHookMayBlock(t *testing.T) {
	run := func(t *testing.T, x *Executor) time.Duration {
		s, addr := startServer(t, &ServerOptions{Executor: x, Handshake: func(c *Conn) (http.Header, error) {
			if c.Path() == "/slow" {
				time.Sleep(sleepFor)
			}
			return http.Header{"X-Checked": {c.Path()}}, nil
		}}, nil)
		s.OnText(func(c *Conn, text string) { c.SendText(text, nil) })
		ps := peers(t, addr, 4*runtime.GOMAXPROCS(0))
		slow := wstest.DialRaw(t, addr)
		start := time.Now()
		slow.Write([]byte(wstest.Request("/slow")))
		worst := worstEcho(t, ps, sleepFor/2)
		head := string(slow.ReadHead())
		if took := time.Since(start); !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "\r\nX-Checked: /slow\r\n") || took < sleepFor {
			t.Fatalf("after %v, answer %q", took, head)
		}
		t.Logf("slowest echo while a handshake hook blocked: %v", worst)
		return worst
	}
	executorAgainstLoop(t, "a handshake hook blocked", run)
}

// executorAgainstLoop runs run, which returns the slowest echo while something blocks (what),
// with an executor, where that echo must stay under fastEcho, and without one, where it must
// reach half the sleep: the part that shows the first can fail.
func executorAgainstLoop(t *testing.T, what string, run func(*testing.T, *Executor) time.Duration) {
	t.Run("executor", func(t *testing.T) {
		wstest.CheckLeaks(t)
		if worst := run(t, NewExecutor(4, 0)); worst > fastEcho {
			t.Fatalf("with the executor, an echo took %v while %s", worst, what)
		}
	})
	t.Run("loop", func(t *testing.T) {
		if worst := run(t, nil); worst < sleepFor/2 {
			t.Fatalf("without the executor, the slowest echo took only %v while %s: no connection shared its loop, so the test above proves nothing", worst, what)
		}
	})
}

// orderedText sends count numbered texts on p in one write, and checks their echoes come back in
// order.
func orderedText(t *testing.T, p *wstest.Peer, count int) {
	var burst []byte
	for i := range count {
		burst = append(burst, wstest.FrameBytes(true, codec.OpText, []byte(strconv.Itoa(i)))...)
	}
	p.Write(burst)
	for i := range count {
		p.ExpectFrame(codec.OpText, []byte(strconv.Itoa(i)))
	}
}

// tinySleep sleeps a random few tens of microseconds, so that workers interleave.
func tinySleep() { time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond) }

// Under the executor, each connection's messages are handled in wire order, one at a time, while
// several connections share the workers.
func TestExecutorKeepsOrderPerConnection(t *testing.T) {
	wstest.CheckLeaks(t)
	const conns, count = 4, 1000
	x := NewExecutor(3, 0)
	s, addr := startServer(t, &ServerOptions{Executor: x}, nil)
	var mu sync.Mutex
	seen := map[*Conn][]int{}
	var inside sync.Map // connections whose handler is running
	s.OnText(func(c *Conn, text string) {
		if _, twice := inside.LoadOrStore(c, true); twice {
			t.Error("two handlers of one connection ran at once")
		}
		tinySleep()
		n, _ := strconv.Atoi(text)
		mu.Lock()
		seen[c] = append(seen[c], n)
		mu.Unlock()
		inside.Delete(c)
		c.SendText(text, nil)
	})
	var wg sync.WaitGroup
	for _, p := range peers(t, addr, conns) {
		wg.Go(func() { orderedText(t, p, count) })
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for c, got := range seen {
		if len(got) != count || !slices.IsSorted(got) || got[count-1] != count-1 {
			t.Fatalf("%v handled %d messages, in order %v", c.RemoteAddr(), len(got), slices.IsSorted(got))
		}
	}
	if len(seen) != conns {
		t.Fatalf("%d connections handled, want %d", len(seen), conns)
	}
	idle(t, x)
}

// A connection's events reach its handlers in wire order: the connection event first, its
// messages, the error of the protocol violation that ends it, the close last, though each
// handler takes its time on a worker.
func TestExecutorEventOrder(t *testing.T) {
	wstest.CheckLeaks(t)
	var mu sync.Mutex
	var got []string
	add := func(s string) {
		tinySleep()
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}
	closed := make(chan struct{})
	s, addr := startServer(t, &ServerOptions{Executor: NewExecutor(0, 0)}, func(*Conn) {
		time.Sleep(20 * time.Millisecond) // the messages arrive meanwhile
		add("open")
	})
	s.OnText(func(_ *Conn, text string) { add("text " + text) })
	s.OnConnError(func(_ *Conn, err error) { add("error " + err.Error()) })
	s.OnConnClose(func(_ *Conn, code int, _ string) {
		add(fmt.Sprint("close ", code))
		close(closed)
	})
	p := wstest.DialRaw(t, addr)
	p.Write([]byte(wstest.Request("/") + string(wstest.FrameBytes(true, codec.OpText, []byte("1"))) +
		string(wstest.FrameBytes(true, codec.OpText, []byte("2"))) + string(wstest.FrameBytes(true, 3, nil))))
	if head := p.ReadHead(); !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("answer %q", head)
	}
	p.ExpectClose(codec.CloseProtocolError)
	recv(t, closed)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"open", "text 1", "text 2", "error " + eventError(codec.ErrUnknownOpcode).Error(), "close 1002"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// numbered is a binary message of size bytes that says its number i everywhere: i in its first
// four bytes, byte(i) in the others.
func numbered(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// The payload handed to OnMessage on a worker stays valid for the call while the loop reads on:
// a handler that keeps a copy, waits, and compares finds its bytes unchanged.
func TestExecutorPayloadValidForTheCall(t *testing.T) {
	wstest.CheckLeaks(t)
	const count, size = 500, 1000
	s, addr := startServer(t, &ServerOptions{Executor: NewExecutor(0, 0)}, nil)
	var handled, bad atomic.Int32
	done := make(chan struct{})
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) {
		kept := slices.Clone(p)
		i := int(handled.Load())
		time.Sleep(50 * time.Microsecond) // the loop reads the next messages meanwhile
		if !bytes.Equal(p, kept) || !bytes.Equal(p, numbered(i, size)) {
			bad.Add(1)
		}
		if handled.Add(1) == count {
			close(done)
		}
	})
	p := wstest.Dial(t, addr, "/")
	var burst []byte
	for i := range count {
		burst = append(burst, wstest.FrameBytes(true, codec.OpBinary, numbered(i, size))...)
	}
	p.Write(burst)
	recv(t, done)
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d of %d payloads changed during their handler's call, or came out of order", n, count)
	}
}

// A handler slower than its peer does not let the peer fill the server's memory: once the events
// waiting for the worker pass the backlog bound, the connection stops reading, TCP stops the
// peer, and reading resumes as the handler catches up; every message is handled, in order.
func TestExecutorBacklogPausesInput(t *testing.T) {
	wstest.CheckLeaks(t)
	const maxBacklog, size, count = 64 << 10, 8 << 10, 4096 // 32 MiB sent, more than the kernel buffers
	x := NewExecutor(0, maxBacklog)
	s, addr := startServer(t, &ServerOptions{Executor: x}, nil)
	gate := make(chan struct{})
	var handled atomic.Int32
	var outOfOrder atomic.Bool
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) {
		<-gate // the handler is stuck until the test opens the gate
		if binary.BigEndian.Uint32(p) != uint32(handled.Load()) {
			outOfOrder.Store(true)
		}
		handled.Add(1)
	})
	p := wstest.Dial(t, addr, "/")
	var written atomic.Int64
	wrote := make(chan error, 1)
	go func() {
		p.Conn.SetWriteDeadline(time.Now().Add(4 * wstest.Timeout))
		for i := range count {
			n, err := p.Conn.Write(wstest.FrameBytes(true, codec.OpBinary, numbered(i, size)))
			written.Add(int64(n))
			if err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	// Wait until the peer is stopped: nothing more written for 300 ms, sampling the backlog.
	var peak int64
	last, still := written.Load(), time.Now()
	for deadline := time.Now().Add(wstest.Timeout); time.Since(still) < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("the peer was never throttled: %d bytes written, backlog %d", written.Load(), x.Backlog())
		}
		time.Sleep(time.Millisecond)
		peak = max(peak, x.Backlog())
		if w := written.Load(); w != last {
			last, still = w, time.Now()
		}
	}
	if bound := int64(maxBacklog + size + 2*eventCost); peak > bound {
		t.Fatalf("backlog reached %d bytes, bound %d", peak, bound)
	}
	if total := int64(count * len(wstest.FrameBytes(true, codec.OpBinary, numbered(0, size)))); last >= total {
		t.Fatalf("the peer wrote all %d bytes while the handler was stuck", total)
	}
	close(gate)
	if err := recv(t, wrote); err != nil {
		t.Fatalf("the peer's writes failed once the handler went on: %v", err)
	}
	waitUntil(t, "every message handled", func() bool { return handled.Load() == count })
	if outOfOrder.Load() {
		t.Fatal("messages handled out of order")
	}
}

// A client connection with an executor gets its events on workers, in order: the connect event
// first, every echo in order though its handler sleeps, the close last.
func TestExecutorClient(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	const count = 300
	var mu sync.Mutex
	var got []string
	add := func(s string) {
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
	}
	closed := make(chan struct{})
	c, err := Connect("ws://"+addr+"/", &ClientOptions{Executor: NewExecutor(2, 0), Setup: func(c *Conn) {
		c.OnText(func(c *Conn, text string) {
			tinySleep()
			add(text)
			if text == strconv.Itoa(count-1) {
				c.Close(1000, "done")
			}
		})
		c.OnClose(func(*Conn, int, string) {
			add("close")
			close(closed)
		})
	}}, func(c *Conn) {
		time.Sleep(20 * time.Millisecond) // the echoes cannot come before: nothing was sent yet
		add("connect")
		for i := range count {
			c.SendText(strconv.Itoa(i), nil)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	recv(t, closed)
	want := []string{"connect"}
	for i := range count {
		want = append(want, strconv.Itoa(i))
	}
	want = append(want, "close")
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("client events %q..., want %q...", got[:min(len(got), 5)], want[:5])
	}
	_ = c
}

// idle waits until x holds no mailbox and no backlog: connections without events cost it nothing.
func idle(t *testing.T, x *Executor) {
	t.Helper()
	waitUntil(t, "the executor idle", func() bool {
		n := 0
		for i := range x.stripes {
			st := &x.stripes[i]
			st.mu.Lock()
			n += len(st.boxes)
			st.mu.Unlock()
		}
		return n == 0 && x.Backlog() == 0
	})
}

// A binary message streamed to an InStream on a worker arrives chunk by chunk, each valid for
// its OnData call, in order and before the message that follows it.
func TestExecutorInStream(t *testing.T) {
	wstest.CheckLeaks(t)
	x := NewExecutor(0, 0)
	s, addr := startServer(t, &ServerOptions{Executor: x}, nil)
	got := make(chan string, 2)
	s.OnBinary(func(c *Conn, in *InStream) {
		var whole []byte
		in.OnData(func(chunk []byte) {
			kept := slices.Clone(chunk)
			time.Sleep(time.Millisecond)
			if !bytes.Equal(chunk, kept) {
				got <- "chunk changed during its call"
			}
			whole = append(whole, chunk...)
		})
		in.OnEnd(func(err error) {
			got <- fmt.Sprintf("binary %v %v", bytes.Equal(whole, pattern(30000)), err)
		})
	})
	s.OnText(func(_ *Conn, text string) { got <- "text " + text })
	p := wstest.Dial(t, addr, "/")
	all := pattern(30000)
	p.Write(slices.Concat(wstest.FrameBytes(false, codec.OpBinary, all[:10000]),
		wstest.FrameBytes(false, codec.OpContinuation, all[10000:20000]),
		wstest.FrameBytes(true, codec.OpContinuation, all[20000:]),
		wstest.FrameBytes(true, codec.OpText, []byte("after"))))
	if a, b := recv(t, got), recv(t, got); a != "binary true <nil>" || b != "text after" {
		t.Fatalf("events %q, %q", a, b)
	}
	idle(t, x)
}

// An OutStream written from a handler on a worker may wait for room in the send queue: the drain
// that wakes it comes from the loop, not behind the waiting handler.
func TestExecutorOutStreamWaitsInHandler(t *testing.T) {
	wstest.CheckLeaks(t)
	const size = 1 << 20
	x := NewExecutor(0, 0)
	s, addr := startServer(t, &ServerOptions{Executor: x, MaxQueuedBytes: 64 << 10, BinaryFragmentation: 16 << 10}, nil)
	sent := make(chan error, 1)
	s.OnText(func(c *Conn, _ string) {
		os, err := c.BeginBinary()
		if err == nil {
			_, err = os.Write(pattern(size)) // waits for the peer to read, many times over
		}
		if err == nil {
			err = os.Close()
		}
		sent <- err
	})
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("send"))
	var got []byte
	for len(got) < size {
		f := p.MustFrame()
		got = append(got, f.Payload...)
	}
	if err := recv(t, sent); err != nil || !bytes.Equal(got, pattern(size)) {
		t.Fatalf("stream: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, pattern(size)))
	}
	idle(t, x)
}

// An OutStream waiting for room in a handler on a worker is cut when the connection closes: the
// close reaches the stream from the loop, not behind the waiting handler.
func TestExecutorOutStreamCutWhenClosed(t *testing.T) {
	wstest.CheckLeaks(t)
	s, addr := startServer(t, &ServerOptions{Executor: NewExecutor(0, 0), MaxQueuedBytes: 64 << 10}, nil)
	writing := make(chan struct{})
	sent := make(chan error, 1)
	s.OnText(func(c *Conn, _ string) {
		os, err := c.BeginBinary()
		if err != nil {
			sent <- err
			return
		}
		close(writing)
		_, err = os.Write(pattern(64 << 20)) // more than the kernel buffers: the peer reads none
		sent <- err
	})
	p := wstest.Dial(t, addr, "/")
	p.WriteFrame(true, codec.OpText, []byte("send"))
	recv(t, writing)
	time.Sleep(50 * time.Millisecond) // the write waits for room by now
	p.Conn.Close()
	if err := recv(t, sent); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Write returned %v, want ErrStreamClosed", err)
	}
}

// Over TLS, where a connection's events come from its reader goroutine, the executor keeps the
// same order on both ends: a client and a server with executors of their own, and a payload
// larger than the server's backlog bound, which pauses the TLS reader until it is handled.
func TestExecutorTLS(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	sx, cx := NewExecutor(2, 64<<10), NewExecutor(2, 0)
	s, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg, Executor: sx}, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) {
		tinySleep()
		c.SendMessage(typ, p, nil)
	})
	const count = 200
	big := pattern(256 << 10)
	got := make(chan string, count+2)
	_, err := Connect("wss://"+addr+"/", &ClientOptions{TLSConfig: clientCfg, Executor: cx, Setup: func(c *Conn) {
		c.OnMessage(func(c *Conn, typ MessageType, p []byte) {
			tinySleep()
			switch {
			case typ == BinaryMessage:
				got <- fmt.Sprint("binary ", bytes.Equal(p, big))
				c.Close(1000, "")
			default:
				got <- string(p)
			}
		})
		c.OnClose(func(*Conn, int, string) { got <- "close" })
	}}, func(c *Conn) {
		for i := range count {
			c.SendText(strconv.Itoa(i), nil)
		}
		c.SendBinary(big, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range count {
		if g := recv(t, got); g != strconv.Itoa(i) {
			t.Fatalf("echo %d: got %q", i, g)
		}
	}
	if a, b := recv(t, got), recv(t, got); a != "binary true" || b != "close" {
		t.Fatalf("then %q, %q", a, b)
	}
	idle(t, sx)
	idle(t, cx)
}
