package bench

// The end-to-end servers run in a child process: the test binary re-executed with childEnv
// naming the library. That keeps the descriptors apart (a process may open 20,000 files here, and
// 10,000 clients plus 10,000 server connections would not fit in one), keeps the client's
// garbage out of the server's heap, and lets the child report its own CPU time and allocations.
//
// The child prints "addr HOST:PORT" once listening, then answers one line per command read on
// its standard input:
//
//	count        the number of upgraded connections it holds
//	stats        "MALLOCS BYTES CPU_NS READS WRITES": runtime.MemStats.Mallocs and TotalAlloc, user+system
//	             CPU, and the read and write system calls made (/proc/self/io syscr and syscw)
//	bcast SIZE   broadcasts a SIZE-byte binary message to every connection, answers "ok"
//	burst N SIZE broadcasts a SIZE-byte binary message N times in a row, answers "ok"
//	burstjson N SIZE    the same with a JSON push payload of about SIZE bytes (jsonPayloadOf)
//
// and exits when its standard input closes. With WSLOOP_BENCH_CPUPROFILE=DIR set, each child
// writes a CPU profile of its whole life to DIR/NAME-PID.pprof, and with
// WSLOOP_BENCH_MEMPROFILE=DIR an allocation profile of every allocation to DIR/NAME-PID.mem.pprof
// (go tool pprof -sample_index=alloc_objects reads them).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const childEnv = "WSLOOP_BENCH_SERVER"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

func runChild(name string) int {
	s := newServer(name)
	if s == nil {
		fmt.Fprintf(os.Stderr, "unknown server %q\n", name)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if dir := os.Getenv("WSLOOP_BENCH_CPUPROFILE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid())))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	if dir := os.Getenv("WSLOOP_BENCH_MEMPROFILE"); dir != "" {
		runtime.MemProfileRate = 1
		defer func() {
			if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.mem.pprof", name, os.Getpid()))); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "addr %s\n", ln.Addr())
	out.Flush()
	msgs := map[int][]byte{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "count":
			fmt.Fprintln(out, s.count())
		case "stats":
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			cpu := ru.Utime.Nano() + ru.Stime.Nano()
			reads, writes := syscallCounts()
			fmt.Fprintf(out, "%d %d %d %d %d\n", ms.Mallocs, ms.TotalAlloc, cpu, reads, writes)
		case "bcast":
			size, _ := strconv.Atoi(f[1])
			msg := msgs[size]
			if msg == nil {
				msg = payloadOf(size)
				msgs[size] = msg
			}
			s.broadcast(msg)
			fmt.Fprintln(out, "ok")
		case "burst", "burstjson":
			n, _ := strconv.Atoi(f[1])
			size, _ := strconv.Atoi(f[2])
			of, key := payloadOf, size
			if f[0] == "burstjson" {
				of, key = jsonPayloadOf, -size
			}
			msg := msgs[key]
			if msg == nil {
				msg = of(size)
				msgs[key] = msg
			}
			burst(s, msg, n)
			fmt.Fprintln(out, "ok")
		default:
			fmt.Fprintf(out, "unknown command %q\n", f[0])
		}
		out.Flush()
	}
	return 0
}

// child is the parent's handle on a server process.
type child struct {
	name   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string
	addr   string
	stderr *capped
	waited chan error
}

// capped keeps the first 64 KiB written to it (the child's standard error).
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := 64<<10 - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// callTimeout bounds every exchange with the child.
const callTimeout = 60 * time.Second

// startChild starts name's server in a child process, with env added to its environment
// (GOMAXPROCS=1, say).
func startChild(name string, env ...string) (*child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, in: in, lines: make(chan string, 16), stderr: &capped{}, waited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() { c.waited <- cmd.Wait() }()
	line, err := c.read()
	if err != nil {
		c.stop()
		return nil, err
	}
	addr, ok := strings.CutPrefix(line, "addr ")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("%s server: unexpected first line %q", name, line)
	}
	c.addr = addr
	return c, nil
}

func (c *child) read() (string, error) {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("%s server exited; its stderr:\n%s", c.name, c.stderr)
		}
		return line, nil
	case <-time.After(callTimeout):
		return "", fmt.Errorf("%s server: no answer within %v", c.name, callTimeout)
	}
}

// call sends one command and returns the answer line.
func (c *child) call(cmd string) (string, error) {
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return "", fmt.Errorf("%s server: %w", c.name, err)
	}
	return c.read()
}

// syscallCounts returns how many read and write system calls the process made (the read and
// write families: readv, writev and the socket calls count too), 0 where /proc does not say.
func syscallCounts() (reads, writes int64) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(value, 10, 64)
		switch name {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// serverStats is what the child reports of itself.
type serverStats struct{ mallocs, bytes, cpuNS, reads, writes int64 }

func (c *child) stats() (serverStats, error) {
	line, err := c.call("stats")
	if err != nil {
		return serverStats{}, err
	}
	var s serverStats
	if _, err := fmt.Sscan(line, &s.mallocs, &s.bytes, &s.cpuNS, &s.reads, &s.writes); err != nil {
		return serverStats{}, fmt.Errorf("%s server: stats %q: %w", c.name, line, err)
	}
	return s, nil
}

// waitCount waits until the server holds n connections.
func (c *child) waitCount(n int) error {
	deadline := time.Now().Add(callTimeout)
	for {
		line, err := c.call("count")
		if err != nil {
			return err
		}
		got, _ := strconv.Atoi(line)
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s server holds %d connections, want %d", c.name, got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop closes the child's input and waits for it to exit, killing it after 10 s.
func (c *child) stop() error {
	c.in.Close()
	select {
	case err := <-c.waited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s server: %v; its stderr:\n%s", c.name, err, c.stderr)
		}
		return err
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.waited
		return fmt.Errorf("%s server did not exit within 10 s of its input closing; killed", c.name)
	}
}

// report adds the server's cost per unit of work as metrics: CPU nanoseconds, allocations and
// bytes allocated, and read and write system calls per message (or delivery).
func report(b *testing.B, before, after serverStats, units int, unit string) {
	if units <= 0 {
		return
	}
	n := float64(units)
	b.ReportMetric(float64(after.cpuNS-before.cpuNS)/n, "srv-cpu-ns/"+unit)
	b.ReportMetric(float64(after.mallocs-before.mallocs)/n, "srv-allocs/"+unit)
	b.ReportMetric(float64(after.bytes-before.bytes)/n, "srv-B/"+unit)
	b.ReportMetric(float64(after.reads-before.reads)/n, "srv-reads/"+unit)
	b.ReportMetric(float64(after.writes-before.writes)/n, "srv-writes/"+unit)
}
