package api

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The rules of RFC 6455 sections 5 to 8 that Autobahn's test sections 1-7 and 10 check, run over
// raw sockets against an echo server (OnMessage + SendMessage). Case names carry the Autobahn case
// they follow where there is one.

// rfcCase is one conversation with the echo server over a fresh connection.
type rfcCase struct {
	name string
	run  func(t *testing.T, p *wstest.Peer)
}

// runRFC runs cases in subtests, each on its own connection to addr.
func runRFC(t *testing.T, addr string, cases []rfcCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			p := wstest.Dial(t, addr, "/")
			tc.run(t, p)
		})
	}
}

var (
	opText   = codec.OpText
	opBinary = codec.OpBinary
	opCont   = codec.OpContinuation
	opPing   = codec.OpPing
	opPong   = codec.OpPong
	opClose  = codec.OpClose
)

// frames concatenates masked client frames.
func frames(fs ...[]byte) []byte { return bytes.Join(fs, nil) }

// fr is one masked client frame.
func fr(fin bool, op codec.Opcode, payload string) []byte {
	return wstest.FrameBytes(fin, op, []byte(payload))
}

// closeFrame is a masked close frame with code and reason.
func closeFrame(code codec.CloseCode, reason string) []byte {
	return wstest.FrameBytes(true, opClose, codec.AppendClosePayload(nil, code, reason))
}

// cleanClose ends a conversation: the close is echoed and the server closes TCP.
func cleanClose(t *testing.T, p *wstest.Peer) {
	t.Helper()
	p.Write(closeFrame(1000, ""))
	reason := ""
	nextClose(t, p, 1000, &reason)
	p.ExpectEOF()
}

// nothingBefore proves that the server sent nothing in answer to what p sent so far: it sends a
// ping, and the next frame must be its pong, which the server writes only after answering
// everything that came before.
func nothingBefore(t *testing.T, p *wstest.Peer) {
	t.Helper()
	p.WriteFrame(true, opPing, []byte("barrier"))
	nextFrame(t, p, true, opPong, []byte("barrier"))
}

// expectTooBig reads the close frame of a message over the limit from the socket, byte for byte:
// FIN and close, the payload length, code 1009 (0x03f1) and err's message; then the server must
// close TCP.
func expectTooBig(t *testing.T, p *wstest.Peer, err *codec.ProtocolError) {
	t.Helper()
	nextWire(t, p, append([]byte{0x88, byte(2 + len(err.Msg)), 0x03, 0xf1}, err.Msg...))
	if rest := p.ExpectEOF(); len(rest) != 0 {
		t.Fatalf("after the close frame: %s", short(rest))
	}
}

// nextWire reads exactly len(want) bytes from the socket and compares them with want. The peer's
// buffered reader must be empty (nothing was read past the last frame).
func nextWire(t *testing.T, p *wstest.Peer, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
	if _, err := io.ReadFull(p.Conn, got); err != nil {
		t.Fatalf("reading %d bytes: %v", len(want), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire\n got %s\nwant %s", short(got), short(want))
	}
}

// Section 1 (Autobahn 1.1.x, 1.2.x): framing of text and binary messages of every length class,
// sent whole and in 1-byte pieces; the echo must be one frame with the minimal length encoding.
func TestRFCFraming(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	var cases []rfcCase
	for _, op := range []codec.Opcode{opText, opBinary} {
		for _, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
			for _, piece := range []int{0, 1} {
				payload := []byte(strings.Repeat("*", n))
				if op == opBinary {
					payload = bytes.Repeat([]byte{0xfe}, n)
					copy(payload, pattern(min(n, 256)))
				}
				name := fmt.Sprintf("%v/%d/whole", op, n)
				if piece > 0 {
					name = fmt.Sprintf("%v/%d/1-byte-pieces", op, n)
				}
				cases = append(cases, rfcCase{name, func(t *testing.T, p *wstest.Peer) {
					f := wstest.FrameBytes(true, op, payload)
					if piece == 0 {
						p.Write(f)
					} else {
						writePieces(p, f, piece)
					}
					nextWire(t, p, wstest.ServerFrame(true, op, payload))
					cleanClose(t, p)
				}})
			}
		}
	}
	// Several messages in one write are echoed in order.
	cases = append(cases, rfcCase{"pipelined", func(t *testing.T, p *wstest.Peer) {
		var all []byte
		for i := range 20 {
			all = append(all, fr(true, opText, fmt.Sprintf("message %d", i))...)
			all = append(all, wstest.FrameBytes(true, opBinary, pattern(i*50))...)
		}
		p.Write(all)
		for i := range 20 {
			nextFrame(t, p, true, opText, []byte(fmt.Sprintf("message %d", i)))
			nextFrame(t, p, true, opBinary, pattern(i*50))
		}
		cleanClose(t, p)
	}})
	// Lengths in a longer form than needed are still lengths (RFC 6455 section 5.2 asks for the
	// minimal form, but a receiver that reads the value right loses nothing; DNC-13).
	cases = append(cases, rfcCase{"non-minimal-16-bit-length", func(t *testing.T, p *wstest.Peer) {
		p.Write(frameWithLength(0x81, []byte{126, 0, 5}, []byte("hello")))
		nextFrame(t, p, true, opText, []byte("hello"))
		cleanClose(t, p)
	}})
	cases = append(cases, rfcCase{"non-minimal-64-bit-length", func(t *testing.T, p *wstest.Peer) {
		p.Write(frameWithLength(0x82, []byte{127, 0, 0, 0, 0, 0, 0, 0, 3}, []byte{1, 2, 3}))
		nextFrame(t, p, true, opBinary, []byte{1, 2, 3})
		cleanClose(t, p)
	}})
	cases = append(cases, rfcCase{"64-bit-length-top-bit", func(t *testing.T, p *wstest.Peer) {
		p.Write(frameWithLength(0x82, []byte{127, 0x80, 0, 0, 0, 0, 0, 0, 3}, []byte{1, 2, 3}))
		expectFail(t, p, codec.ErrLengthTopBit)
	}})
	// RFC 6455 section 5.1: a server must close on an unmasked client frame.
	cases = append(cases, rfcCase{"unmasked", func(t *testing.T, p *wstest.Peer) {
		p.Write([]byte{0x81, 0x02, 'h', 'i'})
		expectFail(t, p, codec.ErrUnmaskedFrame)
	}})
	runRFC(t, addr, cases)
}

// Section 2 (Autobahn 2.x): pings and pongs.
func TestRFCPingPong(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	binPayload := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	cases := []rfcCase{
		{"2.1-empty", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opPing, ""))
			nextWire(t, p, []byte{0x8a, 0x00})
			cleanClose(t, p)
		}},
		{"2.2-text-payload", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opPing, "Hello, world!"))
			nextFrame(t, p, true, opPong, []byte("Hello, world!"))
			cleanClose(t, p)
		}},
		{"2.3-binary-payload", func(t *testing.T, p *wstest.Peer) {
			p.WriteFrame(true, opPing, binPayload)
			nextWire(t, p, wstest.ServerFrame(true, opPong, binPayload))
			cleanClose(t, p)
		}},
		{"2.4-125-bytes", func(t *testing.T, p *wstest.Peer) {
			payload := bytes.Repeat([]byte{0xfe}, 125)
			p.WriteFrame(true, opPing, payload)
			nextWire(t, p, wstest.ServerFrame(true, opPong, payload))
			cleanClose(t, p)
		}},
		{"2.4b-all-byte-values", func(t *testing.T, p *wstest.Peer) {
			payload := pattern(256)[131:] // 0x83..0xff: 125 bytes, none of them valid UTF-8 alone
			p.WriteFrame(true, opPing, payload)
			nextFrame(t, p, true, opPong, payload)
			cleanClose(t, p)
		}},
		{"2.5-126-bytes", func(t *testing.T, p *wstest.Peer) {
			p.WriteFrame(true, opPing, bytes.Repeat([]byte{0xfe}, 126))
			expectFail(t, p, codec.ErrControlTooLong)
		}},
		{"2.5b-64-bit-length", func(t *testing.T, p *wstest.Peer) {
			p.Write(frameWithLength(0x89, []byte{127, 0, 0, 0, 0, 0, 0, 0, 5}, []byte("hello")))
			nextFrame(t, p, true, opPong, []byte("hello"))
			cleanClose(t, p)
		}},
		{"2.6-125-bytes-in-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			payload := bytes.Repeat([]byte{0xfe}, 125)
			writePieces(p, wstest.FrameBytes(true, opPing, payload), 1)
			nextFrame(t, p, true, opPong, payload)
			cleanClose(t, p)
		}},
		{"2.7-unsolicited-pong-empty", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opPong, ""))
			nothingBefore(t, p)
			cleanClose(t, p)
		}},
		{"2.8-unsolicited-pong-payload", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opPong, "unsolicited pong payload"))
			nothingBefore(t, p)
			cleanClose(t, p)
		}},
		{"2.9-unsolicited-pong-then-ping", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(true, opPong, "unsolicited pong payload"), fr(true, opPing, "ping payload")))
			nextFrame(t, p, true, opPong, []byte("ping payload"))
			cleanClose(t, p)
		}},
		{"2.10-ten-pings", func(t *testing.T, p *wstest.Peer) {
			var all []byte
			for i := range 10 {
				all = append(all, fr(true, opPing, fmt.Sprintf("payload-%d", i))...)
			}
			p.Write(all)
			for i := range 10 {
				nextFrame(t, p, true, opPong, []byte(fmt.Sprintf("payload-%d", i)))
			}
			cleanClose(t, p)
		}},
		{"2.11-ten-pings-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			var all []byte
			for i := range 10 {
				all = append(all, fr(true, opPing, fmt.Sprintf("payload-%d", i))...)
			}
			writePieces(p, all, 1)
			for i := range 10 {
				nextFrame(t, p, true, opPong, []byte(fmt.Sprintf("payload-%d", i)))
			}
			cleanClose(t, p)
		}},
	}
	runRFC(t, addr, cases)
}

// Section 3 (Autobahn 3.x): any RSV bit without a negotiated extension fails the connection with
// 1002, even after a valid message, and nothing after the bad frame is answered.
func TestRFCReservedBits(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	var cases []rfcCase
	for rsv := byte(1); rsv <= 7; rsv++ {
		for _, op := range []codec.Opcode{opText, opBinary, opPing, opPong, opClose} {
			for _, piece := range []int{0, 1} {
				name := fmt.Sprintf("rsv%d/%v", rsv, op)
				if piece > 0 {
					if op != opText && op != opBinary {
						continue
					}
					name += "/1-byte-pieces"
				}
				cases = append(cases, rfcCase{name, func(t *testing.T, p *wstest.Peer) {
					var payload []byte
					if op == opClose {
						payload = codec.AppendClosePayload(nil, 1000, "")
					} else {
						payload = []byte("Hello")
					}
					bad := wstest.FrameBytes(true, op, payload)
					bad[0] |= rsv << 4
					all := frames(fr(true, opText, "Hello"), bad, fr(true, opPing, ""))
					if piece == 0 {
						p.Write(all)
					} else {
						writePieces(p, all, piece)
					}
					nextFrame(t, p, true, opText, []byte("Hello"))
					expectFail(t, p, codec.ErrReservedBits)
				}})
			}
		}
	}
	runRFC(t, addr, cases)
}

// Section 4 (Autobahn 4.x): reserved opcodes 3-7 and 11-15 fail the connection with 1002, alone
// or after a valid message; a ping after them is not answered.
func TestRFCReservedOpcodes(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	var cases []rfcCase
	for _, op := range []codec.Opcode{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		cases = append(cases,
			rfcCase{fmt.Sprintf("op%d/empty", op), func(t *testing.T, p *wstest.Peer) {
				p.Write(maskedRaw(0x80|byte(op), nil))
				expectFail(t, p, codec.ErrUnknownOpcode)
			}},
			rfcCase{fmt.Sprintf("op%d/payload", op), func(t *testing.T, p *wstest.Peer) {
				p.Write(maskedRaw(0x80|byte(op), []byte("reserved opcode payload")))
				expectFail(t, p, codec.ErrUnknownOpcode)
			}},
			rfcCase{fmt.Sprintf("op%d/after-valid-message", op), func(t *testing.T, p *wstest.Peer) {
				p.Write(frames(fr(true, opText, "Hello"), maskedRaw(0x80|byte(op), []byte("x")), fr(true, opPing, "")))
				nextFrame(t, p, true, opText, []byte("Hello"))
				expectFail(t, p, codec.ErrUnknownOpcode)
			}},
			rfcCase{fmt.Sprintf("op%d/after-valid-message/1-byte-pieces", op), func(t *testing.T, p *wstest.Peer) {
				writePieces(p, frames(fr(true, opText, "Hello"), maskedRaw(0x80|byte(op), []byte("x")), fr(true, opPing, "")), 1)
				nextFrame(t, p, true, opText, []byte("Hello"))
				expectFail(t, p, codec.ErrUnknownOpcode)
			}},
			rfcCase{fmt.Sprintf("op%d/inside-fragmented-message", op), func(t *testing.T, p *wstest.Peer) {
				p.Write(frames(fr(false, opText, "Hel"), maskedRaw(0x80|byte(op), nil), fr(true, opCont, "lo")))
				expectFail(t, p, codec.ErrUnknownOpcode)
			}},
		)
	}
	runRFC(t, addr, cases)
}

// Section 5 (Autobahn 5.x): fragmentation.
func TestRFCFragmentation(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	withPings := frames(fr(false, opText, "fragment1"), fr(false, opCont, "fragment2"), fr(true, opPing, "pongme 1!"),
		fr(false, opCont, "fragment3"), fr(false, opCont, "fragment4"), fr(true, opPing, "pongme 2!"),
		fr(true, opCont, "fragment5"))
	expectWithPings := func(t *testing.T, p *wstest.Peer) {
		nextFrame(t, p, true, opPong, []byte("pongme 1!"))
		nextFrame(t, p, true, opPong, []byte("pongme 2!"))
		nextFrame(t, p, true, opText, []byte("fragment1fragment2fragment3fragment4fragment5"))
		cleanClose(t, p)
	}
	cases := []rfcCase{
		{"5.1-fragmented-ping", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opPing, "fragment1"), fr(true, opCont, "fragment2")))
			expectFail(t, p, codec.ErrFragmentedControl)
		}},
		{"5.2-fragmented-pong", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opPong, "fragment1"), fr(true, opCont, "fragment2")))
			expectFail(t, p, codec.ErrFragmentedControl)
		}},
		{"fragmented-close", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(wstest.FrameBytes(false, opClose, codec.AppendClosePayload(nil, 1000, "")), fr(true, opCont, "")))
			expectFail(t, p, codec.ErrFragmentedControl)
		}},
		{"5.3-text-2-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opCont, "fragment2")))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.4-text-2-fragments-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			writePieces(p, frames(fr(false, opText, "fragment1"), fr(true, opCont, "fragment2")), 1)
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.5-text-2-fragments-separate-writes", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(false, opText, "fragment1"))
			nothingBefore(t, p) // no echo of a message not yet whole
			p.Write(fr(true, opCont, "fragment2"))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.6-binary-2-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(wstest.FrameBytes(false, opBinary, []byte{0, 1}), wstest.FrameBytes(true, opCont, []byte{0xff})))
			nextFrame(t, p, true, opBinary, []byte{0, 1, 0xff})
			cleanClose(t, p)
		}},
		{"5.6-ping-between-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opPing, "pongme!"), fr(true, opCont, "fragment2")))
			nextFrame(t, p, true, opPong, []byte("pongme!"))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.7-ping-between-fragments-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			writePieces(p, frames(fr(false, opText, "fragment1"), fr(true, opPing, "pongme!"), fr(true, opCont, "fragment2")), 1)
			nextFrame(t, p, true, opPong, []byte("pongme!"))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.8-ping-answered-before-the-message-ends", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opPing, "pongme!")))
			nextFrame(t, p, true, opPong, []byte("pongme!"))
			p.Write(fr(true, opCont, "fragment2"))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			cleanClose(t, p)
		}},
		{"5.9-continuation-fin-without-start", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(true, opCont, "non-continuation payload"), fr(true, opText, "Hello, world!")))
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.10-continuation-fin-without-start-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			writePieces(p, frames(fr(true, opCont, "non-continuation payload"), fr(true, opText, "Hello, world!")), 1)
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.12-continuation-nofin-without-start", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opCont, "non-continuation payload"), fr(true, opText, "Hello, world!")))
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.15-continuation-after-finished-message", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opCont, "fragment2"),
				fr(false, opCont, "fragment3"), fr(true, opText, "fragment4")))
			nextFrame(t, p, true, opText, []byte("fragment1fragment2"))
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.16-continuation-first-twice", func(t *testing.T, p *wstest.Peer) {
			seq := frames(fr(false, opCont, "fragment1"), fr(false, opText, "fragment2"), fr(true, opCont, "fragment3"))
			p.Write(frames(seq, seq))
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.17-continuation-fin-first-twice", func(t *testing.T, p *wstest.Peer) {
			seq := frames(fr(true, opCont, "fragment1"), fr(false, opText, "fragment2"), fr(true, opCont, "fragment3"))
			p.Write(frames(seq, seq))
			expectFail(t, p, codec.ErrUnexpectedCont)
		}},
		{"5.18-text-inside-text", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opText, "fragment2")))
			expectFail(t, p, codec.ErrExpectedCont)
		}},
		{"binary-inside-text", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), fr(true, opBinary, "fragment2")))
			expectFail(t, p, codec.ErrExpectedCont)
		}},
		{"text-inside-binary", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opBinary, "fragment1"), fr(true, opText, "fragment2")))
			expectFail(t, p, codec.ErrExpectedCont)
		}},
		{"binary-inside-binary", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opBinary, "fragment1"), fr(false, opBinary, "fragment2")))
			expectFail(t, p, codec.ErrExpectedCont)
		}},
		{"5.19-pings-between-5-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(withPings)
			expectWithPings(t, p)
		}},
		{"5.20-pings-between-5-fragments-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			writePieces(p, withPings, 1)
			expectWithPings(t, p)
		}},
		{"1-byte-fragments", func(t *testing.T, p *wstest.Peer) {
			msg := "Hello-µ@ßöäüàá-UTF-8!!"
			var all []byte
			for i := 0; i < len(msg); i++ {
				op := opCont
				if i == 0 {
					op = opText
				}
				all = append(all, fr(i == len(msg)-1, op, msg[i:i+1])...)
			}
			p.Write(all)
			nextFrame(t, p, true, opText, []byte(msg))
			cleanClose(t, p)
		}},
		{"1-byte-binary-fragments", func(t *testing.T, p *wstest.Peer) {
			msg := pattern(300)
			var all []byte
			for i := range msg {
				op := opCont
				if i == 0 {
					op = opBinary
				}
				all = append(all, wstest.FrameBytes(i == len(msg)-1, op, msg[i:i+1])...)
			}
			p.Write(all)
			nextFrame(t, p, true, opBinary, msg)
			cleanClose(t, p)
		}},
		{"6.1.2-empty-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, ""), fr(false, opCont, ""), fr(true, opCont, "")))
			nextFrame(t, p, true, opText, nil)
			cleanClose(t, p)
		}},
		{"6.1.3-empty-fragments-around-text", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, ""), fr(false, opCont, "middle frame payload"), fr(true, opCont, "")))
			nextFrame(t, p, true, opText, []byte("middle frame payload"))
			cleanClose(t, p)
		}},
		{"6.1.1-empty-text", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opText, ""))
			nextWire(t, p, []byte{0x81, 0x00})
			cleanClose(t, p)
		}},
		{"empty-binary", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opBinary, ""))
			nextWire(t, p, []byte{0x82, 0x00})
			cleanClose(t, p)
		}},
	}
	runRFC(t, addr, cases)
}

// utf8Valid are texts Autobahn 6.x sends that must be echoed: boundary code points, every length
// of sequence, noncharacters (valid UTF-8) and U+FFFD.
var utf8Valid = map[string]string{
	"6.2-mixed":             "Hello-µ@ßöäüàá-UTF-8!!",
	"6.5.1-kosme":           "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
	"6.7.1-U+0000":          "\x00",
	"6.7.2-U+0080":          "\xc2\x80",
	"6.7.3-U+0800":          "\xe0\xa0\x80",
	"6.7.4-U+10000":         "\xf0\x90\x80\x80",
	"6.9.1-U+007F":          "\x7f",
	"6.9.2-U+07FF":          "\xdf\xbf",
	"6.9.3-U+FFFF":          "\xef\xbf\xbf",
	"6.9.4-U+10FFFF":        "\xf4\x8f\xbf\xbf",
	"6.11.1-U+D7FF":         "\xed\x9f\xbf",
	"6.11.2-U+E000":         "\xee\x80\x80",
	"6.11.3-U+FFFD":         "\xef\xbf\xbd",
	"6.22.1-U+FFFE":         "\xef\xbf\xbe",
	"6.22.3-U+1FFFE":        "\xf0\x9f\xbf\xbe",
	"6.22.34-U+10FFFE":      "\xf4\x8f\xbf\xbe",
	"6.23.1-U+FFFD-in-text": "a\xef\xbf\xbdb",
	"emoji":                 "🙂 ≠ ∞ 中文",
}

// utf8Invalid are texts Autobahn 6.x sends that must fail the connection with 1007.
var utf8Invalid = map[string]string{
	"6.3.1-kosme-surrogate":        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
	"6.8.1-5-byte-sequence":        "\xf8\x88\x80\x80\x80",
	"6.8.2-6-byte-sequence":        "\xfc\x84\x80\x80\x80\x80",
	"6.10.1-above-U+10FFFF":        "\xf4\x90\x80\x80",
	"6.10.2-5-byte-max":            "\xfb\xbf\xbf\xbf\xbf",
	"6.12.1-first-continuation":    "\x80",
	"6.12.2-last-continuation":     "\xbf",
	"6.12.3-two-continuations":     "\x80\xbf",
	"6.12.8-all-continuations":     string(seq(0x80, 0xbf)),
	"6.13.1-lonely-2-byte-start":   "\xc0 \xc1 \xc2 ",
	"6.13.2-lonely-3-byte-start":   "\xe0 \xef ",
	"6.13.3-lonely-4-byte-start":   "\xf0 \xf7 ",
	"6.14.1-2-byte-missing-last":   "\xc0",
	"6.14.2-3-byte-missing-last":   "\xe0\x80",
	"6.14.3-4-byte-missing-last":   "\xf0\x80\x80",
	"6.14.6-missing-last-U+07FF":   "\xdf",
	"6.14.7-missing-last-U+FFFF":   "\xef\xbf",
	"6.14.8-missing-last-U+10FFFF": "\xf4\x8f\xbf",
	"6.15.1-incomplete-concat":     "\xc0\xe0\x80\xf0\x80\x80\xdf\xef\xbf",
	"6.16.1-FE":                    "\xfe",
	"6.16.2-FF":                    "\xff",
	"6.16.3-FEFEFFFF":              "\xfe\xfe\xff\xff",
	"6.17.1-overlong-slash-2":      "\xc0\xaf",
	"6.17.2-overlong-slash-3":      "\xe0\x80\xaf",
	"6.17.3-overlong-slash-4":      "\xf0\x80\x80\xaf",
	"6.18.1-max-overlong-2":        "\xc1\xbf",
	"6.18.2-max-overlong-3":        "\xe0\x9f\xbf",
	"6.18.3-max-overlong-4":        "\xf0\x8f\xbf\xbf",
	"6.19.1-overlong-nul-2":        "\xc0\x80",
	"6.19.2-overlong-nul-3":        "\xe0\x80\x80",
	"6.19.3-overlong-nul-4":        "\xf0\x80\x80\x80",
	"6.20.1-U+D800":                "\xed\xa0\x80",
	"6.20.4-U+DBFF":                "\xed\xaf\xbf",
	"6.20.5-U+DC00":                "\xed\xb0\x80",
	"6.20.7-U+DFFF":                "\xed\xbf\xbf",
	"6.21.1-surrogate-pair":        "\xed\xa0\x80\xed\xb0\x80",
	"6.21.8-surrogate-pair-max":    "\xed\xaf\xbf\xed\xbf\xbf",
	"ascii-then-bad":               "Hello, world! \xff",
}

func seq(from, to byte) []byte {
	var b []byte
	for c := int(from); c <= int(to); c++ {
		b = append(b, byte(c))
	}
	return b
}

// byteFragments splits text into a text message of one fragment per byte.
func byteFragments(text string) []byte {
	var all []byte
	for i := 0; i < len(text); i++ {
		op := opCont
		if i == 0 {
			op = opText
		}
		all = append(all, fr(i == len(text)-1, op, text[i:i+1])...)
	}
	return all
}

// Section 6 (Autobahn 6.x): UTF-8 handling. Valid texts are echoed, sent whole, as one fragment
// per byte and in 1-byte pieces; invalid ones fail with 1007 whichever way they are cut; and an
// invalid byte fails the connection at once, before the rest of the message is sent (fail fast,
// RFC 6455 section 8.1).
func TestRFCUTF8(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	var cases []rfcCase
	for _, name := range sortedKeys(utf8Valid) {
		text := utf8Valid[name]
		cases = append(cases,
			rfcCase{name + "/whole", func(t *testing.T, p *wstest.Peer) {
				p.Write(fr(true, opText, text))
				nextFrame(t, p, true, opText, []byte(text))
				cleanClose(t, p)
			}},
			rfcCase{name + "/fragment-per-byte", func(t *testing.T, p *wstest.Peer) {
				p.Write(byteFragments(text))
				nextFrame(t, p, true, opText, []byte(text))
				cleanClose(t, p)
			}},
			rfcCase{name + "/1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
				writePieces(p, fr(true, opText, text), 1)
				nextFrame(t, p, true, opText, []byte(text))
				cleanClose(t, p)
			}},
		)
	}
	for _, name := range sortedKeys(utf8Invalid) {
		text := utf8Invalid[name]
		cases = append(cases,
			rfcCase{name + "/whole", func(t *testing.T, p *wstest.Peer) {
				p.Write(fr(true, opText, text))
				expectFail(t, p, codec.ErrInvalidUTF8)
			}},
			rfcCase{name + "/fragment-per-byte", func(t *testing.T, p *wstest.Peer) {
				p.Write(byteFragments(text))
				expectFail(t, p, codec.ErrInvalidUTF8)
			}},
			rfcCase{name + "/1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
				writePieces(p, fr(true, opText, text), 1)
				expectFail(t, p, codec.ErrInvalidUTF8)
			}},
		)
	}
	// Fail fast: the close must come while the rest of the message is still unsent.
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	failFast := func(pieces ...[]byte) func(t *testing.T, p *wstest.Peer) {
		return func(t *testing.T, p *wstest.Peer) {
			for _, piece := range pieces[:len(pieces)-1] {
				p.Write(piece)
			}
			expectFail(t, p, codec.ErrInvalidUTF8)
			p.Conn.Write(pieces[len(pieces)-1]) // may fail: the server is gone
		}
	}
	whole := fr(true, opText, kosme+"\xf4\x90\x80\x80edited")
	hl := 6 // 2 header bytes and the key: the payload is short
	cases = append(cases,
		rfcCase{"6.4.1-invalid-fragment", failFast(
			fr(false, opText, kosme), fr(false, opCont, "\xf4\x90\x80\x80"), fr(true, opCont, "edited"))},
		rfcCase{"6.4.2-invalid-byte-in-next-fragment", failFast(
			fr(false, opText, kosme+"\xf4"), fr(false, opCont, "\x90"), fr(true, opCont, "\x80\x80edited"))},
		rfcCase{"6.4.3-invalid-in-partial-frame", failFast(
			whole[:hl+len(kosme)], whole[hl+len(kosme):hl+len(kosme)+4], whole[hl+len(kosme)+4:])},
		rfcCase{"6.4.4-invalid-byte-in-partial-frame", failFast(
			whole[:hl+len(kosme)+1], whole[hl+len(kosme)+1:hl+len(kosme)+2], whole[hl+len(kosme)+2:])},
		rfcCase{"invalid-in-first-fragment", failFast(
			fr(false, opText, "ab\xff"), fr(true, opCont, "cd"))},
		rfcCase{"invalid-in-first-fragment-of-long-frame", failFast(
			// a 200-byte first fragment of which only the bad start has arrived
			fr(false, opText, "\xff"+strings.Repeat("a", 199))[:hl+2+1], // header has a 16-bit length: 8 bytes
			fr(false, opText, "\xff"+strings.Repeat("a", 199))[hl+2+1:])},
	)
	runRFC(t, addr, cases)
}

// Section 7 (Autobahn 7.x): closing.
func TestRFCClose(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr := echoServer(t)
	reason123 := strings.Repeat("*", 123)
	cases := []rfcCase{
		{"7.1.1-echo-then-close", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opText, "Hello World!"))
			nextFrame(t, p, true, opText, []byte("Hello World!"))
			cleanClose(t, p)
		}},
		{"7.1.2-close-twice", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(closeFrame(1000, ""), closeFrame(1000, "")))
			nextClose(t, p, 1000, new(string))
			p.ExpectEOF()
		}},
		{"7.1.3-ping-after-close", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(closeFrame(1000, ""), fr(true, opPing, "Hello World!")))
			nextClose(t, p, 1000, new(string))
			p.ExpectEOF()
		}},
		{"7.1.4-text-after-close", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(closeFrame(1000, ""), fr(true, opText, "Hello World!")))
			nextClose(t, p, 1000, new(string))
			p.ExpectEOF()
		}},
		{"7.1.5-close-between-fragments", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, "fragment1"), closeFrame(1000, ""), fr(true, opCont, "fragment2")))
			nextClose(t, p, 1000, new(string))
			p.ExpectEOF()
		}},
		{"7.1.6-large-text-close-ping", func(t *testing.T, p *wstest.Peer) {
			big := strings.Repeat("BAsd7&jh23", 26214)
			p.Write(frames(fr(true, opText, big), closeFrame(1000, ""), fr(true, opPing, "")))
			nextFrame(t, p, true, opText, []byte(big))
			nextClose(t, p, 1000, new(string))
			p.ExpectEOF()
		}},
		{"7.3.1-empty-payload", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opClose, ""))
			nextWire(t, p, []byte{0x88, 0x00})
			p.ExpectEOF()
		}},
		{"7.3.2-one-byte-payload", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opClose, "a"))
			expectFail(t, p, codec.ErrCloseOneByte)
		}},
		{"7.3.3-code-only", func(t *testing.T, p *wstest.Peer) {
			p.Write(closeFrame(1000, ""))
			nextWire(t, p, []byte{0x88, 0x02, 0x03, 0xe8})
			p.ExpectEOF()
		}},
		{"7.3.4-code-and-reason", func(t *testing.T, p *wstest.Peer) {
			p.Write(closeFrame(1000, "Hello World!"))
			nextWire(t, p, wstest.ServerFrame(true, opClose, codec.AppendClosePayload(nil, 1000, "Hello World!")))
			p.ExpectEOF()
		}},
		{"7.3.5-reason-of-123-bytes", func(t *testing.T, p *wstest.Peer) {
			p.Write(closeFrame(1000, reason123))
			nextClose(t, p, 1000, &reason123)
			p.ExpectEOF()
		}},
		{"7.3.6-reason-of-124-bytes", func(t *testing.T, p *wstest.Peer) {
			p.WriteFrame(true, opClose, append([]byte{0x03, 0xe8}, reason123+"*"...))
			expectFail(t, p, codec.ErrControlTooLong)
		}},
		{"7.5.1-reason-invalid-utf8", func(t *testing.T, p *wstest.Peer) {
			p.WriteFrame(true, opClose, append([]byte{0x03, 0xe8}, utf8Invalid["6.3.1-kosme-surrogate"]...))
			expectFail(t, p, codec.ErrInvalidCloseReason)
		}},
		{"reason-multibyte-utf8", func(t *testing.T, p *wstest.Peer) {
			r := "κόσμε 🙂"
			p.Write(closeFrame(1000, r))
			nextClose(t, p, 1000, &r)
			p.ExpectEOF()
		}},
		{"close-in-1-byte-pieces", func(t *testing.T, p *wstest.Peer) {
			r := "bye"
			writePieces(p, closeFrame(4000, r), 1)
			nextClose(t, p, 4000, &r)
			p.ExpectEOF()
		}},
	}
	for _, code := range []codec.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, rfcCase{fmt.Sprintf("7.7-valid-code-%d", code), func(t *testing.T, p *wstest.Peer) {
			p.Write(closeFrame(code, ""))
			nextWire(t, p, wstest.ServerFrame(true, opClose, codec.AppendClosePayload(nil, code, "")))
			p.ExpectEOF()
		}})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, rfcCase{fmt.Sprintf("7.9-invalid-code-%d", code), func(t *testing.T, p *wstest.Peer) {
			p.WriteFrame(true, opClose, []byte{byte(code >> 8), byte(code), 'x'})
			expectFail(t, p, codec.ErrInvalidCloseCode)
		}})
	}
	runRFC(t, addr, cases)
}

// Section 10 (Autobahn 10.1.1) and RFC 6455 section 7.4.1 (1009): with MaxBufferLength N, a
// message of exactly N bytes is delivered and one of N+1 fails the connection with 1009, whether
// in a single frame (sent whole, or only its header: the declared length alone must fail it) or
// fragmented (the running size of the message). The echo and the close frame are checked byte for
// byte on the wire, so a limit off by one either way fails.
func TestRFCMessageTooBig(t *testing.T) {
	wstest.CheckLeaks(t)
	const n = 1000
	s, addr := startServer(t, &ServerOptions{MaxBufferLength: n}, nil)
	s.OnMessage(func(c *Conn, typ MessageType, p []byte) { c.SendMessage(typ, p, nil) })
	x := func(k int) string { return strings.Repeat("x", k) }
	// echoed is the server's unmasked frame of n bytes: 126 and the 16-bit length 1000 (0x03e8).
	echoed := func(op byte) []byte { return append([]byte{0x80 | op, 126, 0x03, 0xe8}, x(n)...) }
	cases := []rfcCase{
		{"exactly-the-cap", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opText, x(n)))
			nextWire(t, p, echoed(0x1))
			cleanClose(t, p)
		}},
		{"exactly-the-cap-fragmented", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opBinary, x(600)), fr(true, opCont, x(n-600))))
			nextWire(t, p, echoed(0x2))
			cleanClose(t, p)
		}},
		{"one-over-the-cap", func(t *testing.T, p *wstest.Peer) {
			p.Write(fr(true, opText, x(n+1)))
			expectTooBig(t, p, codec.ErrPayloadTooBig)
		}},
		{"10.1.1-text-declared-length", func(t *testing.T, p *wstest.Peer) {
			// Only the header is sent: the declared length alone must fail the connection.
			f := fr(true, opText, x(n+1))
			p.Write(f[:8])
			expectTooBig(t, p, codec.ErrPayloadTooBig)
		}},
		{"binary-64-bit-length", func(t *testing.T, p *wstest.Peer) {
			p.Write(frameWithLength(0x82, []byte{127, 0, 0, 0, 1, 0, 0, 0, 0}, nil))
			expectTooBig(t, p, codec.ErrPayloadTooBig)
		}},
		{"fragmented-text-running-size", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, x(900)), fr(false, opCont, x(900))))
			expectTooBig(t, p, codec.ErrMessageTooBig)
		}},
		{"fragmented-binary-one-over", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opBinary, x(n-1)), fr(true, opCont, "xx")))
			expectTooBig(t, p, codec.ErrMessageTooBig)
		}},
		{"control-frames-do-not-count", func(t *testing.T, p *wstest.Peer) {
			p.Write(frames(fr(false, opText, x(950)), fr(true, opPing, strings.Repeat("p", 125)),
				fr(true, opCont, x(n-950))))
			nextFrame(t, p, true, opPong, []byte(strings.Repeat("p", 125)))
			nextFrame(t, p, true, opText, []byte(x(n)))
			cleanClose(t, p)
		}},
	}
	runRFC(t, addr, cases)
}
