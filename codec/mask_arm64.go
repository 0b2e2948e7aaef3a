//go:build arm64 && !purego

package codec

// maskKernel XORs b in place with k repeated, as maskWordLoop does, with NEON, which every arm64
// CPU has.
func maskKernel(b []byte, k uint32) { maskNEON(b, k) }

// maskNEON is maskWordLoop with 16-byte NEON vectors, 64 bytes per step, then 16, 8, 4 and 1.
//
//go:noescape
func maskNEON(b []byte, k uint32)
