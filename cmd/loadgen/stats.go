package main

import (
	"context"
	"errors"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	ws "github.com/wsloop/wsloop/api"
)

// stats are the counters of a run, updated from every loop.
type stats struct {
	sent, received         atomic.Int64 // messages
	bytesSent, bytesRecv   atomic.Int64 // payload bytes
	corrupted              atomic.Int64
	faults                 [numFaults]atomic.Int64
	duplicated, reordered  atomic.Int64
	lost                   atomic.Int64 // never received intact on a connection that stayed up
	droppedWithConn        atomic.Int64 // in flight on a connection that was lost
	connOpened, connFailed atomic.Int64
	connLost, connClosed   atomic.Int64
	reconnects             atomic.Int64
	upgrades               atomic.Int64 // handshakes completed (handshake mode, soak churn)
	sendErrors             atomic.Int64

	errMu sync.Mutex
	errs  map[string]int64
}

// maxErrorKinds bounds the error table; further kinds count as "other".
const maxErrorKinds = 32

// addError counts one error of a kind.
func (s *stats) addError(kind string) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.errs == nil {
		s.errs = make(map[string]int64)
	}
	if _, ok := s.errs[kind]; !ok && len(s.errs) >= maxErrorKinds {
		kind = "other"
	}
	s.errs[kind]++
}

func (s *stats) errorTable() map[string]int64 {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	m := make(map[string]int64, len(s.errs))
	for k, v := range s.errs {
		m[k] = v
	}
	return m
}

func (s *stats) errorCount() int64 {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	var n int64
	for _, v := range s.errs {
		n += v
	}
	return n
}

// addFault counts a payload that failed its check.
func (s *stats) addFault(f fault) {
	s.corrupted.Add(1)
	s.faults[f].Add(1)
}

func (s *stats) faultTable() map[string]int64 {
	m := map[string]int64{}
	for f := fault(1); f < numFaults; f++ {
		if n := s.faults[f].Load(); n > 0 {
			m[f.String()] = n
		}
	}
	return m
}

// errorKind names an error by what it is, without the addresses and ports that would make every
// occurrence a kind of its own.
func errorKind(err error) string {
	var errno syscall.Errno
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "address not available (ephemeral ports exhausted?)"
	case errors.Is(err, syscall.EADDRINUSE):
		return "address in use (ephemeral ports exhausted?)"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, ws.ErrClosed):
		return "closed before sent"
	case errors.Is(err, ws.ErrNotOpen):
		return "send on a connection not open"
	case errors.As(err, &errno):
		return errno.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	// The innermost error: net.OpError and friends wrap the text that matters with addresses.
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:80]
	}
	return msg
}

// closeKind names an unexpected close by its code.
func closeKind(code int) string {
	switch code {
	case 1000:
		return "closed by the server (1000)"
	case 1001:
		return "closed by the server: going away (1001)"
	case 1006:
		return "connection lost without a close frame (1006)"
	default:
		return "closed by the server (" + strconv.Itoa(code) + ")"
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys
}
