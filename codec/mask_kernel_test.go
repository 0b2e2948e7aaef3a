package codec

import (
	"bytes"
	"fmt"
	"testing"
	"unsafe"
)

// maskNamedKernel is one implementation of maskWordLoop's contract, for the tests and benchmarks
// that compare them.
type maskNamedKernel struct {
	name string
	fn   func(b []byte, k uint32)
}

// maskGuard is the number of bytes kept on each side of the masked slice to catch reads or writes
// out of it.
const maskGuard = 64

// maskCheckKernel masks n bytes starting align bytes past a 64-byte guard in a larger buffer, with
// kernel fn and with the word loop, and fails unless both give the same bytes and the guard bytes
// on both sides are untouched. The slice's capacity ends at its length, so the kernel cannot see
// the guard through b.
func maskCheckKernel(t testing.TB, name string, fn func([]byte, uint32), data []byte, key [4]byte, pos, align int) {
	t.Helper()
	n := len(data)
	buf := make([]byte, maskGuard+align+n+maskGuard)
	fill(buf, n+align)
	start, end := maskGuard+align, maskGuard+align+n
	copy(buf[start:end], data)
	orig := bytes.Clone(buf)
	want := bytes.Clone(data)
	k := maskWord(key, pos)
	maskWordLoop(want, k)
	fn(buf[start:end:end], k)
	if !bytes.Equal(buf[start:end], want) {
		t.Fatalf("%s: key % x pos %d len %d align %d: got % x, word loop % x", name, key, pos, n, align, buf[start:end], want)
	}
	if !bytes.Equal(buf[:start], orig[:start]) || !bytes.Equal(buf[end:], orig[end:]) {
		t.Fatalf("%s: key % x pos %d len %d align %d: guard bytes modified", name, key, pos, n, align)
	}
}

// TestMaskWordLoop checks the word loop, the reference of the assembly kernels, against the byte
// at a time definition at every length up to 300, key offset and alignment.
func TestMaskWordLoop(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for n := 0; n <= 300; n++ {
		for pos := range 4 {
			for align := range 8 {
				got := make([]byte, n+align)[align:]
				fill(got, n)
				want := bytes.Clone(got)
				maskBytes(key, pos, want)
				maskWordLoop(got, maskWord(key, pos))
				if !bytes.Equal(got, want) {
					t.Fatalf("pos %d len %d align %d: word loop % x, bytewise % x", pos, n, align, got, want)
				}
			}
		}
	}
}

// TestMaskKernels checks every kernel of this target against the word loop at every length up to
// 300 and at some long ones, every key offset and eight alignments, with guard bytes around.
func TestMaskKernels(t *testing.T) {
	keys := [][4]byte{{0x37, 0xfa, 0x21, 0x3d}, {0xff, 0xff, 0xff, 0xff}, {1, 2, 3, 4}}
	lengths := make([]int, 0, 310)
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 511, 512, 513, 1023, 1024, 1025, 4096+15, 65536+13)
	for _, kn := range maskKernels() {
		for _, key := range keys {
			for _, n := range lengths {
				data := make([]byte, n)
				fill(data, n+1)
				for pos := range 4 {
					for align := range 8 {
						maskCheckKernel(t, kn.name, kn.fn, data, key, pos, align)
					}
				}
			}
		}
	}
}

func FuzzMaskMatchesWordLoop(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x37fa213d), uint8(0), uint8(0))
	f.Add(make([]byte, 15), uint32(0x01020304), uint8(1), uint8(3))
	f.Add(make([]byte, 100), uint32(0xffffffff), uint8(3), uint8(5))
	f.Add(make([]byte, 1000), uint32(1), uint8(2), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, align uint8) {
		key := [4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
		for _, kn := range maskKernels() {
			maskCheckKernel(t, kn.name, kn.fn, data, key, int(pos), int(align%8))
		}
		// Mask itself, which rotates the key on its own way to the kernel.
		got, want := bytes.Clone(data), bytes.Clone(data)
		Mask(key, int(pos), got)
		maskWordLoop(want, maskWord(key, int(pos)))
		if !bytes.Equal(got, want) {
			t.Fatalf("Mask: key % x pos %d: got % x, word loop % x", key, pos, got, want)
		}
	})
}

// BenchmarkMaskKernel measures each kernel of this target and the word loop on their own, on a
// slice that starts on a 64-byte boundary (align0) and on one that starts 2 bytes past it, as a
// payload after a 2-byte frame header does (align2).
func BenchmarkMaskKernel(b *testing.B) {
	kernels := append([]maskNamedKernel{{"word", maskWordLoop}}, maskKernels()...)
	k := maskWord([4]byte{0x37, 0xfa, 0x21, 0x3d}, 1)
	for _, size := range []int{64, 1 << 10, 16 << 10, 64 << 10} {
		for _, align := range []int{0, 2} {
			for _, kn := range kernels {
				b.Run(fmt.Sprintf("%s/%d/align%d", kn.name, size, align), func(b *testing.B) {
					buf := make([]byte, 64+align+size)
					off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))&63) + align
					p := buf[off : off+size]
					b.SetBytes(int64(size))
					for b.Loop() {
						kn.fn(p, k)
					}
				})
			}
		}
	}
}
