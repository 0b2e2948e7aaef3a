package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"

	ws "github.com/wsloop/wsloop/api"
)

// Every payload loadgen sends is self-describing, so that what comes back can be checked byte for
// byte without keeping a copy:
//
//	magic "wsLG" | stream u32 | seq u64 | sent ns i64 | length u32 | crc32c u32 | filler
//
// The fields are little endian, written raw in binary messages and as hexadecimal in text
// messages (which must be UTF-8). stream names the sender (a connection, or the broadcast
// publisher), seq numbers its messages from 0, sent is the send time in nanoseconds since the run
// started (the latency clock), length is the whole payload's length, and the checksum (CRC-32C)
// covers the whole payload with the checksum field taken as zero bytes. The filler is a
// pseudo-random sequence seeded by stream and seq (ASCII letters in text messages), regenerated
// on receipt and compared byte for byte.
const (
	magic         = "wsLG"
	rawFields     = 4 + 8 + 8 + 4 + 4
	binHeaderLen  = len(magic) + rawFields
	textHeaderLen = len(magic) + 2*rawFields
	crcRaw        = 24 // offset of the checksum among the raw fields
)

// format is the shape of the payloads of a run.
type format struct {
	text bool
	size int
}

// header is what a payload says about itself.
type header struct {
	stream uint32
	seq    uint64
	sent   int64
}

// fault says why a received payload failed its check.
type fault uint8

const (
	faultNone     fault = iota
	faultType           // text where binary was sent, or the reverse
	faultShort          // shorter than a header
	faultMagic          // does not start with the magic
	faultHeader         // the header of a text payload is not hexadecimal
	faultLength         // the length field is not the payload's length
	faultChecksum       // the checksum does not match
	faultFiller         // the filler differs from the one sent
	faultStream         // a valid payload from a sender this connection should not hear
	faultSeq            // a valid payload with a sequence number never sent
	numFaults
)

var faultNames = [numFaults]string{"", "type", "short", "magic", "header", "length", "checksum", "filler", "stream", "seq"}

func (f fault) String() string { return faultNames[f] }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (f format) headerLen() int {
	if f.text {
		return textHeaderLen
	}
	return binHeaderLen
}

func (f format) messageType() ws.MessageType {
	if f.text {
		return ws.TextMessage
	}
	return ws.BinaryMessage
}

// check reports whether the format can be built: the size must hold a header.
func (f format) check() error {
	if f.size < f.headerLen() {
		kind := "binary"
		if f.text {
			kind = "text"
		}
		return fmt.Errorf("-size %d: %s payloads need at least %d bytes", f.size, kind, f.headerLen())
	}
	return nil
}

// crcField returns the offset and length of the checksum field in a payload.
func (f format) crcField() (int, int) {
	if f.text {
		return len(magic) + 2*crcRaw, 8
	}
	return len(magic) + crcRaw, 4
}

// build writes the payload of (stream, seq) sent at time sent into buf, which must hold f.size
// bytes, and returns it.
func (f format) build(buf []byte, h header) []byte {
	p := buf[:f.size]
	copy(p, magic)
	var raw [rawFields]byte
	binary.LittleEndian.PutUint32(raw[0:], h.stream)
	binary.LittleEndian.PutUint64(raw[4:], h.seq)
	binary.LittleEndian.PutUint64(raw[12:], uint64(h.sent))
	binary.LittleEndian.PutUint32(raw[20:], uint32(f.size))
	hl := f.headerLen()
	fill(p[hl:], seed(h.stream, h.seq), f.text)
	f.putRaw(p, &raw)
	binary.LittleEndian.PutUint32(raw[crcRaw:], f.checksum(p))
	f.putRaw(p, &raw)
	return p
}

func (f format) putRaw(p []byte, raw *[rawFields]byte) {
	if f.text {
		hex.Encode(p[len(magic):textHeaderLen], raw[:])
	} else {
		copy(p[len(magic):binHeaderLen], raw[:])
	}
}

var zeros [8]byte

// checksum is the CRC-32C of p with the checksum field read as zeros.
func (f format) checksum(p []byte) uint32 {
	off, n := f.crcField()
	c := crc32.Update(0, castagnoli, p[:off])
	c = crc32.Update(c, castagnoli, zeros[:n])
	return crc32.Update(c, castagnoli, p[off+n:])
}

// verify checks a received payload: type, magic, header, length, checksum and every byte of the
// filler. It allocates nothing.
func (f format) verify(typ ws.MessageType, p []byte) (header, fault) {
	if typ != f.messageType() {
		return header{}, faultType
	}
	hl := f.headerLen()
	if len(p) < hl {
		return header{}, faultShort
	}
	if string(p[:len(magic)]) != magic {
		return header{}, faultMagic
	}
	var raw [rawFields]byte
	if f.text {
		if !decodeHex(raw[:], p[len(magic):textHeaderLen]) {
			return header{}, faultHeader
		}
	} else {
		copy(raw[:], p[len(magic):binHeaderLen])
	}
	h := header{
		stream: binary.LittleEndian.Uint32(raw[0:]),
		seq:    binary.LittleEndian.Uint64(raw[4:]),
		sent:   int64(binary.LittleEndian.Uint64(raw[12:])),
	}
	if int(binary.LittleEndian.Uint32(raw[20:])) != len(p) {
		return h, faultLength
	}
	if binary.LittleEndian.Uint32(raw[crcRaw:]) != f.checksum(p) {
		return h, faultChecksum
	}
	if !checkFill(p[hl:], seed(h.stream, h.seq), f.text) {
		return h, faultFiller
	}
	return h, faultNone
}

// The filler: splitmix64 seeded by stream and seq, eight bytes per step; text maps each byte to
// one of 64 ASCII characters.
const fillAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func seed(stream uint32, seq uint64) uint64 { return uint64(stream)<<40 ^ seq*0x9E3779B97F4A7C15 }

func splitmix(s *uint64) uint64 {
	*s += 0x9E3779B97F4A7C15
	z := *s
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func fill(b []byte, s uint64, text bool) {
	for i := 0; i < len(b); i += 8 {
		x := splitmix(&s)
		n := min(8, len(b)-i)
		switch {
		case text:
			for j := range n {
				b[i+j] = fillAlphabet[x>>(8*j)&63]
			}
		case n == 8:
			binary.LittleEndian.PutUint64(b[i:], x)
		default:
			for j := range n {
				b[i+j] = byte(x >> (8 * j))
			}
		}
	}
}

func checkFill(b []byte, s uint64, text bool) bool {
	for i := 0; i < len(b); i += 8 {
		x := splitmix(&s)
		n := min(8, len(b)-i)
		switch {
		case text:
			for j := range n {
				if b[i+j] != fillAlphabet[x>>(8*j)&63] {
					return false
				}
			}
		case n == 8:
			if binary.LittleEndian.Uint64(b[i:]) != x {
				return false
			}
		default:
			for j := range n {
				if b[i+j] != byte(x>>(8*j)) {
					return false
				}
			}
		}
	}
	return true
}

// decodeHex decodes src, lower-case hexadecimal as hex.Encode writes it, into dst. Unlike
// hex.Decode it refuses upper case, so that every byte of a text header has one spelling.
func decodeHex(dst, src []byte) bool {
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
