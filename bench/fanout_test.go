package bench

// BenchmarkFanout measures what a push service buys a library for: one core of server (the child
// runs with GOMAXPROCS=1) broadcasting bursts of small messages to many subscribers, each
// library through its own broadcast API (gorilla PreparedMessage, gobwas CompileFrame, gws
// Broadcaster, wsloop Broadcast), beside the limit row (limit_test.go). The subscribers are read
// by one goroutine of the parent on an epoll set of its own, which only parses and checks
// frames, so that the client costs little next to the server and every row is the server's.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The burst: fanoutMessages messages of fanoutSize bytes, broadcast one after the other.
const (
	fanoutMessages = 200
	fanoutSize     = 128
)

// fanoutPeers are the rows of the fan-out tables: the libraries and the limit.
var fanoutPeers = append(append([]string(nil), peers...), "gnet")

func BenchmarkFanout(b *testing.B) {
	for _, conns := range []int{1000, 10000} {
		for _, name := range fanoutPeers {
			var env *e2eEnv
			var rd *fanoutReader
			b.Run(fmt.Sprintf("conns=%d/peer=%s", conns, name), func(b *testing.B) {
				if env == nil {
					env = setupEnvWith(b, name, conns, "GOMAXPROCS=1")
					var err error
					if rd, err = newFanoutReader(env.clients, payloadOf(fanoutSize)); err != nil {
						b.Fatal(err)
					}
				}
				runFanout(b, env, rd)
			})
			if env != nil {
				rd.stop()
				if err := env.close(); err != nil {
					b.Error(err)
				}
			}
		}
	}
}

func runFanout(b *testing.B, env *e2eEnv, rd *fanoutReader) {
	n := int64(len(env.clients)) * fanoutMessages
	before, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	cmd := "burst " + strconv.Itoa(fanoutMessages) + " " + strconv.Itoa(fanoutSize)
	b.SetBytes(n * fanoutSize)
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		target := rd.delivered.Load() + n
		if _, err := env.srv.call(cmd); err != nil {
			b.Fatal(err)
		}
		if err := rd.waitFor(target, callTimeout); err != nil {
			b.Fatalf("%s: %v", env.srv.name, err)
		}
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	after, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "deliveries/s")
	report(b, before, after, int(n)*b.N, "delivery")
}

// fanoutReader reads every subscriber on one epoll set and checks each frame: binary, whole, the
// expected payload, in a stream that stays frame-aligned.
type fanoutReader struct {
	epfd      int
	subs      map[int32]*fanoutSub // by descriptor
	want      []byte
	delivered atomic.Int64
	bad       atomic.Pointer[error]
	quit      atomic.Bool
	done      chan struct{}
}

// fanoutSub is one subscriber's partial frame, carried from one read to the next.
type fanoutSub struct{ partial []byte }

func newFanoutReader(clients []*rawClient, want []byte) (*fanoutReader, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	r := &fanoutReader{epfd: epfd, subs: make(map[int32]*fanoutSub, len(clients)), want: want, done: make(chan struct{})}
	for _, c := range clients {
		fd, err := connFD(c.nc)
		if err == nil {
			err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
		}
		if err != nil {
			unix.Close(epfd)
			return nil, err
		}
		r.subs[int32(fd)] = &fanoutSub{}
	}
	go r.run()
	return r, nil
}

// connFD returns nc's descriptor; nc keeps owning it (the reader only reads it, non-blocking).
func connFD(nc net.Conn) (int, error) {
	rc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd int
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return 0, err
	}
	return fd, nil
}

func (r *fanoutReader) run() {
	defer close(r.done)
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 256<<10)
	for !r.quit.Load() {
		n, err := unix.EpollWait(r.epfd, events, 50)
		if err != nil && !errors.Is(err, unix.EINTR) {
			r.fail(err)
			return
		}
		for _, ev := range events[:max(n, 0)] {
			s := r.subs[ev.Fd]
			for {
				m, err := unix.Read(int(ev.Fd), buf)
				if m <= 0 || err != nil {
					break // EAGAIN: drained; an end or error shows at the next burst as a shortfall
				}
				r.consume(s, buf[:m])
				if m < len(buf) {
					break
				}
			}
		}
	}
}

// consume parses the frames in p behind s's partial one.
func (r *fanoutReader) consume(s *fanoutSub, p []byte) {
	if len(s.partial) > 0 {
		s.partial = append(s.partial, p...)
		p = s.partial
	}
	delivered := int64(0)
	for {
		size, ok := r.frame(p)
		if !ok {
			break
		}
		p = p[size:]
		delivered++
	}
	r.delivered.Add(delivered)
	s.partial = append(s.partial[:0], p...)
}

// frame checks the frame at the start of p and returns its size, or false if it has not all
// arrived.
func (r *fanoutReader) frame(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, false
	}
	hdr, length := 2, int(p[1]&0x7f)
	if length == 126 {
		if len(p) < 4 {
			return 0, false
		}
		hdr, length = 4, int(p[2])<<8|int(p[3])
	}
	if len(p) < hdr+length {
		return 0, false
	}
	if p[0] != 0x80|opBinary || p[1]&0x80 != 0 || !bytes.Equal(p[hdr:hdr+length], r.want) {
		r.fail(fmt.Errorf("fan-out: a frame with header % x and %d payload bytes, want an unmasked binary frame of the %d-byte message", p[:hdr], length, len(r.want)))
	}
	return hdr + length, true
}

func (r *fanoutReader) fail(err error) { r.bad.CompareAndSwap(nil, &err) }

// waitFor waits until target frames in all were delivered, or a check failed, or timeout passed.
func (r *fanoutReader) waitFor(target int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.delivered.Load() < target {
		if p := r.bad.Load(); p != nil {
			return *p
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the burst's deliveries missing after %v", target-r.delivered.Load(), timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
	if p := r.bad.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *fanoutReader) stop() {
	r.quit.Store(true)
	<-r.done
	unix.Close(r.epfd)
}
