package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// The wire layer: frames written exactly as a case describes them (any bits, any opcode, any
// length encoding) and a lenient reader that reports every frame the peer sends as it is, so that
// the judging code, not the parser, decides what is a violation. The codec builds the normal
// parts (headers, masking); nothing here relies on it to accept what a peer sends.

// Opcodes as bytes, reserved ones included.
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// opName names an opcode for reports.
func opName(op byte) string {
	switch op {
	case opCont:
		return "continuation"
	case opText:
		return "text"
	case opBinary:
		return "binary"
	case opClose:
		return "close"
	case opPing:
		return "ping"
	case opPong:
		return "pong"
	}
	return "opcode " + strconv.Itoa(int(op))
}

// frame is a frame to send. The zero values mean: FIN clear, no RSV bits, the minimal length
// encoding, the mask the sending role calls for.
type frame struct {
	fin     bool
	rsv     uint8 // RSV1..3 as a number 0..7 (RSV1 is 4)
	op      byte
	payload []byte
	// lenForm forces the length encoding: 0 minimal, 7 the 7-bit field, 16 the 16-bit extended
	// length, 64 the 64-bit one. rawLen, when set, is written as the length instead of
	// len(payload) (a lie about the length).
	lenForm int
	rawLen  *uint64
	// mask overrides masking: maskAuto follows the role, maskNone and maskForce force it off or on.
	mask    int
	maskKey *[4]byte // a fixed key (all zero, say); nil: a random key
}

// Masking choices of frame.mask.
const (
	maskAuto = iota
	maskNone
	maskForce
)

// msgFrame returns a whole message (FIN set) of type op.
func msgFrame(op byte, payload []byte) frame { return frame{fin: true, op: op, payload: payload} }

// closeFrame returns a close frame carrying code and reason (code < 0: no payload at all).
func closeFrame(code int, reason string) frame {
	if code < 0 {
		return frame{fin: true, op: opClose}
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return frame{fin: true, op: opClose, payload: append(p, reason...)}
}

// describe summarises a frame for the "sent" part of a report.
func (f frame) describe(masked bool) string {
	var b strings.Builder
	b.WriteString(opName(f.op))
	if !f.fin {
		b.WriteString(" FIN=0")
	}
	if f.rsv != 0 {
		fmt.Fprintf(&b, " RSV=%d", f.rsv)
	}
	if f.rawLen != nil {
		fmt.Fprintf(&b, " declared-length=%d", *f.rawLen)
	}
	if f.lenForm != 0 {
		fmt.Fprintf(&b, " %d-bit-length", f.lenForm)
	}
	if f.op == opClose && len(f.payload) >= 2 {
		fmt.Fprintf(&b, " code=%d", binary.BigEndian.Uint16(f.payload))
		if len(f.payload) > 2 {
			b.WriteString(" reason=" + preview(f.payload[2:]))
		}
	} else if len(f.payload) > 0 || f.op <= opBinary {
		b.WriteString(" " + preview(f.payload))
	}
	switch {
	case f.mask == maskNone && masked:
		b.WriteString(" UNMASKED")
	case f.mask == maskForce && !masked:
		b.WriteString(" MASKED")
	case f.maskKey != nil:
		fmt.Fprintf(&b, " mask-key=%x", *f.maskKey)
	}
	return b.String()
}

// encode appends the wire form of f to dst. masked says whether the sending role masks.
func (f frame) encode(dst []byte, masked bool, rng *rand.Rand) []byte {
	switch f.mask {
	case maskNone:
		masked = false
	case maskForce:
		masked = true
	}
	var key [4]byte
	if masked {
		if f.maskKey != nil {
			key = *f.maskKey
		} else {
			binary.LittleEndian.PutUint32(key[:], rng.Uint32())
		}
	}
	n := uint64(len(f.payload))
	if f.rawLen != nil {
		n = *f.rawLen
	}
	if f.lenForm == 0 && f.rawLen == nil {
		dst = codec.AppendHeader(dst, codec.Header{Fin: f.fin, Rsv: f.rsv, Opcode: codec.Opcode(f.op),
			Masked: masked, Mask: key, Length: int64(n)})
	} else {
		b0 := (f.rsv&7)<<4 | f.op&0x0f
		if f.fin {
			b0 |= 0x80
		}
		var mbit byte
		if masked {
			mbit = 0x80
		}
		form := f.lenForm
		if form == 0 {
			switch {
			case n > 0xffff:
				form = 64
			case n > 125:
				form = 16
			default:
				form = 7
			}
		}
		switch form {
		case 7:
			dst = append(dst, b0, mbit|byte(n&0x7f))
		case 16:
			dst = binary.BigEndian.AppendUint16(append(dst, b0, mbit|126), uint16(n))
		default:
			dst = binary.BigEndian.AppendUint64(append(dst, b0, mbit|127), n)
		}
		if masked {
			dst = append(dst, key[:]...)
		}
	}
	start := len(dst)
	dst = append(dst, f.payload...)
	if masked {
		codec.Mask(key, 0, dst[start:])
	}
	return dst
}

// rxFrame is a frame received from the peer, reported exactly as it came.
type rxFrame struct {
	fin     bool
	rsv     uint8
	op      byte
	masked  bool
	key     [4]byte
	lenForm int    // 7, 16 or 64: the length encoding used
	length  uint64 // the declared length
	payload []byte // unmasked
	at      time.Time
}

// minimalForm reports whether the length was sent in its minimal encoding (RFC 6455 5.2 MUST).
func (f *rxFrame) minimalForm() bool {
	switch f.lenForm {
	case 16:
		return f.length > 125
	case 64:
		return f.length > 0xffff
	}
	return true
}

// rxEvent is what the reader goroutine hands over: a frame, or the end of the stream.
type rxEvent struct {
	f   *rxFrame
	err error // io.EOF: the peer closed TCP; errTooLong; any other read error
	at  time.Time
}

// errTooLong is a frame whose declared length is over the reader's limit: reading stops there.
var errTooLong = errors.New("frame longer than the tool's limit")

// reader reads frames from br until an error, sending each to out; it stops early when done is
// closed. It never blocks on out once done is closed.
func reader(br *bufio.Reader, maxFrame uint64, out chan<- rxEvent, done <-chan struct{}) {
	send := func(ev rxEvent) bool {
		select {
		case out <- ev:
			return true
		case <-done:
			return false
		}
	}
	for {
		f, err := readFrame(br, maxFrame)
		if err != nil {
			send(rxEvent{err: err, at: time.Now()})
			return
		}
		if !send(rxEvent{f: f, at: f.at}) {
			return
		}
	}
}

// readFrame reads one frame without judging it.
func readFrame(br *bufio.Reader, maxFrame uint64) (*rxFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, err
	}
	f := &rxFrame{fin: h[0]&0x80 != 0, rsv: (h[0] >> 4) & 7, op: h[0] & 0x0f, masked: h[1]&0x80 != 0}
	switch l := h[1] & 0x7f; l {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return nil, unexpected(err)
		}
		f.lenForm, f.length = 16, uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return nil, unexpected(err)
		}
		f.lenForm, f.length = 64, binary.BigEndian.Uint64(ext[:])
	default:
		f.lenForm, f.length = 7, uint64(l)
	}
	if f.masked {
		if _, err := io.ReadFull(br, f.key[:]); err != nil {
			return nil, unexpected(err)
		}
	}
	if f.length > maxFrame {
		return nil, fmt.Errorf("%w: %s frame of %d bytes", errTooLong, opName(f.op), f.length)
	}
	f.payload = make([]byte, f.length)
	if _, err := io.ReadFull(br, f.payload); err != nil {
		return nil, unexpected(err)
	}
	if f.masked {
		codec.Mask(f.key, 0, f.payload)
	}
	f.at = time.Now()
	return f, nil
}

// unexpected turns an EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// preview shows the start of a payload: quoted when it is printable text, hex otherwise, with its
// length.
func preview(p []byte) string {
	const max = 24
	cut := p
	if len(cut) > max {
		cut = cut[:max]
	}
	printable := codec.ValidUTF8(p) || len(p) > max
	for _, c := range cut {
		if c < 0x20 || c == 0x7f {
			printable = false
		}
	}
	var s string
	if printable && codec.ValidUTF8(cut) {
		s = strconv.Quote(string(cut))
	} else {
		s = "0x" + fmt.Sprintf("%x", cut)
	}
	if len(p) > max {
		s += "..."
	}
	return fmt.Sprintf("%s (%d bytes)", s, len(p))
}
