//go:build amd64 && !purego

package codec

import "golang.org/x/sys/cpu"

// asciiAVX2Enabled selects the AVX2 kernel of asciiPrefix, chosen once at start as for Mask.
var asciiAVX2Enabled = cpu.X86.HasAVX2

// asciiPrefix returns the number of leading ASCII bytes of p: with SSE2 or AVX2 from 32 bytes on,
// with asciiPrefixWords below.
func asciiPrefix(p []byte) int {
	switch {
	case len(p) < 32:
		return asciiPrefixWords(p)
	case asciiAVX2Enabled:
		return asciiPrefixAVX2(p)
	default:
		return asciiPrefixSSE2(p)
	}
}

// asciiPrefixSSE2 is asciiPrefix for len(p) >= 32 with 16-byte vectors, 64 bytes per step.
//
//go:noescape
func asciiPrefixSSE2(p []byte) int

// asciiPrefixAVX2 is asciiPrefix for len(p) >= 32 with 32-byte vectors, 64 bytes per step. Only
// for CPUs with AVX2.
//
//go:noescape
func asciiPrefixAVX2(p []byte) int
