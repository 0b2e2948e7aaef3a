package bench

// BenchmarkFanout measures what a push service buys a library for: one core of server (the child
// runs with GOMAXPROCS=1) broadcasting bursts of small messages to many subscribers, each
// library through its own broadcast API (gorilla PreparedMessage, gobwas CompileFrame, gws
// Broadcaster, wsloop Broadcast), beside the limit row (limit_test.go). The subscribers are read
// by one goroutine of the parent on an epoll set of its own, which only parses and checks
// frames, so that the client costs little next to the server and every row is the server's.

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
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

func BenchmarkFanout(b *testing.B) {
	for _, conns := range []int{1000, 10000} {
		for _, name := range withLimit {
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

// deflateOffer is what the subscribers of the "+deflate" servers offer: permessage-deflate
// without context takeover, so that a broadcast can be compressed once for all of them.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// BenchmarkFanoutDeflate: the same bursts, 200 messages of a JSON push payload (1 KiB and 10 KiB),
// to 1,000 subscribers, plain and with permessage-deflate, through each library's broadcast API
// with compression (gorilla and gws compress a prepared message once per broadcast, as wsloop).
// The reader inflates and checks every compressed frame; wire-ratio is the compressed payload's
// size over the message's.
func BenchmarkFanoutDeflate(b *testing.B) {
	for _, size := range []int{1 << 10, 10 << 10} {
		for _, name := range []string{"wsloop", "wsloop+deflate", "gws+deflate", "gorilla+deflate"} {
			var env *e2eEnv
			var rd *fanoutReader
			want := jsonPayloadOf(size)
			b.Run(fmt.Sprintf("size=%d/peer=%s", size, name), func(b *testing.B) {
				if env == nil {
					env = setupEnvWith(b, name, 1000, "GOMAXPROCS=1")
					var err error
					if rd, err = newFanoutReader(env.clients, want); err != nil {
						b.Fatal(err)
					}
					rd.compressed = strings.HasSuffix(name, "+deflate")
				}
				runBurst(b, env, rd, "burstjson "+strconv.Itoa(fanoutMessages)+" "+strconv.Itoa(size), len(want))
				if rd.compressed {
					b.ReportMetric(float64(rd.wire.Load())/float64(rd.plain.Load()), "wire-ratio")
				}
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
	runBurst(b, env, rd, "burst "+strconv.Itoa(fanoutMessages)+" "+strconv.Itoa(fanoutSize), fanoutSize)
}

// runBurst times b.N bursts made by the child command cmd, each of fanoutMessages messages of
// size bytes to every subscriber.
func runBurst(b *testing.B, env *e2eEnv, rd *fanoutReader, cmd string, size int) {
	n := int64(len(env.clients)) * fanoutMessages
	before, err := env.srv.stats()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n * int64(size))
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
// expected payload, in a stream that stays frame-aligned. With compressed set, every frame must
// be compressed (RSV1, permessage-deflate without context takeover) and inflate to the payload.
type fanoutReader struct {
	epfd       int
	subs       map[int32]*fanoutSub // by descriptor
	want       []byte
	compressed bool
	delivered  atomic.Int64
	wire       atomic.Int64 // compressed payload bytes received
	plain      atomic.Int64 // what they inflated to
	bad        atomic.Pointer[error]
	quit       atomic.Bool
	done       chan struct{}

	// The reader goroutine's inflater and its scratch, and the last compressed payload it
	// inflated and found right: a frame with the same bytes is right too, so that the reader
	// inflates once per distinct payload (a broadcast compressed once), not once per subscriber.
	inflater flate.Resetter
	deflated bytes.Reader
	inflated []byte
	verified []byte
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
	if r.compressed {
		r.checkCompressed(p[:hdr], p[hdr:hdr+length])
	} else if p[0] != 0x80|opBinary || p[1]&0x80 != 0 || !bytes.Equal(p[hdr:hdr+length], r.want) {
		r.fail(fmt.Errorf("fan-out: a frame with header % x and %d payload bytes, want an unmasked binary frame of the %d-byte message", p[:hdr], length, len(r.want)))
	}
	return hdr + length, true
}

// deflateTail ends every compressed message (RFC 7692 section 7.2.2), which the sender strips.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// checkCompressed checks a frame that must be a whole compressed binary message of the payload.
func (r *fanoutReader) checkCompressed(hdr, payload []byte) {
	if hdr[0] != 0x80|0x40|opBinary || hdr[1]&0x80 != 0 {
		r.fail(fmt.Errorf("fan-out: a frame with header % x, want an unmasked compressed (RSV1) binary frame", hdr))
		return
	}
	r.wire.Add(int64(len(payload)))
	r.plain.Add(int64(len(r.want)))
	if bytes.Equal(payload, r.verified) {
		return
	}
	r.deflated.Reset(append(payload[:len(payload):len(payload)], deflateTail...))
	if r.inflater == nil {
		r.inflater = flate.NewReader(&r.deflated).(flate.Resetter)
	} else if err := r.inflater.Reset(&r.deflated, nil); err != nil {
		r.fail(err)
		return
	}
	out := bytes.NewBuffer(r.inflated[:0])
	_, err := io.Copy(out, r.inflater.(io.Reader))
	r.inflated = out.Bytes()
	if err != nil || !bytes.Equal(r.inflated, r.want) {
		r.fail(fmt.Errorf("fan-out: a compressed frame of %d bytes inflates to %d bytes (%v), want the %d-byte message", len(payload), len(r.inflated), err, len(r.want)))
		return
	}
	r.verified = append(r.verified[:0], payload...)
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
