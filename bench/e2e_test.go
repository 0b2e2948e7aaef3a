package bench

// End-to-end benchmarks over loopback: every library's server (servers_test.go, in a child
// process) against one and the same client, a minimal raw client of our own that writes masked
// frames and reads frames over a net.Conn with a goroutine per connection. The client does the
// same work whatever the server, so differences between rows are the servers'.
//
// Metrics: ns/op is wall time per message (echo) or per broadcast round; msgs/s and
// deliveries/s are the throughput; srv-cpu-ns, srv-allocs and srv-B are the server process's
// own CPU time and allocations per message or delivery. allocs/op and B/op are the client's
// (the same for every server) because the server runs in the other process.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// e2eSize is the payload of every end-to-end message: 1 KiB, as in the published Go
// comparisons.
const e2eSize = 1 << 10

// runTimeout bounds one timed run of an end-to-end benchmark (any run, whatever b.N).
const runTimeout = 2 * time.Minute

// rawClient is one client connection.
type rawClient struct {
	nc    net.Conn
	fr    frameReader
	frame []byte // the masked frame it sends

	// For a server that compresses its echoes (permessage-deflate without context takeover).
	inflater flate.Resetter
	deflated bytes.Reader
	inflated bytes.Buffer
}

// inflate returns the message a compressed payload holds, valid until the next call.
func (c *rawClient) inflate(p []byte) ([]byte, error) {
	c.deflated.Reset(append(p[:len(p):len(p)], deflateTail...))
	if c.inflater == nil {
		c.inflater = flate.NewReader(&c.deflated).(flate.Resetter)
	} else if err := c.inflater.Reset(&c.deflated, nil); err != nil {
		return nil, err
	}
	c.inflated.Reset()
	if _, err := c.inflated.ReadFrom(c.inflater.(io.Reader)); err != nil {
		return nil, fmt.Errorf("inflating an echo: %w", err)
	}
	return c.inflated.Bytes(), nil
}

// dialClients opens n upgraded connections to addr, dialing at most 64 at a time (the listen
// backlog is 4096 here, and a dial storm only measures SYN retries).
func dialClients(addr string, n int, frame []byte, extensions string) ([]*rawClient, error) {
	clients := make([]*rawClient, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dialClient(addr, i, frame, extensions)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("client %d: %w", i, err)
				}
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if first != nil {
		closeClients(clients)
		return nil, first
	}
	return clients, nil
}

// dialClient opens one upgraded connection, offering extensions (a Sec-WebSocket-Extensions
// value) unless empty.
func dialClient(addr string, i int, frame []byte, extensions string) (*rawClient, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	var k [16]byte
	copy(k[:], fmt.Sprintf("wsloop-bench%04d", i%10000))
	key := base64.StdEncoding.EncodeToString(k[:])
	if _, err := nc.Write(clientRequest(addr, key, extensions)); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	if err := readResponseHead(br, key); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return &rawClient{nc: nc, fr: frameReader{br: br}, frame: frame}, nil
}

// closeClients resets every connection (SO_LINGER 0), so that no client port lingers in
// TIME_WAIT across the many thousands of connections a full run opens.
func closeClients(clients []*rawClient) {
	for _, c := range clients {
		if c == nil {
			continue
		}
		if tc, ok := c.nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.nc.Close()
	}
}

// echoes sends n messages one at a time, each after the previous one's echo came back, and
// checks every echo byte for byte.
func (c *rawClient) echoes(n int, want []byte) error {
	for range n {
		if _, err := c.nc.Write(c.frame); err != nil {
			return err
		}
		op, p, err := c.fr.next()
		if err != nil {
			return err
		}
		if c.fr.compressed {
			if p, err = c.inflate(p); err != nil {
				return err
			}
		}
		if op != opBinary || !bytes.Equal(p, want) {
			return fmt.Errorf("echo: got opcode %d and %d bytes, want a binary message of %d bytes", op, len(p), len(want))
		}
	}
	return nil
}

// e2eEnv is a server process and its connected clients, set up once per sub-benchmark and kept
// across the runs the benchmark framework makes of it.
type e2eEnv struct {
	srv     *child
	clients []*rawClient
	failed  atomic.Bool
}

func setupEnv(b *testing.B, name string, conns int) *e2eEnv {
	b.Helper()
	return setupEnvWith(b, name, conns)
}

// setupEnvWith is setupEnv with environ added to the server process's environment.
func setupEnvWith(b *testing.B, name string, conns int, environ ...string) *e2eEnv {
	b.Helper()
	srv, err := startChild(name, environ...)
	if err != nil {
		b.Fatal(err)
	}
	frame := appendFrame(nil, opBinary, payloadOf(e2eSize), true, benchKey)
	extensions := ""
	if strings.HasSuffix(name, "+deflate") {
		extensions = deflateOffer
	}
	clients, err := dialClients(srv.addr, conns, frame, extensions)
	if err != nil {
		srv.stop()
		b.Fatalf("%s: %v", name, err)
	}
	env := &e2eEnv{srv: srv, clients: clients}
	if err := srv.waitCount(conns); err != nil {
		env.close()
		b.Fatal(err)
	}
	return env
}

func (e *e2eEnv) close() error {
	closeClients(e.clients)
	return e.srv.stop()
}

// BenchmarkEcho: C connections, each sending a 1 KiB binary message and waiting for its echo
// before sending the next; b.N messages in all, shared out evenly. The limit row is last.
func BenchmarkEcho(b *testing.B) { benchEcho(b, []int{1, 100, 1000}, withLimit) }

// BenchmarkEchoDeflate: the echo with permessage-deflate (no context takeover) beside gws's, and
// both without it. The client offers deflate and sends its 1 KiB messages uncompressed, which
// RFC 7692 allows; the servers compress their echoes (above their 512-byte thresholds) and the
// client inflates each one and checks it.
func BenchmarkEchoDeflate(b *testing.B) {
	benchEcho(b, []int{100}, []string{"wsloop", "wsloop+deflate", "gws", "gws+deflate"})
}

// benchEcho runs the echo for each number of connections and each server named.
func benchEcho(b *testing.B, connCounts []int, names []string) {
	for _, conns := range connCounts {
		for _, name := range names {
			var env *e2eEnv
			b.Run(fmt.Sprintf("conns=%d/peer=%s", conns, name), func(b *testing.B) {
				if env == nil {
					env = setupEnv(b, name, conns)
				}
				runEcho(b, env)
			})
			if env != nil {
				if err := env.close(); err != nil {
					b.Error(err)
				}
			}
		}
	}
}

func runEcho(b *testing.B, env *e2eEnv) {
	want := payloadOf(e2eSize)
	runEchoes(b, env, e2eSize, func(c *rawClient, count int, start <-chan struct{}, wg *sync.WaitGroup, errs chan<- error) {
		wg.Go(func() {
			<-start
			if err := c.echoes(count, want); err != nil {
				errs <- err
			}
		})
	})
}

// runEchoes times b.N echoes of size-byte messages spread over env's clients: for each client
// with a share, work starts the goroutines that make its count of echoes (on wg, each waiting for
// start), which send their errors to errs (room for two per client). It reports msgs/s and the
// server's figures per message.
func runEchoes(b *testing.B, env *e2eEnv, size int, work func(c *rawClient, count int, start <-chan struct{}, wg *sync.WaitGroup, errs chan<- error)) {
	deadline := time.Now().Add(runTimeout)
	for _, c := range env.clients {
		c.nc.SetDeadline(deadline)
	}
	before, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	n := len(env.clients)
	start := make(chan struct{})
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i, c := range env.clients {
		count := b.N / n
		if i < b.N%n {
			count++
		}
		if count > 0 {
			work(c, count, start, &wg, errs)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("%s: %v", env.srv.name, err)
	}
	after, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	report(b, before, after, b.N, "msg")
}

// BenchmarkBroadcast: C connections that only read; each op asks the server to send one 1 KiB
// binary message to every connection (server-side fan-out) and waits until every client got
// it. ns/op is the time until the last delivery.
func BenchmarkBroadcast(b *testing.B) {
	for _, conns := range []int{1000, 10000} {
		for _, name := range peers {
			var env *e2eEnv
			var bc *broadcastClients
			b.Run(fmt.Sprintf("conns=%d/peer=%s", conns, name), func(b *testing.B) {
				if env == nil {
					env = setupEnv(b, name, conns)
					bc = startReaders(env.clients)
				}
				runBroadcast(b, env, bc)
			})
			if env != nil {
				if err := env.close(); err != nil {
					b.Error(err)
				}
				bc.wait()
			}
		}
	}
}

// broadcastClients runs a reader per connection, counting the messages delivered.
type broadcastClients struct {
	delivered atomic.Int64
	target    atomic.Int64
	done      chan struct{}
	bad       atomic.Pointer[error]
	wg        sync.WaitGroup
}

func startReaders(clients []*rawClient) *broadcastClients {
	bc := &broadcastClients{done: make(chan struct{}, 1)}
	want := payloadOf(e2eSize)
	for _, c := range clients {
		bc.wg.Go(func() {
			for {
				op, p, err := c.fr.next()
				if err != nil {
					return // the connection was closed at the end
				}
				if op != opBinary || !bytes.Equal(p, want) {
					err := fmt.Errorf("broadcast: got opcode %d and %d bytes, want a binary message of %d bytes", op, len(p), len(want))
					bc.bad.CompareAndSwap(nil, &err)
				}
				if bc.delivered.Add(1) == bc.target.Load() {
					bc.done <- struct{}{}
				}
			}
		})
	}
	return bc
}

func (bc *broadcastClients) wait() { bc.wg.Wait() }

func runBroadcast(b *testing.B, env *e2eEnv, bc *broadcastClients) {
	n := int64(len(env.clients))
	before, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	cmd := "bcast " + strconv.Itoa(e2eSize)
	b.SetBytes(e2eSize * n)
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		bc.target.Store(bc.delivered.Load() + n)
		if _, err := env.srv.call(cmd); err != nil {
			b.Fatal(err)
		}
		select {
		case <-bc.done:
		case <-time.After(callTimeout):
			b.Fatalf("%s: %d of %d deliveries after %v", env.srv.name,
				n-(bc.target.Load()-bc.delivered.Load()), n, callTimeout)
		}
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	if p := bc.bad.Load(); p != nil {
		b.Fatalf("%s: %v", env.srv.name, *p)
	}
	after, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "deliveries/s")
	report(b, before, after, int(n)*b.N, "delivery")
}

// BenchmarkHandshake (an extra beyond the list, for the opening handshake end to end):
// 16 client goroutines each dial, upgrade, read the 101 and reset the connection, b.N times in
// all. ns/op is wall time per upgrade; srv-* is the server's cost per upgrade, accept and close
// included. wsloop+defer is wsloop with ServerOptions.DeferAccept, which answers on the accepting
// goroutine.
func BenchmarkHandshake(b *testing.B) {
	const workers = 16
	for _, name := range slices.Insert(slices.Clone(withLimit), 1, "wsloop+defer") {
		var srv *child
		b.Run("peer="+name, func(b *testing.B) {
			if srv == nil {
				var err error
				if srv, err = startChild(name); err != nil {
					b.Fatal(err)
				}
			}
			before, err := srv.stats()
			if err != nil {
				b.Fatal(err)
			}
			errs := make(chan error, workers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range workers {
				count := b.N / workers
				if i < b.N%workers {
					count++
				}
				wg.Go(func() {
					<-start
					for range count {
						c, err := dialClient(srv.addr, i, nil, "")
						if err != nil {
							errs <- err
							return
						}
						closeClients([]*rawClient{c})
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			close(start)
			wg.Wait()
			elapsed := time.Since(t0)
			b.StopTimer()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			// Let the server see the resets before measuring what it spent.
			if err := srv.waitCount(0); err != nil {
				b.Fatal(err)
			}
			after, err := srv.stats()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "upgrades/s")
			report(b, before, after, b.N, "upgrade")
		})
		if srv != nil {
			if err := srv.stop(); err != nil {
				b.Error(err)
			}
		}
	}
}
