// Package peerkit holds what the benchmark servers of bench (servers_test.go) and the peers' echo
// servers of cmd/peerecho share: a connection registry for the libraries that keep none, and the
// fan-out every broadcast goes through.
package peerkit

import (
	"runtime"
	"sync"
)

// Fanout calls write for every connection, spread over GOMAXPROCS goroutines, each taking a
// contiguous share. Every server broadcasts through it, so that goroutine-per-connection
// libraries, whose writes block, get the same parallelism as the ones that queue.
func Fanout[T any](conns []T, write func(T)) {
	if len(conns) == 0 {
		return
	}
	shards := min(runtime.GOMAXPROCS(0), len(conns))
	per := (len(conns) + shards - 1) / shards
	var wg sync.WaitGroup
	for i := 0; i < len(conns); i += per {
		part := conns[i:min(i+per, len(conns))]
		wg.Go(func() {
			for _, c := range part {
				write(c)
			}
		})
	}
	wg.Wait()
}

// Registry is the set of connections of a library that keeps none itself.
type Registry[T comparable] struct {
	mu sync.Mutex
	m  map[T]struct{}
}

// Add puts c in the set.
func (r *Registry[T]) Add(c T) {
	r.mu.Lock()
	if r.m == nil {
		r.m = make(map[T]struct{})
	}
	r.m[c] = struct{}{}
	r.mu.Unlock()
}

// Remove takes c out of the set.
func (r *Registry[T]) Remove(c T) {
	r.mu.Lock()
	delete(r.m, c)
	r.mu.Unlock()
}

// Count returns the size of the set.
func (r *Registry[T]) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// Snapshot returns the members of the set at one moment.
func (r *Registry[T]) Snapshot() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, 0, len(r.m))
	for c := range r.m {
		out = append(out, c)
	}
	return out
}
