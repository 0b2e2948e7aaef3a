package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistogramBuckets: every value lies within the bounds of its bucket, buckets are in order of
// value, and no bucket is wider than 1/128 of its lowest value.
func TestHistogramBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v uint64) {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("value %d: bucket %d out of range", v, i)
		}
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, lo, hi)
		}
		if lo >= 2*histSub && hi-lo+1 > lo/histSub {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d", i, lo, hi, histSub)
		}
	}
	for v := range uint64(5000) {
		check(v)
	}
	for range 100000 {
		check(rng.Uint64N(histMax + 1))
		check(uint64(1) << rng.UintN(histMaxBits))
	}
	check(histMax)
	prevHi := uint64(0)
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, the previous ended at %d", i, lo, prevHi)
		}
		prevHi = hi
	}
	if prevHi != histMax {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, uint64(histMax))
	}
}

// TestHistogramPercentiles compares the percentiles with those of the sorted samples (nearest
// rank) on random data of several shapes: each must be within the resolution of its bucket.
func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := map[string]func() int64{
		"uniform 0-1000ns":  func() int64 { return rng.Int64N(1000) },
		"uniform 0-10ms":    func() int64 { return rng.Int64N(10_000_000) },
		"exponential 200us": func() int64 { return int64(rng.ExpFloat64() * 200_000) },
		"lognormal":         func() int64 { return int64(math.Exp(rng.NormFloat64()*2 + 12)) },
		"bimodal with tail": func() int64 {
			switch r := rng.Float64(); {
			case r < 0.6:
				return 20_000 + rng.Int64N(5_000)
			case r < 0.999:
				return 1_000_000 + rng.Int64N(500_000)
			default:
				return 2_000_000_000 + rng.Int64N(1_000_000_000)
			}
		},
	}
	for name, gen := range shapes {
		for _, n := range []int{1, 7, 1000, 200_000} {
			var h Histogram
			ref := make([]int64, n)
			for i := range ref {
				ref[i] = gen()
				h.Record(ref[i])
			}
			slices.Sort(ref)
			s := h.Snapshot()
			if s.Count != uint64(n) || s.Max != uint64(ref[n-1]) || s.Min != uint64(ref[0]) {
				t.Fatalf("%s n=%d: count %d max %d min %d, want %d %d %d", name, n, s.Count, s.Max, s.Min, n, ref[n-1], ref[0])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				want := ref[max(0, int(math.Ceil(q*float64(n)))-1)]
				got := int64(s.Percentile(q))
				tol := float64(want)/histSub + 1
				if math.Abs(float64(got-want)) > tol {
					t.Errorf("%s n=%d: p%v = %d, sorted reference %d (tolerance %.0f)", name, n, q*100, got, want, tol)
				}
			}
			var sum float64
			for _, v := range ref {
				sum += float64(v)
			}
			if mean := sum / float64(n); math.Abs(s.Mean()-mean) > mean*1e-9+1e-9 {
				t.Errorf("%s n=%d: mean %f, want %f", name, n, s.Mean(), mean)
			}
		}
	}
}

// TestHistogramEdges: an empty histogram, negative values, values past the range, intervals.
func TestHistogramEdges(t *testing.T) {
	var h Histogram
	if p := h.Snapshot().Percentile(0.99); p != 0 {
		t.Fatalf("empty: p99 %d", p)
	}
	h.Record(-5)
	h.Record(1 << 50)
	s := h.Snapshot()
	if s.Min != 0 || s.Max != 1<<50 || s.Percentile(0.5) != 0 || s.Percentile(1) != 1<<50 {
		t.Fatalf("min %d max %d p50 %d p100 %d", s.Min, s.Max, s.Percentile(0.5), s.Percentile(1))
	}
	if m := h.TakeIntervalMax(); m != 1<<50 {
		t.Fatalf("interval max %d", m)
	}
	for v := int64(1000); v < 2000; v++ {
		h.Record(v)
	}
	iv := h.Snapshot().Since(s, h.TakeIntervalMax())
	if iv.Count != 1000 || iv.Max != 1999 {
		t.Fatalf("interval: count %d max %d", iv.Count, iv.Max)
	}
	if p := iv.Percentile(0.5); p < 1496 || p > 1504 {
		t.Fatalf("interval p50 %d, want about 1499", p)
	}
}

// TestHistogramRecordAllocates: recording costs no allocation.
func TestHistogramRecordAllocates(t *testing.T) {
	var h Histogram
	v := int64(1)
	if n := testing.AllocsPerRun(10000, func() {
		h.Record(v)
		v = (v*7 + 13) & (1<<35 - 1)
	}); n != 0 {
		t.Fatalf("Record allocates %v times per call", n)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := int64(12345)
		for pb.Next() {
			h.Record(v)
			v = (v*31 + 7) & (1<<30 - 1)
		}
	})
}
