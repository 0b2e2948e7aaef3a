package codec

import (
	"testing"

	"golang.org/x/sys/unix"
)

// guardedPage returns one page of read-write memory between two pages that may not be touched, so
// that a kernel reading or writing even one byte outside a slice placed at either end of it
// faults.
func guardedPage(t *testing.T) []byte {
	t.Helper()
	size := unix.Getpagesize()
	m, err := unix.Mmap(-1, 0, 3*size, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(m) })
	page := m[size : 2*size : 2*size]
	if err := unix.Mprotect(page, unix.PROT_READ|unix.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	return page
}

// TestKernelsStayInBounds runs every mask and ASCII kernel on slices of every length up to 300
// that start right after an inaccessible page or end right before one: any access outside the
// slice crashes the test.
func TestKernelsStayInBounds(t *testing.T) {
	page := guardedPage(t)
	k := maskWord([4]byte{0x37, 0xfa, 0x21, 0x3d}, 0)
	for n := 0; n <= 300; n++ {
		for _, b := range [][]byte{page[:n:n], page[len(page)-n:]} {
			for i := range b {
				b[i] = 'a'
			}
			for _, kn := range append([]maskNamedKernel{{"word", maskWordLoop}}, maskKernels()...) {
				kn.fn(b, k)
				kn.fn(b, k)
			}
			for _, kn := range allASCIIKernels() {
				if n >= kn.min && kn.fn(b) != n {
					t.Fatalf("%s: len %d: not all ASCII", kn.name, n)
				}
			}
		}
	}
}
