package main

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// The histogram is log-linear, like HdrHistogram: values below histSub have a bucket each; above,
// every power of two is split into histSub/2 buckets of equal width, so a bucket is never wider
// than 1/128 of the values it holds. Values are nanoseconds; the range ends at 2^histMaxBits-1
// (about 18 minutes), and larger values count in the last bucket (max keeps the true value).
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histMaxBits = 40
	histMax     = 1<<histMaxBits - 1
	histBuckets = (histMaxBits-histSubBits)*histSub + histSub
)

// Histogram counts latencies. Record is safe from any goroutine and allocates nothing: a bucket
// index is a few shifts and each counter an atomic add.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
	min    atomic.Uint64 // value+1, so that zero means no sample
	imax   atomic.Uint64 // max since the last TakeIntervalMax
}

// histIndex returns the bucket of v (at most histMax).
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return shift*histSub + int(v>>shift)
}

// histBounds returns the lowest and highest value of bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i)
	}
	shift := i/histSub - 1
	top := uint64(i - shift*histSub)
	lo = top << shift
	return lo, lo + 1<<shift - 1
}

// Record counts one value, in nanoseconds; negative values count as zero.
func (h *Histogram) Record(ns int64) {
	v := uint64(0)
	if ns > 0 {
		v = uint64(ns)
	}
	h.counts[histIndex(min(v, histMax))].Add(1)
	h.sum.Add(v)
	atomicMax(&h.max, v)
	atomicMax(&h.imax, v)
	for {
		m := h.min.Load()
		if m != 0 && m <= v+1 || h.min.CompareAndSwap(m, v+1) {
			return
		}
	}
}

func atomicMax(a *atomic.Uint64, v uint64) {
	for {
		m := a.Load()
		if m >= v || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// TakeIntervalMax returns the largest value recorded since the previous call and starts over.
func (h *Histogram) TakeIntervalMax() uint64 { return h.imax.Swap(0) }

// Snapshot is a copy of a histogram's counts at one moment.
type Snapshot struct {
	Counts []uint64
	Count  uint64
	Sum    uint64
	Min    uint64
	Max    uint64
}

// Snapshot copies the counts. Samples recorded meanwhile may or may not be in it.
func (h *Histogram) Snapshot() *Snapshot {
	s := &Snapshot{Counts: make([]uint64, histBuckets), Sum: h.sum.Load(), Max: h.max.Load()}
	if m := h.min.Load(); m > 0 {
		s.Min = m - 1
	}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Counts[i] = c
		s.Count += c
	}
	return s
}

// Since returns the samples of s that are not in the earlier snapshot prev, with max the largest
// value of that interval (from TakeIntervalMax) and no minimum.
func (s *Snapshot) Since(prev *Snapshot, max uint64) *Snapshot {
	d := &Snapshot{Counts: make([]uint64, histBuckets), Sum: s.Sum - prev.Sum, Max: max}
	for i := range s.Counts {
		d.Counts[i] = s.Counts[i] - prev.Counts[i]
		d.Count += d.Counts[i]
	}
	return d
}

// Percentile returns the value at quantile q (0 < q <= 1) by nearest rank: the smallest value
// with at least q of the samples at or below it, as the middle of its bucket, within the
// recorded minimum and maximum. It is 0 for an empty histogram.
func (s *Snapshot) Percentile(q float64) uint64 {
	if s.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.Count)))
	rank = max(1, min(rank, s.Count))
	if rank == s.Count && s.Max > 0 {
		return s.Max
	}
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(i)
			v := lo + (hi-lo)/2
			if s.Max > 0 {
				v = min(v, s.Max)
			}
			return max(v, s.Min)
		}
	}
	return s.Max
}

// Mean returns the average value, 0 for an empty histogram.
func (s *Snapshot) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.Count)
}
