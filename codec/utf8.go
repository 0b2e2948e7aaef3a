package codec

import (
	"encoding/binary"
	"math/bits"
)

// UTF8Validator checks that a text message is valid UTF-8 while it arrives in pieces: fragment by
// fragment and, inside a fragment, read by read. Each call to Feed validates its bytes as the
// continuation of everything fed before, so a character split across two reads or two frames is
// checked exactly as if it had arrived whole, and an invalid message is rejected at its first bad
// byte (RFC 6455 section 8.1: fail fast, without waiting for the rest of the message).
//
// The zero value is ready to use and the whole state is three bytes, small enough to live in every
// connection. A validator that has failed stays failed until Reset.
type UTF8Validator struct {
	need uint8 // continuation bytes still expected (0..3), or utf8Failed
	lo   uint8 // smallest value allowed for the next byte while need > 0
	hi   uint8 // largest value allowed for the next byte while need > 0
}

// utf8Failed marks a validator that has seen an invalid byte.
const utf8Failed = 0xFF

// Continuation bytes are 10xxxxxx: 0x80..0xBF.
const (
	utf8ContLo = 0x80
	utf8ContHi = 0xBF
)

// utf8HiBits selects the top bit of each of the 8 bytes of a little-endian word: a word of ASCII
// bytes has none of them set.
const utf8HiBits = 0x8080808080808080

// utf8Lead describes every byte value as the first byte of a sequence, packed in a uint32:
// bits 0..7 the sequence length (2, 3 or 4; 0 for a byte that cannot start a sequence: a
// continuation byte, C0, C1, F5..FF; ASCII bytes are never looked up), bits 8..15 the smallest
// allowed second byte, bits 16..23 the width of the allowed range (largest minus smallest). The
// second-byte range is where overlong forms (E0, F0), surrogates (ED) and code points above
// U+10FFFF (F4) are excluded; third and fourth bytes are always 80..BF.
var utf8Lead = func() (t [256]uint32) {
	set := func(from, to int, size, lo, hi uint32) {
		for b := from; b <= to; b++ {
			t[b] = size | lo<<8 | (hi-lo)<<16
		}
	}
	set(0xC2, 0xDF, 2, utf8ContLo, utf8ContHi)
	set(0xE0, 0xE0, 3, 0xA0, utf8ContHi) // below A0 would be an overlong encoding of < U+0800
	set(0xE1, 0xEC, 3, utf8ContLo, utf8ContHi)
	set(0xED, 0xED, 3, utf8ContLo, 0x9F) // A0..BF would encode the surrogates U+D800..U+DFFF
	set(0xEE, 0xEF, 3, utf8ContLo, utf8ContHi)
	set(0xF0, 0xF0, 4, 0x90, utf8ContHi) // below 90 would be an overlong encoding of < U+10000
	set(0xF1, 0xF3, 4, utf8ContLo, utf8ContHi)
	set(0xF4, 0xF4, 4, utf8ContLo, 0x8F) // 90..BF would encode code points above U+10FFFF
	return t
}()

// utf8Word loads the first 8 bytes of p as a little-endian uint64; the caller ensures len(p) >= 8.
func utf8Word(p []byte) uint64 { return binary.LittleEndian.Uint64(p) }

// asciiPrefixWords returns the number of leading ASCII bytes of p, 32 then 8 bytes at a time; the
// word holding the first non-ASCII byte says where that byte is.
func asciiPrefixWords(p []byte) int {
	i := 0
	for ; i+32 <= len(p); i += 32 {
		q := p[i : i+32 : i+32]
		if (utf8Word(q)|utf8Word(q[8:])|utf8Word(q[16:])|utf8Word(q[24:]))&utf8HiBits != 0 {
			break
		}
	}
	for ; i+8 <= len(p); i += 8 {
		if w := utf8Word(p[i:]) & utf8HiBits; w != 0 {
			return i + bits.TrailingZeros64(w)>>3
		}
	}
	for i < len(p) && p[i] < 0x80 {
		i++
	}
	return i
}

// Feed validates p as the continuation of everything fed so far. It returns (len(p), true) when
// every byte of p can start or continue a valid sequence; p may end in the middle of a character,
// whose remaining bytes the next call checks. Otherwise it returns ok == false and n, the index in p
// of the first byte at which no valid completion exists any more: a byte that can never appear
// (C0, C1, F5..FF), a continuation byte where a character should start, a byte other than an allowed
// continuation where one is expected, or the second byte of an overlong form (E0 80..9F,
// F0 80..8F), of a surrogate (ED A0..BF) or of a code point above U+10FFFF (F4 90..BF).
//
// After a failure the validator stays failed: further calls return (0, false) until Reset. A
// message is valid when every Feed succeeded and Complete reports true at its end.
func (v *UTF8Validator) Feed(p []byte) (n int, ok bool) {
	q := p[:len(p):len(p)]
	if v.need != 0 {
		if q, ok = v.resume(q); !ok {
			return len(p) - len(q), false
		}
		if v.need != 0 {
			return len(p), true // p ended inside the same character
		}
	}
loop:
	for len(q) > 0 {
		if q[0] < 0x80 {
			// A run of ASCII. When its first 32 bytes are, it is likely a long one, as in most
			// text messages: asciiPrefix (SIMD on amd64) finds its end. Otherwise 8 bytes at a
			// time: the word holding the first non-ASCII byte says where that byte is. (len(q) >
			// 8 rather than >=: slicing q to exactly its end would cost a past-the-end pointer
			// fixup on every step.)
			if len(q) > 64 && (utf8Word(q)|utf8Word(q[8:])|utf8Word(q[16:])|utf8Word(q[24:]))&utf8HiBits == 0 {
				q = q[32:]
				q = q[asciiPrefix(q):]
				continue
			}
			for len(q) > 8 {
				if w := utf8Word(q) & utf8HiBits; w != 0 {
					q = q[bits.TrailingZeros64(w)>>3:]
					continue loop
				}
				q = q[8:]
			}
			// 1 to 8 bytes left, all unchecked. When p is long enough, its last word covers
			// them: shift out the bytes before q, which were checked already.
			if len(p) >= 8 {
				w := (utf8Word(p[len(p)-8:]) & utf8HiBits) >> (64 - 8*uint(len(q)))
				if w == 0 {
					break
				}
				q = q[bits.TrailingZeros64(w)>>3:]
			} else {
				for len(q) > 0 && q[0] < 0x80 {
					q = q[1:]
				}
				if len(q) == 0 {
					break
				}
			}
		}
		// q[0] is not ASCII.
		x := utf8Lead[q[0]]
		size := int(x & 0xFF)
		if size == 0 {
			v.need = utf8Failed
			return len(p) - len(q), false
		}
		if len(q) < size {
			// The character continues past the end of p: check what is here and remember
			// what the next bytes must be.
			v.need = uint8(size - 1)
			v.lo, v.hi = uint8(x>>8), uint8(x>>8)+uint8(x>>16)
			q, ok = v.resume(q[1:])
			return len(p) - len(q), ok
		}
		if q[1]-uint8(x>>8) > uint8(x>>16) {
			v.need = utf8Failed
			return len(p) - len(q) + 1, false
		}
		switch size {
		case 2:
			q = q[2:]
		case 3:
			if q[2]-utf8ContLo > utf8ContHi-utf8ContLo {
				v.need = utf8Failed
				return len(p) - len(q) + 2, false
			}
			q = q[3:]
		default:
			if q[2]-utf8ContLo > utf8ContHi-utf8ContLo {
				v.need = utf8Failed
				return len(p) - len(q) + 2, false
			}
			if q[3]-utf8ContLo > utf8ContHi-utf8ContLo {
				v.need = utf8Failed
				return len(p) - len(q) + 3, false
			}
			q = q[4:]
		}
	}
	return len(p), true
}

// resume checks the leading bytes of q against the continuation bytes still expected of a
// character begun earlier. It returns q without the bytes it consumed and false, with q starting at
// the offending byte, when one does not fit. It stops when the character is complete or q is empty.
func (v *UTF8Validator) resume(q []byte) ([]byte, bool) {
	if v.need == utf8Failed {
		return q, false
	}
	for v.need > 0 && len(q) > 0 {
		if q[0]-v.lo > v.hi-v.lo {
			v.need = utf8Failed
			return q, false
		}
		v.lo, v.hi = utf8ContLo, utf8ContHi
		v.need--
		q = q[1:]
	}
	return q, true
}

// Complete reports whether everything fed since the last Reset is valid and ends on a character
// boundary. A text message that ends in the middle of a character is invalid even though every Feed
// succeeded.
func (v *UTF8Validator) Complete() bool { return v.need == 0 }

// Reset makes v ready for a new message, as if it were the zero value.
func (v *UTF8Validator) Reset() { *v = UTF8Validator{} }

// ValidUTF8 reports whether p, a whole payload such as a close reason, is valid UTF-8 as RFC 3629
// defines it: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated character.
// Non-characters such as U+FFFE and U+FFFF are valid.
func ValidUTF8(p []byte) bool {
	var v UTF8Validator
	_, ok := v.Feed(p)
	return ok && v.need == 0
}
