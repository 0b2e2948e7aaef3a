package codec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// asciiNamedKernel is one implementation of asciiPrefix, for the tests and benchmarks that compare
// them; min is the shortest input it takes.
type asciiNamedKernel struct {
	name string
	min  int
	fn   func(p []byte) int
}

// allASCIIKernels lists asciiPrefix itself, the word loop and the assembly kernels of this target.
func allASCIIKernels() []asciiNamedKernel {
	return append([]asciiNamedKernel{{"asciiPrefix", 0, asciiPrefix}, {"words", 0, asciiPrefixWords}}, asciiKernels()...)
}

// asciiPrefixRef is the reference: one byte at a time.
func asciiPrefixRef(p []byte) int {
	i := 0
	for i < len(p) && p[i] < utf8.RuneSelf {
		i++
	}
	return i
}

// asciiCheckKernels runs every kernel that takes len(p) bytes on a copy of p placed align bytes
// past a guard of non-ASCII bytes, with non-ASCII bytes after it too, so that a kernel that looks
// outside p finds them. The slice's capacity ends at its length.
func asciiCheckKernels(t testing.TB, p []byte, align int) {
	t.Helper()
	want := asciiPrefixRef(p)
	buf := bytes.Repeat([]byte{0xC3}, 64+align+len(p)+64)
	start, end := 64+align, 64+align+len(p)
	copy(buf[start:end], p)
	for _, kn := range allASCIIKernels() {
		if len(p) < kn.min {
			continue
		}
		if got := kn.fn(buf[start:end:end]); got != want {
			t.Fatalf("%s: len %d align %d: %d leading ASCII bytes, want %d", kn.name, len(p), align, got, want)
		}
	}
}

// TestASCIIPrefix puts the first non-ASCII byte at every position of every length up to 300 (and
// none), with every byte value from 0x80 and every alignment modulo 8.
func TestASCIIPrefix(t *testing.T) {
	for n := 0; n <= 300; n++ {
		p := []byte(strings.Repeat("a~\x00\x7f", n/4+1)[:n])
		for align := range 8 {
			asciiCheckKernels(t, p, align)
		}
		for at := range n {
			q := bytes.Clone(p)
			q[at] = byte(0x80 + (at*37+n)%128)
			if at+1 < n {
				q[n-1] = 0xFF // a later non-ASCII byte must not matter
			}
			for align := range 8 {
				asciiCheckKernels(t, q, align)
			}
		}
	}
}

// BenchmarkASCIIPrefix measures each kernel on a run of ASCII.
func BenchmarkASCIIPrefix(b *testing.B) {
	for _, size := range []int{64, 1 << 10, 16 << 10} {
		p := bytes.Repeat([]byte("x"), size)
		for _, kn := range allASCIIKernels() {
			b.Run(fmt.Sprintf("%s/%d", kn.name, size), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					if kn.fn(p) != size {
						b.Fatal("wrong length")
					}
				}
			})
		}
	}
}
