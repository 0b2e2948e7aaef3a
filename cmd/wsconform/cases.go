package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Case is one test. Cases of sections 1-10 run a script over an open connection and work in both
// modes (the tool is the client against a server, or the server against a client); handshake
// cases have one runner per mode.
type Case struct {
	ID    string
	Desc  string
	Extra bool // no Autobahn case corresponds: the id has an "x" part or is in section H
	// timeout bounds every wait of the case; 0 means the configured one.
	timeout time.Duration
	run     func(s *session) *expectation
	// Handshake cases: serverHS runs in server mode, clientHS in client mode.
	serverHS func(t *target, cfg *config) result
	clientHS func(cc *clientConn) result
	// deflate, for sections 12 and 13: the permessage-deflate parameters negotiated first.
	deflate *pmdSet
}

// Section returns the first part of the id: "1" ... "13", or "H".
func (c *Case) Section() string {
	sec, _, _ := strings.Cut(c.ID, ".")
	return sec
}

// catalogue builds sections 1-13, the cases both modes share.
func catalogue(cfg *config) []*Case {
	var cs []*Case
	for _, build := range []func(*config) []*Case{section1, section2, section3, section4, section5,
		section6, section7, section9, section10, section12, section13} {
		cs = append(cs, build(cfg)...)
	}
	return cs
}

// --- payloads ---

// stars is Autobahn's text payload: n asterisks.
func stars(n int) []byte { return bytes.Repeat([]byte{'*'}, n) }

// mixedText is valid UTF-8 of exactly n bytes mixing ASCII and 2-, 3- and 4-byte characters, so
// that chops and fragments split characters.
func mixedText(n int) []byte {
	pieces := []string{"Hello ", "µ", "ß", "€", "日本", "𝄞", "κόσμε", "!", " 😀 "}
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		p := pieces[i%len(pieces)]
		if len(b)+len(p) > n {
			p = strings.Repeat("*", n-len(b))
		}
		b = append(b, p...)
	}
	return b
}

// binaryData is n bytes covering every byte value, in a pattern that does not repeat quickly.
func binaryData(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// --- building blocks ---

// echoCase sends frames in one write and expects want back, then a clean close.
func echoCase(id, desc string, frames []frame, want ...dataEv) *Case {
	return &Case{ID: id, Desc: desc, run: func(s *session) *expectation {
		s.send(frames...)
		return &expectation{data: want}
	}}
}

// failCase sends frames in one write; the peer must answer want and then fail the connection
// with one of codes.
func failCase(id, desc string, codes []int, frames []frame, want ...dataEv) *Case {
	return &Case{ID: id, Desc: desc, run: func(s *session) *expectation {
		s.send(frames...)
		return &expectation{data: want, fail: true, codes: codes}
	}}
}

var (
	protocolError = []int{1002}
	invalidData   = []int{1007}
)

func cont(fin bool, p []byte) frame { return frame{fin: fin, op: opCont, payload: p} }
func first(op byte, p []byte) frame { return frame{op: op, payload: p} }

// fragments splits a message into frames of at most size bytes (at least one frame).
func fragments(op byte, p []byte, size int) []frame {
	var fs []frame
	for len(p) > size {
		fs = append(fs, frame{op: op, payload: p[:size]})
		op, p = opCont, p[size:]
	}
	return append(fs, frame{fin: true, op: op, payload: p})
}

// --- 1 framing ---

func section1(cfg *config) []*Case {
	var cs []*Case
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for g, kind := range []struct {
		op   byte
		name string
		data func(int) []byte
	}{{opText, "text", stars}, {opBinary, "binary", binaryData}} {
		for i, n := range sizes {
			p := kind.data(n)
			cs = append(cs, echoCase(fmt.Sprintf("1.%d.%d", g+1, i+1),
				fmt.Sprintf("%s message of %d bytes", kind.name, n), []frame{msgFrame(kind.op, p)}, msg(kind.op, p)))
		}
		p := kind.data(65536)
		cs = append(cs, &Case{ID: fmt.Sprintf("1.%d.8", g+1),
			Desc: fmt.Sprintf("%s message of 65536 bytes sent in 997-byte writes", kind.name),
			run: func(s *session) *expectation {
				s.sendChopped(997, msgFrame(kind.op, p))
				return &expectation{data: []dataEv{msg(kind.op, p)}}
			}})
	}
	// A few MiB, whole and chopped.
	const big = 3 << 20
	for i, c := range []struct {
		op   byte
		chop int
	}{{opText, 0}, {opBinary, 0}, {opText, 1021}, {opBinary, 1021}} {
		data := binaryData
		if c.op == opText {
			data = mixedText
		}
		desc := fmt.Sprintf("%s message of 3 MiB", opName(c.op))
		if c.chop > 0 {
			desc += fmt.Sprintf(" sent in %d-byte writes", c.chop)
		}
		cs = append(cs, &Case{ID: fmt.Sprintf("1.x.%d", i+1), Desc: desc, Extra: true, timeout: max(cfg.timeout, 30*time.Second),
			run: func(s *session) *expectation {
				p := data(big)
				s.sendChopped(c.chop, msgFrame(c.op, p))
				return &expectation{data: []dataEv{msg(c.op, p)}, limit: true}
			}})
	}
	return cs
}

// --- 2 ping and pong ---

func section2(cfg *config) []*Case {
	hello := []byte("Hello, world!")
	small := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	p125 := bytes.Repeat([]byte{0xfe}, 125)
	p126 := bytes.Repeat([]byte{0xfe}, 126)
	ping := func(p []byte) frame { return msgFrame(opPing, p) }
	pong := func(p []byte) frame { return msgFrame(opPong, p) }
	cs := []*Case{
		echoCase("2.1", "ping without payload", []frame{ping(nil)}, pongOf(nil)),
		echoCase("2.2", "ping with a small text payload", []frame{ping(hello)}, pongOf(hello)),
		echoCase("2.3", "ping with a small binary payload", []frame{ping(small)}, pongOf(small)),
		echoCase("2.4", "ping with a 125-byte binary payload", []frame{ping(p125)}, pongOf(p125)),
		failCase("2.5", "ping with a 126-byte payload (control frames carry at most 125)", protocolError, []frame{ping(p126)}),
		{ID: "2.6", Desc: "ping with a 125-byte payload sent in 1-byte writes", run: func(s *session) *expectation {
			s.sendChopped(1, ping(p125))
			return &expectation{data: []dataEv{pongOf(p125)}}
		}},
		echoCase("2.7", "unsolicited pong without payload: nothing comes back", []frame{pong(nil)}),
		echoCase("2.8", "unsolicited pong with payload: nothing comes back", []frame{pong([]byte("unsolicited pong payload"))}),
		echoCase("2.9", "unsolicited pong, then a ping: only the ping's pong comes back",
			[]frame{pong([]byte("unsolicited pong payload")), ping([]byte("ping payload"))}, pongOf([]byte("ping payload"))),
	}
	for i, chop := range []int{0, 1} {
		var frames []frame
		var want []dataEv
		for k := 0; k < 10; k++ {
			p := []byte(fmt.Sprintf("payload-%d", k))
			frames = append(frames, ping(p))
			want = append(want, pongOf(p))
		}
		desc := "ten pings in a row: ten pongs in order"
		if chop > 0 {
			desc = "ten pings in a row sent in 1-byte writes: ten pongs in order"
		}
		cs = append(cs, &Case{ID: fmt.Sprintf("2.%d", 10+i), Desc: desc, run: func(s *session) *expectation {
			s.sendChopped(chop, frames...)
			exp := &expectation{data: want}
			// RFC 6455 5.5.3: an endpoint MAY answer only the most recent of pings it has not
			// answered yet.
			exp.alternatives = subsequencesEndingLast(want, NonStrict,
				"some pings were not answered (RFC 6455 5.5.3 allows answering only the latest)")
			return exp
		}})
	}
	return cs
}

// subsequencesEndingLast lists the in-order subsequences of want that keep its last item, except
// want itself (up to 2^(len-1)-1 of them; fine for ten pings).
func subsequencesEndingLast(want []dataEv, o Outcome, note string) []alternative {
	n := len(want) - 1
	var alts []alternative
	for mask := 0; mask < 1<<n-1; mask++ {
		var d []dataEv
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				d = append(d, want[i])
			}
		}
		alts = append(alts, alternative{append(d, want[n]), o, note})
	}
	return alts
}

// --- 3 reserved bits ---

func section3(cfg *config) []*Case {
	hello := []byte("Hello, world!")
	withRsv := func(f frame, rsv uint8) frame { f.rsv = rsv; return f }
	ping := msgFrame(opPing, hello)
	cs := []*Case{
		failCase("3.1", "small text message with RSV1 set", protocolError, []frame{withRsv(msgFrame(opText, hello), 4)}),
		failCase("3.2", "small text message, then one with RSV2 set, then a ping", protocolError,
			[]frame{msgFrame(opText, hello), withRsv(msgFrame(opText, hello), 2), ping}, textMsg("Hello, world!")),
		{ID: "3.3", Desc: "small text message, then one with RSV1+RSV2 set, then a ping, frame by frame with a pause",
			run: func(s *session) *expectation {
				s.sendEach(s.cfg.delay, msgFrame(opText, hello), withRsv(msgFrame(opText, hello), 6), ping)
				return &expectation{data: []dataEv{textMsg("Hello, world!")}, fail: true, codes: protocolError}
			}},
		{ID: "3.4", Desc: "small text message, then one with RSV3 set, then a ping, in 1-byte writes",
			run: func(s *session) *expectation {
				s.sendChopped(1, msgFrame(opText, hello), withRsv(msgFrame(opText, hello), 1), ping)
				return &expectation{data: []dataEv{textMsg("Hello, world!")}, fail: true, codes: protocolError}
			}},
		failCase("3.5", "small binary message with RSV1+RSV3 set", protocolError,
			[]frame{withRsv(msgFrame(opBinary, []byte{0, 1, 2, 0xfe, 0xff}), 5)}),
		failCase("3.6", "ping with RSV2+RSV3 set", protocolError, []frame{withRsv(ping, 3)}),
		failCase("3.7", "close with all RSV bits set", protocolError, []frame{withRsv(closeFrame(1000, ""), 7)}),
	}
	cs[6].run = strictClose(cs[6].run)
	return cs
}

// --- 4 reserved opcodes ---

func section4(cfg *config) []*Case {
	var cs []*Case
	hello := []byte("Hello, world!")
	ping := msgFrame(opPing, hello)
	for g, ops := range [][]byte{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		kind := "non-control"
		if g == 1 {
			kind = "control"
		}
		id := func(i int) string { return fmt.Sprintf("4.%d.%d", g+1, i) }
		cs = append(cs,
			failCase(id(1), fmt.Sprintf("frame with reserved %s opcode %d", kind, ops[0]), protocolError,
				[]frame{{fin: true, op: ops[0]}}),
			failCase(id(2), fmt.Sprintf("frame with reserved %s opcode %d and a payload", kind, ops[1]), protocolError,
				[]frame{{fin: true, op: ops[1], payload: []byte("reserved opcode payload")}}),
			failCase(id(3), fmt.Sprintf("text message, frame with reserved opcode %d, ping", ops[2]), protocolError,
				[]frame{msgFrame(opText, hello), {fin: true, op: ops[2]}, ping}, textMsg("Hello, world!")),
			failCase(id(4), fmt.Sprintf("text message, frame with reserved opcode %d and a payload, ping", ops[3]), protocolError,
				[]frame{msgFrame(opText, hello), {fin: true, op: ops[3], payload: []byte("reserved opcode payload")}, ping},
				textMsg("Hello, world!")),
			&Case{ID: id(5), Desc: fmt.Sprintf("text message, frame with reserved opcode %d and a payload, ping, in 1-byte writes", ops[4]),
				run: func(s *session) *expectation {
					s.sendChopped(1, msgFrame(opText, hello), frame{fin: true, op: ops[4], payload: []byte("reserved opcode payload")}, ping)
					return &expectation{data: []dataEv{textMsg("Hello, world!")}, fail: true, codes: protocolError}
				}},
		)
	}
	return cs
}

// --- 5 fragmentation ---

func section5(cfg *config) []*Case {
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	whole := textMsg("fragment1fragment2")
	pingP := []byte("ping payload")
	two := []frame{first(opText, f1), cont(true, f2)}
	withPing := []frame{first(opText, f1), msgFrame(opPing, pingP), cont(true, f2)}
	cs := []*Case{
		failCase("5.1", "ping in 2 fragments", protocolError,
			[]frame{{op: opPing, payload: f1}, cont(true, f2)}),
		failCase("5.2", "pong in 2 fragments", protocolError,
			[]frame{{op: opPong, payload: f1}, cont(true, f2)}),
		echoCase("5.3", "text message in 2 fragments", two, whole),
		{ID: "5.4", Desc: "text message in 2 fragments, in 1-byte writes", run: func(s *session) *expectation {
			s.sendChopped(1, two...)
			return &expectation{data: []dataEv{whole}}
		}},
		{ID: "5.5", Desc: "text message in 2 fragments, one write each with a pause", run: func(s *session) *expectation {
			s.sendEach(s.cfg.delay, two...)
			return &expectation{data: []dataEv{whole}}
		}},
		echoCase("5.6", "text message in 2 fragments with a ping between them", withPing, pongOf(pingP), whole),
		{ID: "5.7", Desc: "text message in 2 fragments with a ping between them, in 1-byte writes", run: func(s *session) *expectation {
			s.sendChopped(1, withPing...)
			return &expectation{data: []dataEv{pongOf(pingP), whole}}
		}},
		{ID: "5.8", Desc: "text message in 2 fragments with a ping between them, one write each with a pause", run: func(s *session) *expectation {
			s.sendEach(s.cfg.delay, withPing...)
			return &expectation{data: []dataEv{pongOf(pingP), whole}}
		}},
	}
	// 5.9-5.14: a continuation with nothing to continue, then a text message.
	for i, fin := range []bool{true, false} {
		frames := []frame{cont(fin, f1), msgFrame(opText, f2)}
		for k, how := range []string{"in one write", "one write per frame", "in 1-byte writes"} {
			id := fmt.Sprintf("5.%d", 9+3*i+k)
			desc := fmt.Sprintf("continuation frame (FIN=%d) with nothing to continue, then a text message, %s", b2i(fin), how)
			cs = append(cs, &Case{ID: id, Desc: desc, run: func(s *session) *expectation {
				switch k {
				case 0:
					s.send(frames...)
				case 1:
					s.sendEach(s.cfg.delay, frames...)
				default:
					s.sendChopped(1, frames...)
				}
				return &expectation{fail: true, codes: protocolError}
			}})
		}
	}
	cs = append(cs,
		failCase("5.15", "text message in 2 fragments, then a continuation (FIN=0) with nothing to continue, then a text message",
			protocolError, []frame{first(opText, f1), cont(true, f2), cont(false, []byte("fragment3")), msgFrame(opText, []byte("fragment4"))},
			whole),
		failCase("5.16", "twice: a continuation (FIN=0) with nothing to continue, then a text message in 2 fragments", protocolError,
			[]frame{cont(false, f1), first(opText, f2), cont(true, []byte("fragment3")), cont(false, f1), first(opText, f2), cont(true, []byte("fragment3"))}),
		failCase("5.17", "twice: a continuation (FIN=1) with nothing to continue, then a text message in 2 fragments", protocolError,
			[]frame{cont(true, f1), first(opText, f2), cont(true, []byte("fragment3")), cont(true, f1), first(opText, f2), cont(true, []byte("fragment3"))}),
		failCase("5.18", "text message in 2 fragments whose second frame is a text frame too (a new message inside a fragmented one)",
			protocolError, []frame{first(opText, f1), msgFrame(opText, f2)}),
	)
	for i, each := range []bool{false, true} {
		desc := "text message in 5 fragments with pings after the 2nd and 4th, and a pause in the middle"
		if each {
			desc += ", one write per frame"
		}
		cs = append(cs, &Case{ID: fmt.Sprintf("5.%d", 19+i), Desc: desc, run: func(s *session) *expectation {
			p1, p2 := []byte("pongme 1!"), []byte("pongme 2!")
			a := []frame{first(opText, []byte("fragment1")), cont(false, []byte("fragment2")), msgFrame(opPing, p1)}
			b := []frame{cont(false, []byte("fragment3")), cont(false, []byte("fragment4")), msgFrame(opPing, p2), cont(true, []byte("fragment5"))}
			if each {
				s.sendEach(s.cfg.delay, a...)
			} else {
				s.send(a...)
			}
			s.pause(10 * s.cfg.delay)
			if each {
				s.sendEach(s.cfg.delay, b...)
			} else {
				s.send(b...)
			}
			return &expectation{data: []dataEv{pongOf(p1), pongOf(p2), textMsg("fragment1fragment2fragment3fragment4fragment5")}}
		}})
	}
	// Extras: fragments of one byte, empty fragments, a pong between fragments.
	hello := []byte("Hello-µ@ßöäüàá-UTF-8!!")
	bin := binaryData(64)
	empties := []frame{first(opBinary, nil), cont(false, bin[:10]), cont(false, nil), cont(false, bin[10:]), cont(true, nil)}
	cs = append(cs,
		echoCase("5.x.1", "text message in 1-byte fragments (characters split across frames)", fragments(opText, hello, 1), msg(opText, hello)),
		echoCase("5.x.2", "binary message of 64 bytes in 1-byte fragments", fragments(opBinary, bin, 1), msg(opBinary, bin)),
		echoCase("5.x.3", "binary message with empty first, middle and last fragments", empties, msg(opBinary, bin)),
		echoCase("5.x.4", "text message in 2 fragments with an unsolicited pong between them: only the message comes back",
			[]frame{first(opText, f1), msgFrame(opPong, []byte("unsolicited")), cont(true, f2)}, whole),
		failCase("5.x.5", "binary message in 2 fragments whose second frame is a binary frame", protocolError,
			[]frame{first(opBinary, f1), msgFrame(opBinary, f2)}),
		failCase("5.x.6", "close in 2 fragments", protocolError, []frame{{op: opClose, payload: []byte{0x03}}, cont(true, []byte{0xe8})}),
	)
	for _, c := range cs[len(cs)-6:] {
		c.Extra = true
	}
	cs[len(cs)-1].run = strictClose(cs[len(cs)-1].run)
	return cs
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// --- 6 UTF-8 ---

func section6(cfg *config) []*Case {
	hello := []byte("Hello-µ@ßöäüàá-UTF-8!!")
	kosme := []byte("κόσμε")
	bad := []byte("κόσμε\xed\xa0\x80edited")
	cs := []*Case{
		echoCase("6.1.1", "empty text message", []frame{msgFrame(opText, nil)}, msg(opText, nil)),
		echoCase("6.1.2", "empty text message in 3 empty fragments", []frame{first(opText, nil), cont(false, nil), cont(true, nil)}, msg(opText, nil)),
		echoCase("6.1.3", "text message in 3 fragments, the first and last empty",
			[]frame{first(opText, nil), cont(false, []byte("middle frame payload")), cont(true, nil)}, textMsg("middle frame payload")),
		echoCase("6.2.1", "valid UTF-8 text in one frame", []frame{msgFrame(opText, hello)}, msg(opText, hello)),
		echoCase("6.2.2", "valid UTF-8 text in 2 fragments split at a character boundary",
			[]frame{first(opText, hello[:7]), cont(true, hello[7:])}, msg(opText, hello)),
		echoCase("6.2.3", "valid UTF-8 text in 1-byte fragments", fragments(opText, hello, 1), msg(opText, hello)),
		echoCase("6.2.4", "\"κόσμε\" in 1-byte fragments", fragments(opText, kosme, 1), msg(opText, kosme)),
		failCase("6.3.1", "invalid UTF-8 text (a surrogate) in one frame", invalidData, []frame{msgFrame(opText, bad)}),
		failCase("6.3.2", "invalid UTF-8 text (a surrogate) in 1-byte fragments", invalidData, fragments(opText, bad, 1)),
	}
	// 6.4: fail fast. The connection must fail at the invalid bytes, before the rest is sent.
	type ff struct {
		id, desc   string
		p1, p2, p3 []byte
		asFrames   bool
	}
	for _, c := range []ff{
		{"6.4.1", "invalid text in 3 fragments, the 2nd holding U+110000: fail fast, before the 3rd", []byte("κόσμε"), []byte("\xf4\x90\x80\x80"), []byte("edited"), true},
		{"6.4.2", "invalid text in 3 fragments, the 2nd a single byte that cannot follow the 1st's 0xf4: fail fast", []byte("κόσμε\xf4"), []byte("\x90"), []byte("\x80\x80edited"), true},
		{"6.4.3", "invalid text in one frame written in 3 parts, the 2nd holding U+110000: fail fast, before the 3rd", []byte("κόσμε"), []byte("\xf4\x90\x80\x80"), []byte("edited"), false},
		{"6.4.4", "invalid text in one frame written in 3 parts, the 2nd a single byte that cannot follow 0xf4: fail fast", []byte("κόσμε\xf4"), []byte("\x90"), []byte("\x80\x80edited"), false},
	} {
		cs = append(cs, &Case{ID: c.id, Desc: c.desc, run: func(s *session) *expectation {
			exp := &expectation{fail: true, codes: invalidData}
			if c.asFrames {
				s.send(first(opText, c.p1))
				s.pause(s.cfg.delay)
				s.send(cont(false, c.p2))
			} else {
				whole := append(append(append([]byte(nil), c.p1...), c.p2...), c.p3...)
				b := s.encode(msgFrame(opText, whole))
				hl := len(b) - len(whole)
				s.sendRaw("text "+preview(whole)+", written in 3 parts", b[:hl+len(c.p1)], 0)
				s.pause(s.cfg.delay)
				s.write(b[hl+len(c.p1):hl+len(c.p1)+len(c.p2)], 0, 0)
			}
			if s.waitClosed(s.cfg.failFast) {
				return exp
			}
			s.downgrade(NonStrict, "not fail-fast: the connection was still open %v after the invalid bytes (RFC 6455 8.1)", s.cfg.failFast)
			if c.asFrames {
				s.send(cont(true, c.p3))
			} else {
				s.write(c.p3, 0, 0)
			}
			return exp
		}})
	}
	for _, v := range utf8Vectors() {
		if v.valid {
			cs = append(cs, echoCase(v.id, v.desc, []frame{msgFrame(opText, v.payload)}, msg(opText, v.payload)))
		} else {
			cs = append(cs, failCase(v.id, v.desc, invalidData, []frame{msgFrame(opText, v.payload)}))
		}
	}
	return cs
}

// --- 7 close handling ---

func section7(cfg *config) []*Case {
	hello := []byte("Hello World!")
	closeRaw := func(p []byte) frame { return frame{fin: true, op: opClose, payload: p} }
	long := func(n int) string { return strings.Repeat("*", n) }
	cs := []*Case{
		echoCase("7.1.1", "text message, then close 1000", []frame{msgFrame(opText, hello), closeFrame(1000, "")}, msg(opText, hello)),
		echoCase("7.1.2", "two close frames", []frame{closeFrame(1000, ""), closeFrame(1000, "")}),
		echoCase("7.1.3", "close, then a ping: no pong", []frame{closeFrame(1000, ""), msgFrame(opPing, hello)}),
		echoCase("7.1.4", "close, then a text message: no echo", []frame{closeFrame(1000, ""), msgFrame(opText, hello)}),
		echoCase("7.1.5", "first fragment of a text message, close, last fragment: no echo",
			[]frame{first(opText, []byte("fragment1")), closeFrame(1000, ""), cont(true, []byte("fragment2"))}),
	}
	big := stars(256 << 10)
	cs = append(cs, &Case{ID: "7.1.6", Desc: "256 KiB text message, close, ping: whether the echo comes before the close is informational",
		run: func(s *session) *expectation {
			s.send(msgFrame(opText, big), closeFrame(1000, ""), msgFrame(opPing, hello))
			return &expectation{data: []dataEv{msg(opText, big)}, informational: true,
				alternatives: []alternative{{nil, Informational, "the peer answered the close without echoing the message first"}},
				text:         "the 256 KiB echo or not, then a clean closing handshake, no pong"}
		}})
	cs = append(cs,
		&Case{ID: "7.3.1", Desc: "close without payload", run: func(s *session) *expectation {
			s.send(closeFrame(-1, ""))
			return &expectation{text: "a close frame without code, or with 1000"}
		}},
		failCase("7.3.2", "close with a one-byte payload", protocolError, []frame{closeRaw([]byte{0x2a})}),
		echoCase("7.3.3", "close 1000 without reason", []frame{closeFrame(1000, "")}),
		echoCase("7.3.4", "close 1000 with a reason", []frame{closeFrame(1000, "Hello World!")}),
		echoCase("7.3.5", "close 1000 with a 123-byte reason (125-byte payload)", []frame{closeFrame(1000, long(123))}),
		failCase("7.3.6", "close 1000 with a 124-byte reason (126-byte payload, over the control limit)", protocolError,
			[]frame{closeFrame(1000, long(124))}),
		failCase("7.5.1", "close 1000 with a reason that is not valid UTF-8", []int{1007, 1002},
			[]frame{closeFrame(1000, "κόσμε\xed\xa0\x80edited")}),
	)
	cs[len(cs)-1].run = strictClose(cs[len(cs)-1].run)
	cs[len(cs)-2].run = strictClose(cs[len(cs)-2].run)
	cs[len(cs)-6].run = strictClose(cs[len(cs)-6].run)
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cs = append(cs, validCode(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("close with the valid code %d", code), code))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cs = append(cs, &Case{ID: fmt.Sprintf("7.9.%d", i+1), Desc: fmt.Sprintf("close with the invalid code %d", code),
			run: strictClose(func(s *session) *expectation {
				s.send(closeFrame(code, ""))
				return &expectation{fail: true, codes: protocolError}
			})})
	}
	for i, code := range []int{5000, 65535} {
		cs = append(cs, &Case{ID: fmt.Sprintf("7.13.%d", i+1), Desc: fmt.Sprintf("close with the out-of-range code %d", code),
			run: func(s *session) *expectation { return openCode(s, code) }})
	}
	// Extras: the valid codes IANA registered after RFC 6455, the one never to be sent, a long
	// reason in multi-byte characters.
	for i, iana := range []struct {
		code int
		name string
	}{{1012, "service restart"}, {1013, "try again later"}, {1014, "bad gateway"}} {
		c := validCode(fmt.Sprintf("7.x.%d", i+1),
			fmt.Sprintf("close with the valid code %d (%s), registered with IANA after RFC 6455", iana.code, iana.name), iana.code)
		c.Extra = true
		cs = append(cs, c)
	}
	cs = append(cs,
		&Case{ID: "7.x.4", Extra: true, Desc: "close with 1015, which is never sent", run: strictClose(func(s *session) *expectation {
			s.send(closeFrame(1015, ""))
			return &expectation{fail: true, codes: protocolError}
		})},
		echoCase("7.x.5", "close 1000 with a 123-byte reason of multi-byte characters", []frame{closeFrame(1000, strings.Repeat("€", 41))}),
		failCase("7.x.6", "close 1000 with a reason ending in a truncated character", []int{1007, 1002},
			[]frame{closeFrame(1000, "Hello \xe2\x82")}),
	)
	cs[len(cs)-1].run = strictClose(cs[len(cs)-1].run)
	cs[len(cs)-2].Extra, cs[len(cs)-1].Extra = true, true
	return cs
}

// validCode sends a close with a code that may be sent (codec.ValidCloseCode): the peer must echo
// it, or answer 1000; refusing it is FAILED.
func validCode(id, desc string, code int) *Case {
	return &Case{ID: id, Desc: desc, run: strictClose(func(s *session) *expectation {
		s.send(closeFrame(code, ""))
		return &expectation{closeCode: code, text: fmt.Sprintf("a close frame with %d (or 1000)", code)}
	})}
}

// strictClose marks a case whose stimulus is a close frame: answering with another code than the
// one expected is FAILED (expectation.strictCode).
func strictClose(run func(s *session) *expectation) func(s *session) *expectation {
	return func(s *session) *expectation {
		exp := run(s)
		exp.strictCode = true
		return exp
	}
}

// openCode sends a close with a code RFC 6455 does not settle: echoing it and failing with 1002
// are both informational.
func openCode(s *session, code int) *expectation {
	s.send(closeFrame(code, ""))
	s.waitClosed(s.timeout)
	exp := &expectation{closeCode: code, informational: true,
		text: fmt.Sprintf("either a close frame with %d or 1000 (accepted), or 1002 (refused)", code)}
	if s.close != nil && s.close.code == 1002 {
		exp.fail, exp.codes = true, protocolError
		s.note("the peer refused code %d", code)
	} else if s.close != nil {
		s.note("the peer accepted code %d", code)
	}
	return exp
}

// --- 9 limits and performance ---

func section9(cfg *config) []*Case {
	scale, count := 16, 100
	scaled := " (1/16 of Autobahn's size; -full for the real one)"
	if cfg.full {
		scale, count, scaled = 1, 1000, ""
	}
	timeout := max(cfg.timeout, 30*time.Second)
	if cfg.full {
		timeout = max(cfg.timeout, 120*time.Second)
	}
	const K, M = 1 << 10, 1 << 20
	var cs []*Case
	add := func(id, desc string, run func(s *session) *expectation) {
		cs = append(cs, &Case{ID: id, Desc: desc + scaled, timeout: timeout, run: run})
	}
	kinds := []struct {
		op   byte
		name string
		data func(int) []byte
	}{{opText, "text", mixedText}, {opBinary, "binary", binaryData}}
	for g, k := range kinds {
		for i, n := range []int{64 * K, 256 * K, M, 4 * M, 8 * M, 16 * M} {
			add(fmt.Sprintf("9.%d.%d", 1+g, i+1), fmt.Sprintf("%s message of %s", k.name, size(n/scale)), func(s *session) *expectation {
				p := k.data(n / scale)
				start := time.Now()
				s.send(msgFrame(k.op, p))
				return timed(s, start, len(p), &expectation{data: []dataEv{msg(k.op, p)}, limit: true})
			})
		}
	}
	for g, k := range kinds {
		for i, fs := range []int{64, 256, K, 4 * K, 16 * K, 64 * K, 256 * K, M, 4 * M} {
			fsz := min(fs, 4*M/scale)
			add(fmt.Sprintf("9.%d.%d", 3+g, i+1), fmt.Sprintf("%s message of %s in fragments of %s", k.name, size(4*M/scale), size(fsz)),
				func(s *session) *expectation {
					p := k.data(4 * M / scale)
					start := time.Now()
					fr := fragments(k.op, p, fsz)
					s.logSent(fmt.Sprintf("%s message of %s in %d frames", k.name, size(len(p)), len(fr)))
					s.write(s.encode(fr...), 0, 0)
					return timed(s, start, len(p), &expectation{data: []dataEv{msg(k.op, p)}, limit: true})
				})
		}
	}
	for g, k := range kinds {
		for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
			add(fmt.Sprintf("9.%d.%d", 5+g, i+1), fmt.Sprintf("%s message of %s in %d-byte writes", k.name, size(M/scale), chop),
				func(s *session) *expectation {
					p := k.data(M / scale)
					start := time.Now()
					s.sendChopped(chop, msgFrame(k.op, p))
					return timed(s, start, len(p), &expectation{data: []dataEv{msg(k.op, p)}, limit: true})
				})
		}
	}
	for g, k := range kinds {
		for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
			p := k.data(n)
			add(fmt.Sprintf("9.%d.%d", 7+g, i+1), fmt.Sprintf("%d %s messages of %d bytes, each sent once the previous one came back", count, k.name, n),
				func(s *session) *expectation {
					exp := &expectation{limit: true}
					start := time.Now()
					for j := 0; j < count; j++ {
						exp.data = append(exp.data, msg(k.op, p))
						s.send(msgFrame(k.op, p))
						want := j + 1
						if !s.pump(s.timeout, func() bool { return len(s.data) >= want || s.closedOrEnded() }) || len(s.data) < want {
							for j++; j < count; j++ {
								exp.data = append(exp.data, msg(k.op, p))
							}
							break
						}
					}
					if len(s.data) == count {
						d := time.Since(start)
						s.note("%d round trips in %v: %v each", count, d.Round(time.Millisecond), (d / time.Duration(count)).Round(time.Microsecond))
					}
					return exp
				})
		}
	}
	return cs
}

// timed waits for the echo and notes how long it took since start, before the first write.
func timed(s *session, start time.Time, n int, exp *expectation) *expectation {
	if s.pump(s.timeout, func() bool { return len(s.data) >= 1 || s.closedOrEnded() }) && len(s.data) >= 1 {
		d := time.Since(start)
		s.note("sent and echoed %s in %v (%.1f MB/s)", size(n), d.Round(time.Millisecond), float64(n)/d.Seconds()/1e6)
	}
	return exp
}

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// --- 10 miscellaneous ---

func section10(cfg *config) []*Case {
	p := stars(65536)
	var ten []frame
	var tenBack []dataEv
	for i := 0; i < 10; i++ {
		m := []byte(fmt.Sprintf("message %d", i))
		ten = append(ten, msgFrame(opText, m))
		tenBack = append(tenBack, msg(opText, m))
	}
	nonMinimal := func(form int) frame { f := msgFrame(opText, []byte("Hello")); f.lenForm = form; return f }
	topBit := uint64(1) << 63
	pingA, pingB := []byte("first ping"), []byte("second ping")
	cs := []*Case{
		echoCase("10.1.1", "text message of 65536 bytes in 1300-byte fragments", fragments(opText, p, 1300), msg(opText, p)),
		echoCase("10.x.1", "ten text messages in one write", ten, tenBack...),
		echoCase("10.x.2", "ping, text message, ping in one write: answers in order",
			[]frame{msgFrame(opPing, pingA), msgFrame(opText, []byte("between")), msgFrame(opPing, pingB)},
			pongOf(pingA), textMsg("between"), pongOf(pingB)),
		{ID: "10.x.3", Desc: "a 5-byte text message with its length in the 16-bit field (not minimal): accepting or refusing it is informational",
			run: func(s *session) *expectation { return lenient(s, nonMinimal(16)) }},
		{ID: "10.x.4", Desc: "a 5-byte text message with its length in the 64-bit field (not minimal): accepting or refusing it is informational",
			run: func(s *session) *expectation { return lenient(s, nonMinimal(64)) }},
		failCase("10.x.5", "binary frame whose 64-bit length has its most significant bit set", []int{1002, 1009},
			[]frame{{fin: true, op: opBinary, rawLen: &topBit, payload: []byte("x")}}),
		echoCase("10.x.6", "text message with the mask key 00000000", []frame{{fin: true, op: opText, payload: []byte("zero key"), maskKey: &[4]byte{}}},
			textMsg("zero key")),
	}
	for _, c := range cs[1:] {
		c.Extra = true
	}
	return cs
}

// lenient sends a frame the RFC forbids to send but does not tell the receiver to refuse:
// an echo or a failure with 1002 are both informational.
func lenient(s *session, f frame) *expectation {
	s.send(f)
	want := []dataEv{msg(f.op, f.payload)}
	s.pump(s.timeout, func() bool { return len(s.data) > 0 || s.closedOrEnded() })
	if s.closedOrEnded() && len(s.data) == 0 {
		s.note("the peer refused the frame")
		return &expectation{fail: true, codes: protocolError, informational: true,
			text: "an echo (accepted) or a failure with 1002 (refused)"}
	}
	s.note("the peer accepted the frame")
	return &expectation{data: want, informational: true, text: "an echo (accepted) or a failure with 1002 (refused)"}
}
