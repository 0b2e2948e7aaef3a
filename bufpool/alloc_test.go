package bufpool_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/internal/wstest"
)

// calibrationCycles is how many 64-byte cycles come first: more than the 42,000 Puts after which
// bytebufferpool calibrates a pool to the sizes it saw and starts dropping bigger buffers.
const calibrationCycles = 50_000

// payload is what every cycle appends from.
var payload = make([]byte, 16<<10)

// cycle borrows one buffer per size, all at once, appends that many bytes to each, half through
// Append and half by a plain append to B as the engine's output does, and gives them back.
func cycle(bufs []*bufpool.Buffer, sizes []int) {
	for i, n := range sizes {
		bufs[i] = bufpool.Get()
		if i%2 == 0 {
			if err := bufpool.Append(bufs[i], payload[:n], bufpool.DefaultCap); err != nil {
				panic(err)
			}
		} else {
			bufs[i].B = append(bufs[i].B, payload[:n]...)
		}
	}
	for i, b := range bufs[:len(sizes)] {
		bufpool.Put(b)
		bufs[i] = nil
	}
}

// TestEverySizeStaysPooled: after a long phase of 64-byte buffers, lending one of 1 KiB or 16 KiB,
// then 64 B again, then several sizes at once allocates nothing once the buffers have grown.
func TestEverySizeStaysPooled(t *testing.T) {
	if wstest.RaceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	bufs := make([]*bufpool.Buffer, 3)
	for range calibrationCycles {
		cycle(bufs, []int{64})
	}
	for _, sizes := range [][]int{{1 << 10}, {16 << 10}, {64}, {64, 16 << 10, 1 << 10}, {64}} {
		// The first cycle, run before counting, may grow the buffers it lends.
		if got := testing.AllocsPerRun(100, func() { cycle(bufs, sizes) }); got != 0 {
			t.Errorf("cycle of %v bytes: %v allocs, want 0", sizes, got)
		}
	}
}

// BenchmarkGetAppendPut lends, fills and gives back buffers: one of 1 KiB, and a mix of 64 B,
// 16 KiB and 1 KiB lent at once, the second growing by a plain append.
func BenchmarkGetAppendPut(b *testing.B) {
	bufs := make([]*bufpool.Buffer, 3)
	for _, sizes := range [][]int{{1 << 10}, {64, 16 << 10, 1 << 10}} {
		name := make([]string, len(sizes))
		for i, n := range sizes {
			name[i] = strconv.Itoa(n)
		}
		b.Run(strings.Join(name, "+"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cycle(bufs, sizes)
			}
		})
	}
}
