package codec

import (
	"encoding/binary"
	"slices"
	"strconv"
)

// Opcode is the 4-bit frame opcode (RFC 6455 section 5.2).
type Opcode uint8

// Opcodes defined by RFC 6455 section 5.2. The others (3-7 and 11-15) are reserved and rejected by
// ParseHeader.
const (
	OpContinuation Opcode = 0x0 // a continuation of a fragmented message
	OpText         Opcode = 0x1 // the first frame of a text message
	OpBinary       Opcode = 0x2 // the first frame of a binary message
	OpClose        Opcode = 0x8 // a close frame
	OpPing         Opcode = 0x9 // a ping
	OpPong         Opcode = 0xA // a pong
)

// IsControl reports whether op is a control opcode (its high bit set: close, ping, pong and the
// reserved 11-15).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// String returns the opcode's name ("text", "close"...), or "opcode(N)" for a reserved one.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(" + strconv.Itoa(int(op)) + ")"
}

// known reports whether op is one of the six opcodes RFC 6455 defines.
func (op Opcode) known() bool {
	return op <= OpBinary || (op >= OpClose && op <= OpPong)
}

// Role is the side of the connection this endpoint plays. It decides which frames must be masked
// (RFC 6455 section 5.1): a client masks every frame it sends, a server none.
type Role uint8

// The two roles. ServerRole is the zero value.
const (
	// ServerRole: incoming frames must be masked, outgoing frames are not.
	ServerRole Role = iota
	// ClientRole: incoming frames must not be masked, outgoing frames are.
	ClientRole
)

// String returns "server" or "client" ("role(N)" for any other value).
func (r Role) String() string {
	switch r {
	case ServerRole:
		return "server"
	case ClientRole:
		return "client"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// Header is a frame header (RFC 6455 section 5.2).
type Header struct {
	Fin    bool    // FIN: this is the final fragment of a message
	Rsv    uint8   // RSV1, RSV2, RSV3 as a number 0..7 (RSV1 is 4); ParseHeader only accepts 0, ParseHeaderDeflate also 4
	Opcode Opcode  // the opcode, 0..15
	Masked bool    // MASK: the payload is masked with Mask
	Mask   [4]byte // the masking key, meaningful when Masked
	Length int64   // the payload length, 0..2^63-1
}

// Header sizes.
const (
	// MaxHeaderLen is the longest frame header: 2 bytes, an 8-byte length and a 4-byte key.
	MaxHeaderLen = 14
	// MaxControlPayload is the longest payload a control frame may carry.
	MaxControlPayload = 125
)

// ParseHeader parses the frame header at the start of b for an endpoint playing role.
//
// It returns the header and its size n in bytes; the payload follows at b[n:] and is left as it
// is (still masked: see Mask). n == 0 with a nil error means b holds only a prefix of a header and
// more bytes are needed; every prefix of a valid header answers that. Errors are the
// *ProtocolError values of this package, found in wire order as soon as the bytes received
// allow, so a prefix of an invalid header answers either "need more" or the error the whole
// header gives:
//   - the first byte alone reports ErrReservedBits (any RSV bit: ParseHeader knows no
//     extension), ErrUnknownOpcode and ErrFragmentedControl;
//   - the second ErrUnmaskedFrame (role is ServerRole and the MASK bit is clear) or
//     ErrMaskedFrame (role is ClientRole and it is set), then, for lengths in the second byte,
//     ErrControlTooLong and ErrPayloadTooBig;
//   - the extended length reports ErrLengthTopBit (the most significant bit of a 64-bit length)
//     and, as soon as the bytes received make the length too long whatever follows,
//     ErrControlTooLong (a control frame over 125 bytes) or ErrPayloadTooBig (a length over
//     maxPayload; maxPayload <= 0 means no limit). ErrPayloadTooBig carries close code 1009,
//     the others 1002.
//
// Lengths are accepted in any of the three forms, minimal or not: a 5 sent in 8 bytes is a 5.
// Any role other than ClientRole is treated as ServerRole. ParseHeader never panics and never
// allocates.
func ParseHeader(b []byte, role Role, maxPayload int64) (h Header, n int, err error) {
	return parseHeader(b, role, maxPayload, false)
}

// ParseHeaderDeflate is ParseHeader for a connection that negotiated permessage-deflate: RSV1
// (Header.Rsv 4, "compressed") is accepted on the first frame of a message, a text or binary
// frame. On a continuation or control frame, and RSV2 and RSV3 on any frame, it reports
// ErrReservedBits as ParseHeader does (RFC 7692 section 6).
func ParseHeaderDeflate(b []byte, role Role, maxPayload int64) (h Header, n int, err error) {
	return parseHeader(b, role, maxPayload, true)
}

// parseHeader is ParseHeader, accepting RSV1 on text and binary frames when rsv1 is set.
func parseHeader(b []byte, role Role, maxPayload int64, rsv1 bool) (h Header, n int, err error) {
	if len(b) == 0 {
		return Header{}, 0, nil
	}
	b0 := b[0]
	op := Opcode(b0 & 0x0f)
	if rsvBits := b0 & 0x70; rsvBits != 0 && (!rsv1 || rsvBits != 0x40 || (op != OpText && op != OpBinary)) {
		return Header{}, 0, ErrReservedBits
	}
	if !op.known() {
		return Header{}, 0, ErrUnknownOpcode
	}
	fin := b0&0x80 != 0
	control := op.IsControl()
	if control && !fin {
		return Header{}, 0, ErrFragmentedControl
	}
	if len(b) < 2 {
		return Header{}, 0, nil
	}
	b1 := b[1]
	masked := b1&0x80 != 0
	if masked != (role != ClientRole) {
		if masked {
			return Header{}, 0, ErrMaskedFrame
		}
		return Header{}, 0, ErrUnmaskedFrame
	}

	// The length: in the second byte, or in the 2 or 8 bytes after it.
	var length int64
	n = 2
	switch l7 := b1 & 0x7f; l7 {
	case 126:
		n = 4
		if len(b) < n {
			return Header{}, 0, partialLength(b[2:], 2, control, maxPayload)
		}
		length = int64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		n = 10
		if len(b) < n {
			return Header{}, 0, partialLength(b[2:], 8, control, maxPayload)
		}
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return Header{}, 0, ErrLengthTopBit
		}
		length = int64(u)
	default:
		length = int64(l7)
	}
	if control && length > MaxControlPayload {
		return Header{}, 0, ErrControlTooLong
	}
	if maxPayload > 0 && length > maxPayload {
		return Header{}, 0, ErrPayloadTooBig
	}
	h = Header{Fin: fin, Rsv: (b0 >> 4) & 7, Opcode: op, Masked: masked, Length: length}
	if masked {
		if len(b) < n+4 {
			return Header{}, 0, nil
		}
		h.Mask = [4]byte(b[n : n+4])
		n += 4
	}
	return h, n, nil
}

// partialLength checks ext, the first bytes (fewer than width) of a big-endian extended length
// of width bytes (2 or 8). It reports ErrLengthTopBit (8 bytes only), or the error the whole
// length is bound to give once the smallest value it can still take, ext followed by zeros, is
// already too long. Otherwise it returns nil: need more.
func partialLength(ext []byte, width int, control bool, maxPayload int64) error {
	if len(ext) == 0 || len(ext) >= width {
		return nil
	}
	if width == 8 && ext[0]&0x80 != 0 {
		return ErrLengthTopBit
	}
	var low uint64 // the smallest length ext can still grow into; below 2^63
	for i, c := range ext {
		low |= uint64(c) << (8 * uint(width-1-i))
	}
	if control {
		// A control frame answers ErrControlTooLong before ErrPayloadTooBig, and while its length
		// may still be 125 or less, which of the two applies is not known yet.
		if low > MaxControlPayload {
			return ErrControlTooLong
		}
		return nil
	}
	if maxPayload > 0 && low > uint64(maxPayload) {
		return ErrPayloadTooBig
	}
	return nil
}

// HeaderLen returns the size of the header AppendHeader writes for a payload of length bytes:
// 2, 4 or 10 bytes, plus 4 when masked.
func HeaderLen(length int64, masked bool) int {
	n := 2
	switch {
	case length > 0xffff:
		n = 10
	case length > MaxControlPayload:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}

// AppendHeader appends the wire form of h to dst and returns the extended slice. The length takes
// its minimal encoding and the masking key is written when h.Masked. Only the low 3 bits of h.Rsv
// and the low 4 bits of h.Opcode are used. It does not check that h makes sense (a fragmented
// control frame, say): that is the caller's business. A negative h.Length is a programming error
// and panics. It allocates only when dst must grow.
func AppendHeader(dst []byte, h Header) []byte {
	if h.Length < 0 {
		panic("codec: negative frame length")
	}
	b0 := (h.Rsv&7)<<4 | byte(h.Opcode&0x0f)
	if h.Fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length > 0xffff:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	case h.Length > MaxControlPayload:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|byte(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole frame, header and payload, to dst and returns the extended slice.
// With ClientRole the frame is masked with key: the copy of the payload in dst is masked, the
// caller's payload is never modified. With ServerRole the frame is not masked and key is ignored.
// AppendFrame does not check that the frame makes sense (a control frame over 125 bytes, say).
// It allocates only when dst lacks room for the frame.
func AppendFrame(dst []byte, fin bool, op Opcode, payload []byte, role Role, key [4]byte) []byte {
	masked := role == ClientRole
	h := Header{Fin: fin, Opcode: op, Masked: masked, Mask: key, Length: int64(len(payload))}
	dst = slices.Grow(dst, HeaderLen(h.Length, masked)+len(payload))
	dst = AppendHeader(dst, h)
	n := len(dst)
	dst = append(dst, payload...)
	if masked {
		Mask(key, 0, dst[n:])
	}
	return dst
}
