package poller

import (
	"io"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An EarlySession is a Session that can take, on the accepting goroutine, the bytes its socket had
// received when it was accepted, before it goes to its loop: a server can answer an upgrade
// request there, without waiting for the loop. OnAccepted must keep what it does not consume
// (in is the accept loop's buffer), and may write to w, the socket, which does not block: a write
// may take only part of what it is given.
type EarlySession interface {
	Session
	// AnswersOnAccept reports whether the session takes the bytes at all: otherwise the loop
	// reads them, from the kernel.
	AnswersOnAccept() bool
	OnAccepted(in []byte, w io.Writer)
}

// earlyRead is the most an accept loop reads from a socket it accepted: an upgrade request's head
// is a few hundred bytes.
const earlyRead = 4 << 10

// offerEarly reads what fc's socket, fd, has received, without waiting, and gives it to es, its
// session.
func (ra *rawAccept) offerEarly(fc *fdConn, es EarlySession, fd int) {
	// recvfrom, not read: the kernel's count of read calls (/proc/PID/io's syscr, the benchmarks'
	// srv-reads) then shows how many requests the loops still read.
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&ra.early[0])), earlyRead,
		unix.MSG_DONTWAIT, 0, 0)
	if e != 0 || n == 0 {
		return // nothing yet (EAGAIN), or the peer left: the loop will see it
	}
	fc.socket = socketWriter{fd}
	es.OnAccepted(ra.early[:n], &fc.socket)
}

// socketWriter writes to a non-blocking socket; it is part of the socket's fdConn, so that giving
// it as an io.Writer allocates nothing.
type socketWriter struct{ fd int }

// Write writes what the socket takes of p at once.
func (w *socketWriter) Write(p []byte) (int, error) {
	n, err := unix.Write(w.fd, p)
	return max(n, 0), err
}

// deferAccepting sets TCP_DEFER_ACCEPT on ln, a plain TCP listener, and reports whether it did.
func deferAccepting(ln net.Listener) bool {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return false
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAcceptSeconds)
	}); err != nil {
		return false
	}
	return serr == nil
}

// deferAcceptSeconds is the listening socket's TCP_DEFER_ACCEPT under ServeOptions.DeferAccept:
// the kernel turns it into one SYN-ACK retransmission, after which a silent peer is handed over.
const deferAcceptSeconds = 1
