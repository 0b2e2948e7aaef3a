//go:build arm64 && !purego

package codec

// maskKernel XORs b in place with key, rotated to start at key byte pos (0..3), with NEON, which
// every arm64 CPU has.
func maskKernel(b []byte, key [4]byte, pos int) { maskNEON(b, maskWord(key, pos)) }

// maskNEON is maskWordLoop with 16-byte NEON vectors, 64 bytes per step, then 16, 8, 4 and 1.
//
//go:noescape
func maskNEON(b []byte, k uint32)
