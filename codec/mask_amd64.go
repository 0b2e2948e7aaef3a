//go:build amd64 && !purego

package codec

import "golang.org/x/sys/cpu"

// maskAVX2Enabled selects the AVX2 kernel, chosen once at start: x/sys/cpu reports AVX2 only when
// the operating system also saves the YMM registers. Tests turn it off to cover the SSE2 kernel.
var maskAVX2Enabled = cpu.X86.HasAVX2

// maskKernel XORs b in place with key, rotated to start at key byte pos (0..3), with SSE2 (which
// every amd64 CPU has) or AVX2, as maskAVX2Enabled says. It is written in assembly, a rotation
// and a jump to either kernel, so that Mask stays small enough to be inlined and a mask costs
// its caller one call.
//
//go:noescape
func maskKernel(b []byte, key [4]byte, pos int)

// maskSSE2 is maskWordLoop with 16-byte SSE2 vectors, 64 bytes per step, then 32, 16, 8, 4 and 1.
//
//go:noescape
func maskSSE2(b []byte, k uint32)

// maskAVX2 is maskWordLoop with 32-byte AVX2 vectors, 128 bytes per step, then 64, 32, 16, 8, 4
// and 1. Only for CPUs with AVX2.
//
//go:noescape
func maskAVX2(b []byte, k uint32)
