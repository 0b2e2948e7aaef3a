package poller

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scriptedListener is a net.Listener whose Accept returns the results queued in next, in order,
// then blocks until Close, and then returns net.ErrClosed.
type scriptedListener struct {
	next   chan acceptResult
	closed chan struct{}
	once   sync.Once
}

type acceptResult struct {
	nc  net.Conn
	err error
}

func newScriptedListener(results ...acceptResult) *scriptedListener {
	l := &scriptedListener{next: make(chan acceptResult, len(results)), closed: make(chan struct{})}
	for _, r := range results {
		l.next <- r
	}
	return l
}

func (l *scriptedListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.next:
		return r.nc, r.err
	default:
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *scriptedListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *scriptedListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// acceptReport is one call of OnAcceptError.
type acceptReport struct {
	err     error
	backoff time.Duration
}

// recordAccepts returns an OnAcceptError that sends each call to the returned channel.
func recordAccepts() (func(error, time.Duration), chan acceptReport) {
	ch := make(chan acceptReport, 8)
	return func(err error, backoff time.Duration) { ch <- acceptReport{err, backoff} }, ch
}

func nextReport(t *testing.T, ch chan acceptReport) acceptReport {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no OnAcceptError call within 5 s")
		return acceptReport{}
	}
}

// Each failed accept reaches OnAcceptError with its error and the pause that follows it, which
// doubles from 5 ms; once the listener is closed, nothing more is reported.
func TestAcceptErrorsReportedWithBackoff(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	enfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.ENFILE}
	ln := newScriptedListener(acceptResult{err: emfile}, acceptResult{err: emfile}, acceptResult{err: enfile})
	onErr, reports := recordAccepts()
	l := (&Poller{}).Serve(ln, nil, ServeOptions{OnAcceptError: onErr})
	for i, want := range []struct {
		errno   syscall.Errno
		backoff time.Duration
	}{{syscall.EMFILE, 5 * time.Millisecond}, {syscall.EMFILE, 10 * time.Millisecond}, {syscall.ENFILE, 20 * time.Millisecond}} {
		r := nextReport(t, reports)
		if !errors.Is(r.err, want.errno) || r.backoff != want.backoff {
			t.Fatalf("report %d: (%v, %v), want (%v, %v)", i, r.err, r.backoff, want.errno, want.backoff)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reports:
		t.Fatalf("report after the listener closed: %+v", r)
	default:
	}
}

// A connection accepted past the connection cap is closed at once and reported as ErrConnCap
// with no pause; its session is never made.
func TestConnCapReported(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	ln := newScriptedListener(acceptResult{nc: server})
	onErr, reports := recordAccepts()
	newSession := func(net.Conn) Session {
		t.Error("a session was made past the cap")
		return nil
	}
	l := (&Poller{}).listener(ln, newSession, ServeOptions{OnAcceptError: onErr})
	l.maxConn = 0
	go l.run()
	defer l.Close()
	if r := nextReport(t, reports); r.err != ErrConnCap || r.backoff != 0 {
		t.Fatalf("report (%v, %v), want (ErrConnCap, 0)", r.err, r.backoff)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read from the refused connection: %v, want EOF", err)
	}
}
