package api

import (
	"runtime"
	"testing"

	"github.com/wsloop/wsloop/internal/wstest"
)

// calibrationPhase is how many 64-byte echoes come first: more than the 42,000 Puts after which
// bytebufferpool calibrates a pool to the sizes it saw and starts dropping bigger buffers, the
// behaviour that made a 1 KiB echo allocate again after a phase of small messages.
const calibrationPhase = 45_000

// maxAllocsPerEcho allows for the runtime's and the loop's background allocations (timers, the
// test framework) spread over a measurement; one allocation per echo would be 20 times more.
const maxAllocsPerEcho = 0.05

// TestAllocsPerEcho drives a real loop over loopback: after a long phase of 64-byte messages and a
// mix of every size, an echo through OnMessage and SendMessage costs no allocation at 64 B, 1 KiB
// and 16 KiB, with and without a send callback. The client writes prebuilt frames and reads into
// one buffer, so what is counted is the server's.
func TestAllocsPerEcho(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	for _, v := range []struct {
		name string
		cb   func(error)
	}{{"nocb", nil}, {"cb", ignoreSent}} {
		t.Run(v.name, func(t *testing.T) {
			p := dialEcho(t, v.cb)
			p.warm(t)
			const n = 2000
			perEcho := map[int]float64{}
			for _, size := range echoSizes {
				perEcho[size] = mallocsPer(n, func() { p.echoN(t, size, n) })
				t.Logf("%s: %.4f allocs per echo over %d echoes", sizeName(size), perEcho[size], n)
			}
			for _, size := range echoSizes {
				if perEcho[size] >= maxAllocsPerEcho {
					t.Errorf("%s: %.4f allocs per echo, want < %v", sizeName(size), perEcho[size], maxAllocsPerEcho)
				}
			}
		})
	}
}

// mallocsPer returns the heap allocations of the whole process while f runs, divided by n.
func mallocsPer(n int, f func()) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}
