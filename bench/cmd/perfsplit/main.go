// Command perfsplit splits a server's CPU time per message, from a system-wide `perf record -g`
// of a benchmark, into where it goes: the write, read and epoll_wait system calls (the kernel's
// time in them), the scheduler, and the user code of the readable event (gnet's processIO and
// all it calls), with the top functions of that user code. Go's own CPU profile cannot tell
// these apart: its SIGPROF lands on the user instruction after a system call, so it charges
// the kernel's time to Syscall6 and shows little of the code around it.
//
//	cd bench && go test -c -o /tmp/bench.test .
//	perf record -F 999 -e cpu-clock -a -g -o /tmp/echo.perf -- \
//	    /tmp/bench.test -test.run '^$' -test.bench 'BenchmarkEcho/conns=1000/peer=wsloop$' -test.benchtime 400000x
//	perf script -F comm,pid,tid,cpu,time,event,ip,sym,dso -i /tmp/echo.perf | go run ./cmd/perfsplit -msgs 400000 -hz 999
//
// The fields must include pid and tid: perf script's default header names the thread only.
//
// The server is the process with the most samples in gnet's processIO (the benchmark's client
// is not on gnet); -pid names another. Every figure is samples × (1 s / hz) ÷ msgs.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// sample is one stack of perf script's output: its process, whether it was in the kernel, and
// its frames' symbols, innermost first.
type sample struct {
	pid    int
	kernel bool
	frames []string
}

func main() {
	msgs := flag.Int("msgs", 0, "messages the benchmark ran (its -test.benchtime Nx)")
	hz := flag.Float64("hz", 999, "perf record's sampling frequency (-F)")
	pid := flag.Int("pid", 0, "the server's process ID (default: the one with most samples in processIO)")
	top := flag.Int("top", 15, "user functions of the readable event to list")
	flag.Parse()
	if *msgs <= 0 {
		fmt.Fprintln(os.Stderr, "perfsplit: -msgs is required")
		os.Exit(2)
	}
	samples, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfsplit:", err)
		os.Exit(1)
	}
	if *pid == 0 {
		*pid = server(samples)
	}
	report(os.Stdout, samples, *pid, 1e9 / *hz / float64(*msgs), *top)
}

// errNoPID is the error of a perf script output whose headers name threads, not processes.
var errNoPID = errors.New("perf script's headers have no pid/tid: run it with -F comm,pid,tid,cpu,time,event,ip,sym,dso")

// parse reads perf script's output: a header line per sample ("comm pid/tid [cpu] time:
// event:"), then one frame a line ("addr symbol[+off] (dso)"), then a blank line.
func parse(r io.Reader) ([]sample, error) {
	var out []sample
	var cur *sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			cur = nil
		case cur == nil:
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			id, _, ok := strings.Cut(f[1], "/")
			if !ok {
				return nil, errNoPID
			}
			p, err := strconv.Atoi(id)
			if err != nil {
				continue
			}
			out = append(out, sample{pid: p})
			cur = &out[len(out)-1]
		default:
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			sym, _, _ := strings.Cut(f[1], "+")
			if len(cur.frames) == 0 {
				cur.kernel = strings.Contains(line, "kernel.kallsyms")
			}
			cur.frames = append(cur.frames, sym)
		}
	}
	return out, sc.Err()
}

// server returns the process with the most samples in gnet's processIO.
func server(samples []sample) int {
	n := map[int]int{}
	for _, s := range samples {
		if s.has("processIO") {
			n[s.pid]++
		}
	}
	best := 0
	for p, c := range n {
		if c > n[best] {
			best = p
		}
	}
	return best
}

// has reports whether a frame of s contains part.
func (s *sample) has(part string) bool {
	for _, f := range s.frames {
		if strings.Contains(f, part) {
			return true
		}
	}
	return false
}

// category says where s's time goes.
func (s *sample) category() string {
	switch {
	case s.has("unix.EpollWait"):
		return "epoll_wait"
	case s.has("unix.write") || s.has("unix.Write"):
		return side(s.kernel, "write")
	case s.has("unix.read") || s.has("unix.Read"):
		return side(s.kernel, "read")
	case s.has("processIO"):
		return side(s.kernel, "rest of the readable event")
	case s.has("runtime.schedule") || s.has("runtime.findRunnable") || s.has("runtime.sysmon") || s.has("runtime.mstart"):
		return "scheduler"
	case s.has("runtime.gcBgMarkWorker") || s.has("runtime.bgsweep") || s.has("runtime.bgscavenge"):
		return "garbage collector"
	}
	return side(s.kernel, "other")
}

func side(kernel bool, what string) string {
	if kernel {
		return what + ", kernel"
	}
	return what + ", user"
}

func report(w io.Writer, samples []sample, pid int, nsPer float64, top int) {
	byCat, byFunc := map[string]int{}, map[string]int{}
	total, user, own := 0, 0, 0
	for i := range samples {
		s := &samples[i]
		if s.pid != pid {
			continue
		}
		total++
		byCat[s.category()]++
		if !s.kernel && s.has("processIO") && len(s.frames) > 0 {
			user++
			byFunc[s.frames[0]]++
			if strings.Contains(s.frames[0], "wsloop/wsloop/") || strings.HasPrefix(s.frames[0], "sync.") {
				own++
			}
		}
	}
	fmt.Fprintf(w, "server pid %d: %.0f ns per message in all\n\n", pid, float64(total)*nsPer)
	for _, kv := range sorted(byCat) {
		fmt.Fprintf(w, "%7.0f ns  %s\n", float64(kv.n)*nsPer, kv.k)
	}
	fmt.Fprintf(w, "\nuser code of the readable event: %.0f ns, of which wsloop's and sync's own %.0f ns\n\n", float64(user)*nsPer, float64(own)*nsPer)
	for i, kv := range sorted(byFunc) {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%7.0f ns  %s\n", float64(kv.n)*nsPer, kv.k)
	}
}

type count struct {
	k string
	n int
}

// sorted returns m's entries, largest first.
func sorted(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, n := range m {
		out = append(out, count{k, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || out[i].n == out[j].n && out[i].k < out[j].k })
	return out
}
