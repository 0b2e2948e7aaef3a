package main

import (
	"bytes"
	"strings"
	"testing"
)

// Three samples of a server (pid 7) and one of its client (pid 9), as perf script prints them:
// the kernel in a write, the server's own code in the readable event, and the scheduler.
const script = `bench.test 7/8 [000] 1.000: 1001001 cpu-clock:
	ffffffff81e7b2d5 tcp_sendmsg_locked+0x5 ([kernel.kallsyms])
	            b7ce internal/runtime/syscall/linux.Syscall6+0xe (/tmp/bench.test)
	          37633e golang.org/x/sys/unix.write+0x3e (/tmp/bench.test)
	          3bc2ba github.com/panjf2000/gnet/v2.(*conn).processIO+0x9a (/tmp/bench.test)

bench.test 7/8 [000] 1.001: 1001001 cpu-clock:
	          3fbefe github.com/wsloop/wsloop/poller.(*Poller).OnTraffic+0x3e (/tmp/bench.test)
	          3bc2ba github.com/panjf2000/gnet/v2.(*conn).processIO+0x9a (/tmp/bench.test)

bench.test 7/10 [001] 1.002: 1001001 cpu-clock:
	          4130c0 runtime.findRunnable+0x10 (/tmp/bench.test)
	          4130d0 runtime.schedule+0x10 (/tmp/bench.test)

bench.test 9/9 [001] 1.003: 1001001 cpu-clock:
	          5130c0 main.client+0x10 (/tmp/bench.test)
`

func TestSplitsTheServersTimePerMessage(t *testing.T) {
	samples, err := parse(strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 4 || !samples[0].kernel || samples[1].kernel {
		t.Fatalf("parsed %d samples (kernel: %v, %v), want 4, the first in the kernel", len(samples), samples[0].kernel, samples[1].kernel)
	}
	pid := server(samples)
	if pid != 7 {
		t.Fatalf("server %d, want 7: the process in processIO", pid)
	}
	var out bytes.Buffer
	report(&out, samples, pid, 1000, 5) // 1 µs a sample
	for _, want := range []string{
		"3000 ns per message in all",
		"   1000 ns  write, kernel",
		"   1000 ns  rest of the readable event, user",
		"   1000 ns  scheduler",
		"user code of the readable event: 1000 ns, of which wsloop's and sync's own 1000 ns",
		"   1000 ns  github.com/wsloop/wsloop/poller.(*Poller).OnTraffic",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "main.client") {
		t.Errorf("the client's sample counted as the server's:\n%s", out.String())
	}
}

// perf script's default output names the thread in each header, not the process: splitting it
// would give one thread's share, so it is refused.
func TestRefusesHeadersWithoutProcess(t *testing.T) {
	_, err := parse(strings.NewReader("bench.test 8 [000] 1.000: 1001001 cpu-clock:\n\t3fbefe main.f+0x3e (/tmp/bench.test)\n"))
	if err != errNoPID {
		t.Fatalf("parse gave %v, want errNoPID", err)
	}
}
