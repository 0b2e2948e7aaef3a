package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"golang.org/x/sys/unix"
)

// runner is one run: its configuration, counters and connections.
type runner struct {
	cfg    *config
	args   []string
	format format
	out    io.Writer
	ctx    context.Context // done on SIGINT: stop early, still drain and report
	base   time.Time       // the latency clock's origin
	start  time.Time

	st     stats
	hist   Histogram // message latency: send to echo or delivery
	hsHist Histogram // opening handshake latency: dial to 101

	opts    ws.ClientOptions // template of every connection's options
	http    *http.Client     // for the server's stats
	sources []net.Addr
	srcNext atomic.Uint64
	slots   chan struct{} // one token per connection being opened
	bufs    sync.Pool     // *[]byte of format.size, to build payloads in

	stopping  atomic.Bool  // no new sends, no new connections
	budget    atomic.Int64 // messages that may still be sent
	completed atomic.Int64 // echoes received, intact or not (for -n)
	inflight  atomic.Int64 // messages sent and not echoed, over all connections
	settled   atomic.Int64 // connections that opened or failed to
	dialed    atomic.Int64 // connections started
	finished  atomic.Int64 // connections whose close handler ran
	nextID    atomic.Uint32
	nodeNext  atomic.Uint64 // round robin of the connections opened one at a time over -url

	progressFn   atomic.Pointer[func() string]
	progressStop chan struct{}
	progressDone chan struct{}
}

func newRunner(ctx context.Context, cfg *config, args []string, out io.Writer) (*runner, error) {
	r := &runner{cfg: cfg, args: args, out: out, ctx: ctx, base: time.Now(), start: time.Now()}
	r.format = format{text: !cfg.binary, size: cfg.size}
	if err := r.format.check(); err != nil {
		return nil, err
	}
	srcs, err := parseSources(cfg.sources)
	if err != nil {
		return nil, err
	}
	r.sources = srcs
	if err := checkFileLimit(cfg); err != nil {
		return nil, err
	}
	r.slots = make(chan struct{}, cfg.dialConc)
	r.budget.Store(math.MaxInt64)
	if cfg.count > 0 && cfg.mode == "echo" {
		r.budget.Store(cfg.count)
	}
	r.opts = ws.ClientOptions{
		DialTimeout:      cfg.dialTimeout,
		HandshakeTimeout: cfg.dialTimeout,
		CloseTimeout:     cfg.drain,
		MaxBufferLength:  max(cfg.size+1024, 2<<20),
	}
	if cfg.headBytes > 0 {
		r.opts.ExtraHeaders = padHeader(cfg.headBytes)
	}
	if cfg.deflate || cfg.deflateTakeover {
		r.opts.Deflate = &ws.DeflateOptions{ContextTakeover: cfg.deflateTakeover}
	}
	tr := &http.Transport{DisableKeepAlives: true}
	r.http = &http.Client{Timeout: 3 * time.Second, Transport: tr}
	if cfg.insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		r.opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	size := cfg.size
	r.bufs.New = func() any { b := make([]byte, size); return &b }
	r.startProgress()
	return r, nil
}

// padLine is the padding header line of -head-bytes with an empty value.
const padLine = "X-Pad: \r\n"

// padHeader is the header that pads an upgrade request by n bytes (n >= len(padLine)): one
// X-Pad line, as a browser's cookies and user agent would.
func padHeader(n int) http.Header {
	return http.Header{"X-Pad": {strings.Repeat("p", n-len(padLine))}}
}

// now is the latency clock: monotonic nanoseconds since the run started.
func (r *runner) now() int64 { return int64(time.Since(r.base)) }

// checkFileLimit refuses a run that would need more descriptors than the process may open.
func checkFileLimit(cfg *config) error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return nil
	}
	need := cfg.conns + 64
	switch cfg.mode {
	case "broadcast":
		need++
	case "soak":
		need += cfg.subscribers + 1 + int(cfg.churn) + 16
	}
	// A connection being enrolled holds two descriptors for a moment.
	need += min(cfg.dialConc, cfg.conns)
	if uint64(need) > rl.Cur {
		return fmt.Errorf("%d connections need about %d open files and this process may open %d: "+
			"lower -c or -dial-concurrency, or run several loadgen processes", cfg.conns, need, rl.Cur)
	}
	return nil
}

// parseSources reads -sources: a count N (127.0.0.2 onwards), ranges a-b of IPv4 addresses, or a
// comma list of either.
func parseSources(s string) ([]net.Addr, error) {
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 250 {
			return nil, fmt.Errorf("-sources %d: a count is 1 to 250", n)
		}
		s = "127.0.0.2-127.0.0." + strconv.Itoa(n+1)
	}
	var out []net.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		from, to, isRange := strings.Cut(part, "-")
		a := net.ParseIP(from).To4()
		if a == nil {
			return nil, fmt.Errorf("-sources: %q is not an IPv4 address", from)
		}
		if !isRange {
			out = append(out, &net.TCPAddr{IP: a})
			continue
		}
		b := net.ParseIP(to).To4()
		if b == nil {
			return nil, fmt.Errorf("-sources: %q is not an IPv4 address", to)
		}
		lo, hi := ipv4Int(a), ipv4Int(b)
		if hi < lo || hi-lo >= 1024 {
			return nil, fmt.Errorf("-sources: %s is not a range of at most 1024 addresses", part)
		}
		for v := lo; v <= hi; v++ {
			out = append(out, &net.TCPAddr{IP: net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)).To4()})
		}
	}
	return out, nil
}

func ipv4Int(ip net.IP) uint32 {
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

func (r *runner) nextSource() net.Addr {
	if len(r.sources) == 0 {
		return nil
	}
	return r.sources[(r.srcNext.Add(1)-1)%uint64(len(r.sources))]
}

// role is what a connection does in its mode. Its methods run on the connection's loop.
type role interface {
	opened(lc *lconn)
	message(lc *lconn, typ ws.MessageType, p []byte)
	closed(lc *lconn, code int, unexpected bool)
}

// lconn is one of loadgen's connections.
type lconn struct {
	r      *runner
	ws     *ws.Conn
	id     uint32
	role   role
	node   int    // index in -url of the node it connects to
	path   string // when set, the path to dial instead of the mode's
	dialAt int64

	slot    atomic.Bool // holds a dial token
	opened  atomic.Bool
	closing atomic.Bool // we closed (or gave up) the connection: its close is expected
	closed  atomic.Bool

	mu        sync.Mutex // the send side and the tracker
	seq       uint64     // sequence number of the next message sent
	inflight  int64
	trk       tracker
	dropped   bool // the connection was lost with messages in flight
	synced    bool // broadcast: got the sync message
	accounted bool // accountOnce ran

	missed int64 // messages it never received intact, as accountOnce counted them
}

func (r *runner) newConn(ro role) *lconn {
	return &lconn{r: r, role: ro, id: r.nextID.Add(1)}
}

// dial starts connecting lc to path, waiting for a dial token first (which the connection gives
// back once open or failed). It returns false when the run stops or the wait passes deadline.
func (r *runner) dial(lc *lconn, path string, deadline time.Time) (bool, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case r.slots <- struct{}{}:
	case <-t.C:
		return false, nil
	case <-r.ctx.Done():
		return false, nil
	}
	lc.slot.Store(true)
	if lc.path != "" {
		path = lc.path
	}
	o := r.opts
	o.LocalAddr = r.nextSource()
	o.Setup = lc.setup
	lc.dialAt = r.now()
	r.dialed.Add(1)
	if _, err := ws.Connect(r.cfg.urls[lc.node]+path, &o, handleConnect); err != nil {
		r.dialed.Add(-1)
		lc.releaseSlot()
		return false, err
	}
	return true, nil
}

// dialNow is dial for connections the run opens one at a time (soak): no token, no wait.
func (r *runner) dialNow(lc *lconn, path string) error {
	o := r.opts
	o.LocalAddr = r.nextSource()
	o.Setup = lc.setup
	lc.dialAt = r.now()
	r.dialed.Add(1)
	if _, err := ws.Connect(r.cfg.urls[lc.node]+path, &o, handleConnect); err != nil {
		r.dialed.Add(-1)
		return err
	}
	return nil
}

func (lc *lconn) setup(c *ws.Conn) {
	lc.ws = c
	c.Data = lc
	c.OnMessage(handleMessage)
	c.OnError(handleError)
	c.OnClose(handleClose)
}

func (lc *lconn) releaseSlot() {
	if lc.slot.CompareAndSwap(true, false) {
		<-lc.r.slots
	}
}

func handleConnect(c *ws.Conn) {
	lc := c.Data.(*lconn)
	r := lc.r
	r.hsHist.Record(r.now() - lc.dialAt)
	lc.opened.Store(true)
	r.st.connOpened.Add(1)
	lc.releaseSlot()
	r.settled.Add(1)
	lc.role.opened(lc)
}

func handleMessage(c *ws.Conn, typ ws.MessageType, p []byte) {
	lc := c.Data.(*lconn)
	lc.r.st.received.Add(1)
	lc.r.st.bytesRecv.Add(int64(len(p)))
	lc.role.message(lc, typ, p)
}

func handleError(c *ws.Conn, err error) {
	lc := c.Data.(*lconn)
	lc.r.st.addError(errorKind(err))
}

func handleClose(c *ws.Conn, code int, _ string) {
	lc := c.Data.(*lconn)
	r := lc.r
	lc.releaseSlot()
	opened := lc.opened.Load()
	unexpected := opened && !lc.closing.Load()
	switch {
	case !opened:
		r.st.connFailed.Add(1)
		r.settled.Add(1)
	case unexpected:
		r.st.connLost.Add(1)
		r.st.addError(closeKind(code))
		lc.mu.Lock()
		lc.dropped = true
		r.inflight.Add(-lc.inflight)
		lc.inflight = 0
		lc.mu.Unlock()
	}
	if opened {
		r.st.connClosed.Add(1)
	}
	lc.closed.Store(true)
	lc.role.closed(lc, code, unexpected)
	r.finished.Add(1)
}

// close closes lc with 1000 (or gives up its attempt to connect); its close is expected.
func (lc *lconn) close() {
	lc.closing.Store(true)
	if lc.ws != nil && !lc.closed.Load() {
		lc.ws.Close(1000, "")
	}
}

// sendLocked sends the next message of lc's own stream. lc.mu is held. It reports whether it
// sent.
func (lc *lconn) sendLocked() bool {
	r := lc.r
	if r.budget.Add(-1) < 0 {
		return false
	}
	if _, ok := lc.sendPayload(header{stream: lc.id, seq: lc.seq}); !ok {
		return false
	}
	lc.seq++
	lc.inflight++
	r.inflight.Add(1)
	return true
}

// sendPayload builds the payload of h, stamped now, and sends it. It returns the stamp.
func (lc *lconn) sendPayload(h header) (int64, bool) {
	r := lc.r
	bp := r.bufs.Get().(*[]byte)
	h.sent = r.now()
	p := r.format.build(*bp, h)
	err := lc.ws.SendMessage(r.format.messageType(), p, nil)
	r.bufs.Put(bp)
	if err != nil {
		r.st.sendErrors.Add(1)
		r.st.addError(errorKind(err))
		return h.sent, false
	}
	r.st.sent.Add(1)
	r.st.bytesSent.Add(int64(len(p)))
	return h.sent, true
}

// result is what receive made of a payload.
type result uint8

const (
	fresh   result = iota // intact and not received before (in order or late)
	dup                   // intact, received before
	corrupt               // failed its check
)

// receiveLocked checks a payload that should come from stream want, which has sent numbers
// below sent so far, and counts what it was. lc.mu is held.
func (lc *lconn) receiveLocked(typ ws.MessageType, p []byte, want uint32, sent uint64) (header, result) {
	h, f := lc.r.format.verify(typ, p)
	return h, lc.judgeLocked(h, f, want, sent)
}

// judgeLocked is receiveLocked for a payload already verified. lc.mu is held.
func (lc *lconn) judgeLocked(h header, f fault, want uint32, sent uint64) result {
	st := &lc.r.st
	if f == faultNone && h.stream != want {
		f = faultStream
	}
	if f == faultNone && h.seq >= sent {
		f = faultSeq
	}
	if f != faultNone {
		st.addFault(f)
		lc.trk.corrupt++
		return corrupt
	}
	switch lc.trk.observe(h.seq) {
	case duplicate:
		st.duplicated.Add(1)
		return dup
	case late:
		st.reordered.Add(1)
	}
	return fresh
}

// account counts, once the connections are closed, the messages each never received: lost, or
// dropped with a connection that was lost. sent gives the count a connection should have got.
func (r *runner) account(conns []*lconn, sent func(lc *lconn) uint64) {
	for _, lc := range conns {
		lc.accountOnce(sent)
	}
}

// accountOnce counts the messages lc never received intact of those its sender sent (sent,
// called with lc.mu held), the first time it is called.
func (lc *lconn) accountOnce(sent func(lc *lconn) uint64) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.accounted || !lc.opened.Load() {
		return
	}
	lc.accounted = true
	n := int64(lc.trk.lost(sent(lc)))
	lc.missed = n
	if lc.dropped {
		lc.r.st.droppedWithConn.Add(n)
	} else {
		lc.r.st.lost.Add(n)
	}
}

// openAll opens n connections to path with roles from mk, connection i on node i mod the number
// of -url, at most -dial-concurrency at a time, and waits until each opened or failed, within
// -connect-timeout. Those still connecting then are given up and counted as failed.
func (r *runner) openAll(n int, path string, mk func(i int) role, what string) ([]*lconn, error) {
	todo := make([]*lconn, n)
	for i := range todo {
		todo[i] = r.newConn(mk(i))
		todo[i].node = i % len(r.cfg.urls)
	}
	return r.open(todo, path, what)
}

// open is openAll for connections already made.
func (r *runner) open(todo []*lconn, path string, what string) ([]*lconn, error) {
	n := len(todo)
	conns := make([]*lconn, 0, n)
	deadline := time.Now().Add(r.cfg.connectTimeout)
	base := r.settled.Load()
	r.setProgress(func() string {
		return fmt.Sprintf("opening %s: %d/%d open, %d failed", what, r.st.connOpened.Load(), n, r.st.connFailed.Load())
	})
	for _, lc := range todo {
		ok, err := r.dial(lc, path, deadline)
		if err != nil {
			return conns, err
		}
		if !ok {
			break
		}
		conns = append(conns, lc)
	}
	if !r.waitUntil(deadline, r.ctx, func() bool { return r.settled.Load()-base >= int64(len(conns)) }) {
		late := 0
		for _, lc := range conns {
			if !lc.opened.Load() && !lc.closed.Load() {
				late++
				lc.close()
			}
		}
		if late > 0 {
			r.st.addError("not open within -connect-timeout")
		}
	}
	if missing := n - len(conns); missing > 0 {
		r.st.connFailed.Add(int64(missing))
		r.st.addError("not started within -connect-timeout")
	}
	return conns, nil
}

// waitUntil polls cond every 5 ms until it holds (true), deadline passes or ctx is done (false).
func (r *runner) waitUntil(deadline time.Time, ctx context.Context, cond func() bool) bool {
	for !cond() {
		if !time.Now().Before(deadline) {
			return false
		}
		if ctx != nil && ctx.Err() != nil {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// closeAll stops the run's connections and waits, within -drain, until every connection ever
// started has run its close handler.
func (r *runner) closeAll(conns []*lconn) {
	r.stopping.Store(true)
	for _, lc := range conns {
		lc.close()
	}
	deadline := time.Now().Add(r.cfg.drain + time.Second)
	if !r.waitUntil(deadline, nil, func() bool { return r.finished.Load() >= r.dialed.Load() }) {
		r.st.addError("not closed within -drain")
	}
}

// drainInflight waits, within -drain, until no message is in flight.
func (r *runner) drainInflight() {
	r.waitUntil(time.Now().Add(r.cfg.drain), nil, func() bool { return r.inflight.Load() <= 0 })
}

// sleep waits d, or less when the run is interrupted. It reports whether it waited it all.
func (r *runner) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// Progress: one line, rewritten in place once a second, when stdout is a terminal.

func (r *runner) setProgress(fn func() string) { r.progressFn.Store(&fn) }

func (r *runner) startProgress() {
	on := r.cfg.progress == "on"
	if r.cfg.progress == "auto" {
		if f, ok := r.out.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				on = true
			}
		}
	}
	if r.cfg.quiet || !on {
		return
	}
	r.progressStop, r.progressDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.progressDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-r.progressStop:
				fmt.Fprint(r.out, "\r\033[K")
				return
			case <-t.C:
				if fn := r.progressFn.Load(); fn != nil {
					fmt.Fprintf(r.out, "\r\033[K[%5.1fs] %s", time.Since(r.start).Seconds(), (*fn)())
				}
			}
		}
	}()
}

func (r *runner) stopProgress() {
	if r.progressStop != nil {
		close(r.progressStop)
		<-r.progressDone
		r.progressStop = nil
	}
}
