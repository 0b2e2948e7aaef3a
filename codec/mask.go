package codec

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"unsafe"
)

// unalignedWords reports whether the target is little-endian and loads and stores 64-bit words at
// any address at full speed, so the word loop may XOR eight bytes through an unsafe pointer.
// Elsewhere it goes through encoding/binary, which is just as correct and only slower.
const unalignedWords = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" ||
	runtime.GOARCH == "386" || runtime.GOARCH == "ppc64le" || runtime.GOARCH == "loong64"

// alignFrom is the length from which the word loop first masks byte by byte up to an 8-byte
// boundary, so that it never splits a word across two cache lines. Below it the few bytes gained
// are not worth the detour.
const alignFrom = 64

// Mask XORs b in place with the masking key (RFC 6455 section 5.3), starting at key byte pos
// (only pos&3 is used): b[i] ^= key[(pos+i)%4]. It returns the key offset at which the next chunk
// of the same payload starts, so masking a payload chunk by chunk, feeding each call the offset the
// previous one returned (0 for the first), gives the same bytes as masking it whole. Masking twice
// with the same key and offset restores the input.
//
// Mask works on any length and any alignment of b and allocates nothing. On amd64 it uses SSE2, or
// AVX2 when the CPU has it, and on arm64 NEON; elsewhere, or with the purego build tag, a loop
// over 64-bit words.
func Mask(key [4]byte, pos int, b []byte) int {
	maskKernel(b, key, pos&3)
	return (pos + len(b)) & 3
}

// maskWord is the key as a little-endian word, rotated so that its lowest byte is key[pos&3], the
// one that applies to the first byte masked.
func maskWord(key [4]byte, pos int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
}

// maskWordLoop XORs b in place with k repeated, k's lowest byte applying to b[0]: byte i of b meets
// byte i%4 of k (little-endian). It is the portable kernel behind Mask, and the reference that
// the assembly kernels must match bit for bit.
func maskWordLoop(b []byte, k uint32) {
	if len(b) < 8 {
		for i := range b {
			b[i] ^= byte(k >> (8 * uint(i&3)))
		}
		return
	}
	if len(b) >= alignFrom {
		if h := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 7); h != 0 {
			for i := range b[:h] {
				b[i] ^= byte(k >> (8 * uint(i&3)))
			}
			b = b[h:]
			k = bits.RotateLeft32(k, -8*h)
		}
	}
	// k repeated to fill 64 bits. Words are loaded and stored little-endian too, so byte i of a
	// word always meets byte i of kw.
	kw := uint64(k) | uint64(k)<<32
	n := len(b)
	i := 0
	if unalignedWords {
		// In bounds: every word starts at i and ends at i+8 <= n.
		p := unsafe.Pointer(unsafe.SliceData(b))
		for ; i+64 <= n; i += 64 {
			q := unsafe.Add(p, i)
			*(*uint64)(q) ^= kw
			*(*uint64)(unsafe.Add(q, 8)) ^= kw
			*(*uint64)(unsafe.Add(q, 16)) ^= kw
			*(*uint64)(unsafe.Add(q, 24)) ^= kw
			*(*uint64)(unsafe.Add(q, 32)) ^= kw
			*(*uint64)(unsafe.Add(q, 40)) ^= kw
			*(*uint64)(unsafe.Add(q, 48)) ^= kw
			*(*uint64)(unsafe.Add(q, 56)) ^= kw
		}
		for ; i+8 <= n; i += 8 {
			*(*uint64)(unsafe.Add(p, i)) ^= kw
		}
	} else {
		i = xorWords(b, kw)
	}
	// Whole words keep the key offset where it started, so tail byte j takes byte j of kw.
	for j := 0; i < n; i, j = i+1, j+1 {
		b[i] ^= byte(kw >> (8 * uint(j&7)))
	}
}

// xorWords XORs every whole 8-byte word of b with kw, loaded and stored little-endian, and
// returns the number of bytes done. It is the word loop where unalignedWords is false.
func xorWords(b []byte, kw uint64) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := b[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)^kw)
	}
	return i
}
