package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// Outcome is the verdict on one case, as Autobahn names them.
type Outcome string

// The outcomes, from best to worst.
const (
	OK            Outcome = "OK"            // the behaviour RFC 6455 asks for
	Informational Outcome = "INFORMATIONAL" // behaviour the RFC leaves open, reported for information
	NonStrict     Outcome = "NON-STRICT"    // acceptable but not what the RFC asks for (lenient, late)
	Failed        Outcome = "FAILED"        // a violation of RFC 6455, or no answer in time
)

// severity orders outcomes for combining the parts of one verdict.
func (o Outcome) severity() int {
	switch o {
	case OK:
		return 0
	case Informational:
		return 1
	case NonStrict:
		return 2
	}
	return 3
}

// rank orders outcomes for -expect: a case is worse when its rank grows. OK and INFORMATIONAL
// rank alike, since INFORMATIONAL marks behaviour the RFC leaves open.
func (o Outcome) rank() int {
	switch o {
	case OK, Informational:
		return 0
	case NonStrict:
		return 1
	}
	return 2
}

func worst(a, b Outcome) Outcome {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// config holds what every case run needs to know.
type config struct {
	timeout  time.Duration // bound of every wait for the peer
	settle   time.Duration // quiet time given to a peer when nothing is expected back
	failFast time.Duration // how long a fail-fast case waits after the first invalid byte
	delay    time.Duration // the pause of cases that send frame by frame "with delay"
	full     bool          // section 9 at Autobahn's sizes
	maxFrame uint64        // largest frame the reader accepts from the peer
}

func defaultConfig() *config {
	return &config{
		timeout:  5 * time.Second,
		settle:   100 * time.Millisecond,
		failFast: 500 * time.Millisecond,
		delay:    20 * time.Millisecond,
		maxFrame: 64 << 20,
	}
}

// dataEv is a message or pong received, or one expected.
type dataEv struct {
	op      byte // opText, opBinary (whole messages) or opPong
	payload []byte
}

func msg(op byte, payload []byte) dataEv { return dataEv{op, payload} }
func textMsg(s string) dataEv            { return dataEv{opText, []byte(s)} }
func pongOf(p []byte) dataEv             { return dataEv{opPong, p} }

func (e dataEv) String() string {
	if e.op == opPong {
		return "pong " + preview(e.payload)
	}
	return opName(e.op) + " message " + preview(e.payload)
}

func (e dataEv) equal(o dataEv) bool { return e.op == o.op && bytes.Equal(e.payload, o.payload) }

// expectation is what a case expects of the peer once its script has run.
type expectation struct {
	data []dataEv // messages and pongs, in order

	// fail: the peer must fail the connection (a close frame with one of codes, or a TCP drop).
	fail  bool
	codes []int
	// strictCode: a close with another code is FAILED, not NON-STRICT (the stimulus was a close
	// frame, so answering 1000 means accepting it). In a case that does not fail, the stimulus is a
	// close with a valid code: answering it with another code than its own or 1000 (1002, say)
	// means refusing it, FAILED too.
	strictCode bool

	// closeCode is the code of the close frame the tool sends to end a case that does not fail
	// (0: 1000).
	closeCode int
	// informational: behaviour the RFC leaves open; a clean run is INFORMATIONAL.
	informational bool
	// limit: a clean close with 1009 (message too big) is INFORMATIONAL: the peer's size limit is
	// below the case's message.
	limit bool
	// alternatives: other data sequences and the outcome they get.
	alternatives []alternative
	// text says what is expected, in words; derived from the rest when empty.
	text string
	// nonStrict, when set, is why the case is NON-STRICT at best (the peer declined an extension).
	nonStrict string
}

type alternative struct {
	data    []dataEv
	outcome Outcome
	note    string
}

// peerClose is the close frame the peer sent.
type peerClose struct {
	code    int // -1: no payload
	reason  []byte
	at      time.Duration
	asReply bool // our close frame had been sent before it arrived
}

// session is one connection, for one case.
type session struct {
	cfg      *config
	conn     net.Conn
	weClient bool // we are the client: we mask, the peer must not
	rng      *rand.Rand
	timeout  time.Duration // this case's bound of each wait

	events chan rxEvent
	done   chan struct{}
	wg     sync.WaitGroup
	start  time.Time

	sent       []string
	sentFrames int
	got        []string
	violations []string
	notes      []string
	floor      Outcome // the least outcome the script has already decided (fail-fast, timing)

	data        []dataEv
	inMsg       bool
	msgOp       byte
	msgBuf      []byte
	close       *peerClose
	closeSent   bool
	closeCode   int // the code of the first close frame we sent; -1 none
	ended       bool
	endErr      error
	endAt       time.Duration
	tcpByUs     bool // we closed TCP ourselves, after waiting for the peer
	peerTCPWait bool // the peer did not close TCP within the bound after the closing handshake
	writeErr    error
	peerKeys    [][4]byte // the mask keys of the peer's first frames
	gaveUp      bool      // a failing case stopped waiting for the failure and closed itself

	pmd        *pmdCodec // permessage-deflate, when negotiated
	compressed bool      // the message in progress has RSV1 set
	frames     frameLog  // every frame both ways, bounded, for -report
}

// newRNG returns a generator for mask keys: they need to vary, not to be secret, in a test tool.
func newRNG() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }

func newSession(cfg *config, conn net.Conn, br *bufio.Reader, weClient bool, timeout time.Duration) *session {
	s := &session{
		cfg: cfg, conn: conn, weClient: weClient, timeout: timeout,
		rng:    newRNG(),
		events: make(chan rxEvent, 64),
		done:   make(chan struct{}),
		start:  time.Now(),
		floor:  OK, closeCode: -1,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		reader(br, cfg.maxFrame, s.events, s.done)
	}()
	return s
}

// shutdown closes the connection and waits for the reader to stop.
func (s *session) shutdown() {
	s.conn.Close()
	close(s.done)
	s.wg.Wait()
}

func (s *session) elapsed() time.Duration { return time.Since(s.start) }

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// note adds a remark to the report.
func (s *session) note(format string, a ...any) { s.notes = append(s.notes, fmt.Sprintf(format, a...)) }

// downgrade sets the least outcome the case can get, with the reason.
func (s *session) downgrade(o Outcome, format string, a ...any) {
	s.floor = worst(s.floor, o)
	s.note(format, a...)
}

// --- sending ---

const maxSentLines = 16

func (s *session) logSent(line string) {
	s.sentFrames++
	if len(s.sent) < maxSentLines {
		s.sent = append(s.sent, line)
	}
}

// encode serialises frames as this side sends them.
func (s *session) encode(frames ...frame) []byte {
	var b []byte
	for _, f := range frames {
		b = f.encode(b, s.weClient, s.rng)
		s.frames.add(true, f.fin, f.rsv, f.op, len(f.payload), f.payload, s.elapsed())
		if f.op == opClose && !s.closeSent {
			s.closeSent = true
			s.closeCode = -1
			if len(f.payload) >= 2 {
				s.closeCode = int(binary.BigEndian.Uint16(f.payload))
			}
		}
	}
	return b
}

// send writes frames in one write.
func (s *session) send(frames ...frame) {
	for _, f := range frames {
		s.logSent(f.describe(s.weClient))
	}
	s.write(s.encode(frames...), 0, 0)
}

// sendChopped writes frames in writes of chop bytes.
func (s *session) sendChopped(chop int, frames ...frame) {
	for _, f := range frames {
		s.logSent(f.describe(s.weClient) + fmt.Sprintf(", in %d-byte writes", chop))
	}
	s.write(s.encode(frames...), chop, 0)
}

// sendEach writes each frame in a write of its own, pausing d between them.
func (s *session) sendEach(d time.Duration, frames ...frame) {
	for i, f := range frames {
		if i > 0 && d > 0 {
			s.pause(d)
		}
		s.send(f)
	}
}

// sendRaw writes bytes given as they are.
func (s *session) sendRaw(label string, b []byte, chop int) {
	s.logSent(label)
	s.write(b, chop, 0)
}

// write sends b in chops of chop bytes (0: at once). A write that fails (the peer has gone) is
// noted, not fatal: what the peer did is judged from what it sent.
func (s *session) write(b []byte, chop int, pause time.Duration) {
	if s.writeErr != nil {
		return
	}
	if chop <= 0 {
		chop = len(b)
	}
	for len(b) > 0 {
		n := min(chop, len(b))
		s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, err := s.conn.Write(b[:n]); err != nil {
			s.writeErr = err
			if isTimeout(err) {
				s.note("a write blocked for %v: the peer stopped reading", s.timeout)
			}
			return
		}
		b = b[n:]
		if pause > 0 && len(b) > 0 {
			time.Sleep(pause)
		}
	}
}

// pause waits d while taking in what the peer sends.
func (s *session) pause(d time.Duration) { s.pump(d, func() bool { return false }) }

// --- receiving ---

// pump consumes events until cond holds, the stream ends or d passes; it reports cond.
func (s *session) pump(d time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	if s.ended {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case ev := <-s.events:
			s.consume(ev)
			if cond() {
				return true
			}
			if s.ended {
				return false
			}
		case <-t.C:
			return cond()
		}
	}
}

// consume takes in one event: assembles messages and checks the peer's frames.
func (s *session) consume(ev rxEvent) {
	if ev.err != nil {
		s.ended, s.endErr, s.endAt = true, ev.err, ev.at.Sub(s.start)
		switch {
		case ev.err == io.EOF:
			s.gotf("TCP closed by the peer at %s", ms(s.endAt))
		case errors.Is(ev.err, errTooLong):
			s.violation("%v", ev.err)
		case s.tcpByUs:
		default:
			s.gotf("connection ended: %v", ev.err)
		}
		return
	}
	f := ev.f
	at := f.at.Sub(s.start)
	s.frames.add(false, f.fin, f.rsv, f.op, len(f.payload), f.payload, at)
	if s.close != nil {
		s.violation("%s frame after its close frame", opName(f.op))
	}
	if f.masked && len(s.peerKeys) < 16 {
		s.peerKeys = append(s.peerKeys, f.key)
	}
	if f.masked == s.weClient {
		if f.masked {
			s.violation("masked frame from the server (RFC 6455 5.1)")
		} else {
			s.violation("unmasked frame from the client (RFC 6455 5.1)")
		}
	}
	switch {
	case f.rsv == 0:
	case s.pmd == nil:
		s.violation("%s frame with RSV=%d and no extension negotiated", opName(f.op), f.rsv)
	case f.rsv != 4 || (f.op != opText && f.op != opBinary):
		s.violation("%s frame with RSV=%d (permessage-deflate allows RSV1 on a message's first frame only)", opName(f.op), f.rsv)
	}
	if !f.minimalForm() {
		s.violation("%s frame length %d in a %d-bit field (not minimal)", opName(f.op), f.length, f.lenForm)
	}
	switch f.op {
	case opCont, opText, opBinary:
		s.dataFrame(f, at)
	case opPing, opPong, opClose:
		if !f.fin {
			s.violation("fragmented %s frame", opName(f.op))
		}
		if len(f.payload) > 125 {
			s.violation("%s frame of %d bytes (control frames carry at most 125)", opName(f.op), len(f.payload))
		}
		switch f.op {
		case opPing:
			s.gotf("ping from the peer %s at %s", preview(f.payload), ms(at))
		case opPong:
			s.data = append(s.data, pongOf(f.payload))
			s.gotf("pong %s at %s", preview(f.payload), ms(at))
		case opClose:
			s.closeFrame(f, at)
		}
	default:
		s.violation("frame with reserved opcode %d", f.op)
	}
}

func (s *session) dataFrame(f *rxFrame, at time.Duration) {
	switch {
	case f.op == opCont && !s.inMsg:
		s.violation("continuation frame with no message in progress")
		return
	case f.op != opCont && s.inMsg:
		s.violation("new %s message inside a fragmented one", opName(f.op))
		s.inMsg = false
	}
	if f.op != opCont {
		s.inMsg, s.msgOp, s.msgBuf = true, f.op, s.msgBuf[:0]
		s.compressed = f.rsv&4 != 0 && s.pmd != nil
	}
	s.msgBuf = append(s.msgBuf, f.payload...)
	if !f.fin {
		return
	}
	s.inMsg = false
	p := bytes.Clone(s.msgBuf)
	if s.pmd != nil {
		s.pmd.messagesIn++
		if s.compressed {
			s.pmd.compressedIn++
			var err error
			if p, err = s.pmd.inflate(p, s.cfg.maxFrame); err != nil {
				s.violation("%s message whose compressed data is invalid: %v", opName(s.msgOp), err)
				return
			}
		}
	}
	if s.msgOp == opText && !codec.ValidUTF8(p) {
		s.violation("text message that is not valid UTF-8: %s", preview(p))
	}
	s.data = append(s.data, msg(s.msgOp, p))
	s.gotf("%s message %s at %s", opName(s.msgOp), preview(p), ms(at))
}

func (s *session) closeFrame(f *rxFrame, at time.Duration) {
	c := &peerClose{code: -1, at: at, asReply: s.closeSent}
	switch len(f.payload) {
	case 0:
		s.gotf("close frame without code at %s", ms(at))
	case 1:
		s.violation("close frame with a one-byte payload")
	default:
		c.code = int(binary.BigEndian.Uint16(f.payload))
		c.reason = f.payload[2:]
		s.gotf("close frame code=%d reason=%s at %s", c.code, preview(c.reason), ms(at))
		if !codec.ValidCloseCode(codec.CloseCode(c.code)) {
			s.violation("close frame with code %d, which may not be sent", c.code)
		}
		if !codec.ValidUTF8(c.reason) {
			s.violation("close reason that is not valid UTF-8")
		}
	}
	if s.inMsg {
		s.note("the peer closed in the middle of its own fragmented message")
	}
	s.close = c
}

func (s *session) gotf(format string, a ...any) {
	const maxGot = 24
	if len(s.got) < maxGot {
		s.got = append(s.got, fmt.Sprintf(format, a...))
	} else if len(s.got) == maxGot {
		s.got = append(s.got, "...")
	}
}

func (s *session) violation(format string, a ...any) {
	v := fmt.Sprintf(format, a...)
	for _, old := range s.violations {
		if old == v {
			return
		}
	}
	s.violations = append(s.violations, v)
	s.gotf("VIOLATION: %s", v)
}

// closedOrEnded reports whether the peer sent its close frame or the stream ended.
func (s *session) closedOrEnded() bool { return s.close != nil || s.ended }

// waitClosed waits up to d for the peer's close frame or the end of the stream.
func (s *session) waitClosed(d time.Duration) bool { return s.pump(d, s.closedOrEnded) }

// --- ending a case ---

// finish ends the case as exp says: it waits for what is expected, takes part in the closing
// handshake and, as the client, waits for the server to close TCP.
func (s *session) finish(exp *expectation) {
	if exp.fail {
		// Wait for the failure; a message beyond those expected first, or a violation, already
		// shows the peer went on instead of failing.
		want := len(exp.data)
		if !s.pump(s.timeout, func() bool { return s.closedOrEnded() || len(s.data) > want || len(s.violations) > 0 }) {
			s.gotf("no close frame and no TCP close within %v", s.timeout)
		}
		if !s.closedOrEnded() {
			s.gaveUp = true
			if !s.closeSent {
				s.send(closeFrame(1000, ""))
			}
			s.waitClosed(s.timeout)
		}
	} else {
		if len(exp.data) > 0 {
			want := len(exp.data)
			if !s.pump(s.timeout, func() bool { return len(s.data) >= want || s.closedOrEnded() }) {
				s.gotf("nothing more within %v", s.timeout)
			}
		} else {
			s.pause(s.cfg.settle)
		}
		if !s.closedOrEnded() && !s.closeSent {
			code := exp.closeCode
			if code == 0 {
				code = 1000
			}
			s.send(closeFrame(code, ""))
		}
		if !s.waitClosed(s.timeout) {
			s.gotf("no close frame within %v", s.timeout)
		}
	}
	if s.close != nil && !s.closeSent && !s.ended {
		// Answer the peer's close, echoing its code when it may be sent.
		code := s.close.code
		if code != -1 && !codec.ValidCloseCode(codec.CloseCode(code)) {
			code = 1002
		}
		f := closeFrame(code, "")
		s.logSent(f.describe(s.weClient) + " (answering the peer's close)")
		s.write(s.encode(f), 0, 0)
	}
	if s.ended || s.close == nil {
		return
	}
	if s.weClient {
		// The server should close TCP first (RFC 6455 7.1.1).
		if !s.pump(s.timeout, func() bool { return s.ended }) {
			s.peerTCPWait = true
			s.gotf("the server did not close TCP within %v of the closing handshake", s.timeout)
		}
	} else {
		// We are the server: close TCP now, then drain what is left.
		s.tcpByUs = true
		if tc, ok := s.conn.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		s.pump(s.timeout, func() bool { return s.ended })
	}
}

// --- judging ---

// result is the verdict on one case, with its evidence.
type result struct {
	Outcome  Outcome  `json:"outcome"`
	Reason   string   `json:"reason,omitempty"`
	Sent     []string `json:"sent,omitempty"`
	Expected string   `json:"expected"`
	Got      []string `json:"got,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// CloseCode is the code of the peer's close frame: -1 none, 0 no close frame at all.
	CloseCode int   `json:"close_code"`
	Millis    int64 `json:"duration_ms"`
	// Frames are the frames both ways, bounded, for -report.
	Frames []frameRec `json:"-"`
}

// judge compares what the session saw with exp.
func (s *session) judge(exp *expectation) result {
	r := result{Outcome: OK, Expected: exp.describe(), Notes: s.notes}
	if s.sentFrames > len(s.sent) {
		s.sent = append(s.sent, fmt.Sprintf("... %d frames in all", s.sentFrames))
	}
	r.Sent, r.Got = s.sent, s.got
	r.Frames = s.frames.list()
	if s.pmd != nil {
		s.note("permessage-deflate agreed (%s); %d of the peer's %d messages came compressed", s.pmd.params, s.pmd.compressedIn, s.pmd.messagesIn)
	}
	r.Notes = s.notes
	if s.close != nil {
		r.CloseCode = s.close.code
	}
	var reasons []string
	set := func(o Outcome, format string, a ...any) {
		r.Outcome = worst(r.Outcome, o)
		reasons = append(reasons, fmt.Sprintf(format, a...))
	}
	if len(s.violations) > 0 {
		set(Failed, "the peer broke RFC 6455: %s", strings.Join(s.violations, "; "))
	}
	if exp.nonStrict != "" {
		set(NonStrict, "%s", exp.nonStrict)
	}
	limitHit := exp.limit && s.close != nil && s.close.code == 1009 && !s.close.asReply

	// The data.
	switch {
	case sameData(s.data, exp.data):
	case limitHit:
		set(Informational, "the peer closed with 1009: its message limit is below this case's size")
	default:
		matched := false
		for _, alt := range exp.alternatives {
			if sameData(s.data, alt.data) {
				set(alt.outcome, "%s", alt.note)
				matched = true
				break
			}
		}
		if !matched && exp.fail && isPrefix(s.data, exp.data) {
			set(NonStrict, "the peer failed the connection before answering %d of the frames it should have answered first",
				len(exp.data)-len(s.data))
			matched = true
		}
		if !matched {
			set(Failed, "%s", dataMismatch(s.data, exp.data))
		}
	}

	// The close.
	if exp.fail {
		switch {
		case s.gaveUp && s.close != nil:
			set(Failed, "the peer did not fail the connection: it went on, and answered the tool's own close with %s", codeText(s.close.code))
		case s.gaveUp:
			set(Failed, "the peer did not fail the connection within %v", s.timeout)
		case s.close != nil:
			if !containsInt(exp.codes, s.close.code) {
				o := NonStrict
				if exp.strictCode {
					o = Failed
				}
				set(o, "the peer closed with %s, expected %s", codeText(s.close.code), codesText(exp.codes))
			}
		case s.ended:
			s.notes = append(s.notes, "the peer failed the connection by closing TCP without a close frame")
			r.Notes = s.notes
		default:
			set(Failed, "the peer did not fail the connection within %v", s.timeout)
		}
	} else {
		switch {
		case limitHit:
		case s.close == nil && s.ended:
			set(Failed, "the connection ended without a close frame from the peer (%v)", s.endErr)
		case s.close == nil:
			set(Failed, "no close frame from the peer within %v", s.timeout)
		case !s.close.asReply:
			set(Failed, "the peer closed the connection with %s instead of answering", codeText(s.close.code))
		case s.closeCode == -1 && (s.close.code == -1 || s.close.code == 1000):
		case s.close.code == s.closeCode || s.close.code == -1:
		case s.close.code == 1000:
			s.notes = append(s.notes, fmt.Sprintf("the peer answered close %d with 1000 rather than echoing it", s.closeCode))
			r.Notes = s.notes
		case exp.strictCode:
			set(Failed, "the peer refused close %s, which is valid, answering %s", codeText(s.closeCode), codeText(s.close.code))
		default:
			set(NonStrict, "the peer answered close %s with %s", codeText(s.closeCode), codeText(s.close.code))
		}
	}
	if s.peerTCPWait && r.Outcome.severity() < NonStrict.severity() {
		set(NonStrict, "the server did not close TCP after the closing handshake (RFC 6455 7.1.1: it SHOULD)")
	}
	if s.floor != OK {
		r.Outcome = worst(r.Outcome, s.floor)
	}
	if exp.informational && r.Outcome == OK {
		r.Outcome = Informational
	}
	r.Reason = strings.Join(reasons, "; ")
	r.Millis = s.elapsed().Milliseconds()
	return r
}

func (exp *expectation) describe() string {
	if exp.text != "" {
		return exp.text
	}
	var parts []string
	if len(exp.data) > 0 {
		parts = append(parts, describeData(exp.data))
	}
	if exp.fail {
		parts = append(parts, "the peer fails the connection (close "+codesText(exp.codes)+", or TCP closed)")
	} else if len(exp.data) == 0 {
		parts = append(parts, "nothing back, then a clean closing handshake")
	} else {
		parts = append(parts, "then a clean closing handshake")
	}
	return strings.Join(parts, ", ")
}

func describeData(d []dataEv) string {
	if len(d) <= 3 {
		var s []string
		for _, e := range d {
			s = append(s, e.String())
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%d messages/pongs, first %s, last %s", len(d), d[0], d[len(d)-1])
}

func sameData(a, b []dataEv) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

func isPrefix(a, b []dataEv) bool { return len(a) < len(b) && sameData(a, b[:len(a)]) }

func dataMismatch(got, want []dataEv) string {
	for i := range min(len(got), len(want)) {
		if !got[i].equal(want[i]) {
			return fmt.Sprintf("item %d: got %s, expected %s", i+1, got[i], want[i])
		}
	}
	if len(got) < len(want) {
		return fmt.Sprintf("got %d of %d expected messages/pongs; missing %s", len(got), len(want), want[len(got)])
	}
	return fmt.Sprintf("got %d messages/pongs, expected %d; unexpected %s", len(got), len(want), got[len(want)])
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func codeText(code int) string {
	if code == -1 {
		return "a close frame without code"
	}
	return fmt.Sprintf("code %d", code)
}

func codesText(codes []int) string {
	if len(codes) == 0 {
		return "any code"
	}
	var s []string
	for _, c := range codes {
		s = append(s, fmt.Sprint(c))
	}
	return strings.Join(s, " or ")
}
