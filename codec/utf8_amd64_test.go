//go:build amd64 && !purego

package codec

import "golang.org/x/sys/cpu"

// asciiKernels lists the assembly kernels of asciiPrefix this CPU can run: SSE2 always, AVX2
// when present. Both take 32 bytes or more.
func asciiKernels() []asciiNamedKernel {
	ks := []asciiNamedKernel{{"sse2", 32, asciiPrefixSSE2}}
	if cpu.X86.HasAVX2 {
		ks = append(ks, asciiNamedKernel{"avx2", 32, asciiPrefixAVX2})
	}
	return ks
}
