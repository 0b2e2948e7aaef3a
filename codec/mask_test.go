package codec

import (
	"bytes"
	"fmt"
	"testing"
	"unsafe"
)

// maskBytes is the reference: one byte at a time, straight from RFC 6455 section 5.3.
func maskBytes(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// maskGorillaStyle is the usual word-wise loop, for comparison in the benchmarks: bytes one at a
// time until the pointer is aligned to a machine word, then whole uintptr words XORed with the key
// repeated to fill a word (rotated to the current offset), then the tail one byte at a time.
func maskGorillaStyle(key [4]byte, pos int, b []byte) int {
	const word = int(unsafe.Sizeof(uintptr(0)))
	pos &= 3
	if len(b) >= 2*word {
		// Head: up to the first word boundary.
		if off := int(uintptr(unsafe.Pointer(&b[0])) % uintptr(word)); off != 0 {
			head := word - off
			for i := range b[:head] {
				b[i] ^= key[pos]
				pos = (pos + 1) & 3
			}
			b = b[head:]
		}
		// Body: the key repeated over a word, starting at the current offset.
		var kb [word]byte
		for i := range kb {
			kb[i] = key[(pos+i)&3]
		}
		kw := *(*uintptr)(unsafe.Pointer(&kb))
		whole := len(b) / word * word
		for i := 0; i < whole; i += word {
			*(*uintptr)(unsafe.Pointer(&b[i])) ^= kw
		}
		b = b[whole:]
	}
	// Tail (or everything, when short).
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

func fill(b []byte, seed int) {
	for i := range b {
		b[i] = byte(i*131 + seed*7 + 1)
	}
}

func TestMask(t *testing.T) {
	keys := [][4]byte{{0x37, 0xfa, 0x21, 0x3d}, {0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {1, 2, 3, 4}}
	for _, key := range keys {
		for pos := 0; pos < 4; pos++ {
			for n := 0; n <= 70; n++ {
				for align := 0; align < 8; align++ {
					buf := make([]byte, n+align+8)
					fill(buf, n)
					guard := bytes.Clone(buf)
					got := buf[align : align+n]
					want := bytes.Clone(got)
					wantNext := maskBytes(key, pos, want)
					next := Mask(key, pos, got)
					if next != wantNext || !bytes.Equal(got, want) {
						t.Fatalf("key % x pos %d len %d align %d: got % x (next %d), want % x (next %d)",
							key, pos, n, align, got, next, want, wantNext)
					}
					if !bytes.Equal(buf[:align], guard[:align]) || !bytes.Equal(buf[align+n:], guard[align+n:]) {
						t.Fatalf("key % x pos %d len %d align %d: bytes outside b modified", key, pos, n, align)
					}
					// Twice restores the input.
					Mask(key, pos, got)
					if !bytes.Equal(buf, guard) {
						t.Fatalf("key % x pos %d len %d align %d: masking twice does not restore", key, pos, n, align)
					}
				}
			}
		}
	}
}

func TestMaskLong(t *testing.T) {
	// Long enough for the aligning head and the 64-byte steps, at every alignment and offset.
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	for _, n := range []int{63, 64, 65, 71, 72, 127, 128, 129, 200, 1000, 4099, 65536 + 13} {
		for pos := 0; pos < 4; pos++ {
			for align := 0; align < 8; align++ {
				buf := make([]byte, n+align)
				fill(buf, pos)
				got := buf[align:]
				want := bytes.Clone(got)
				wantNext := maskBytes(key, pos, want)
				if next := Mask(key, pos, got); next != wantNext || !bytes.Equal(got, want) {
					t.Fatalf("len %d pos %d align %d: mismatch (next %d, want %d)", n, pos, align, next, wantNext)
				}
			}
		}
	}
}

func TestMaskPosWraps(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for pos := -8; pos < 12; pos++ {
		for _, n := range []int{3, 20, 100} {
			got, want := make([]byte, n), make([]byte, n)
			if Mask(key, pos, got) != maskBytes(key, pos&3, want) || !bytes.Equal(got, want) {
				t.Fatalf("pos %d len %d: not the same as pos %d", pos, n, pos&3)
			}
		}
	}
}

func TestMaskChunked(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	whole := make([]byte, 1000)
	fill(whole, 3)
	orig := bytes.Clone(whole)
	maskBytes(key, 0, whole)
	chunkings := [][]int{{1}, {2}, {3}, {5}, {7}, {8}, {9}, {13}, {63}, {64}, {65}, {100}, {1, 2, 3, 64, 5, 77, 8}}
	for _, sizes := range chunkings {
		for start := 0; start < 4; start++ {
			got := bytes.Clone(orig)
			pos, off := 0, 0
			// The first chunk is shorter by start bytes so the chunk boundaries vary too.
			for i := 0; off < len(got); i++ {
				size := sizes[i%len(sizes)]
				if i == 0 && size > start {
					size -= start
				}
				end := min(off+size, len(got))
				pos = Mask(key, pos, got[off:end])
				off = end
			}
			if pos != len(got)&3 || !bytes.Equal(got, whole) {
				t.Fatalf("chunks %v start %d: chunked masking differs from whole", sizes, start)
			}
		}
	}
}

// TestXORWords covers the portable word loop, which Mask uses only on targets other than amd64,
// arm64, 386, ppc64le and loong64.
func TestXORWords(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	kw := uint64(0x3d21fa37_3d21fa37) // key as a little-endian word, repeated
	for n := 0; n <= 70; n++ {
		for align := 0; align < 8; align++ {
			got := make([]byte, n+align)[align:]
			fill(got, n)
			want := bytes.Clone(got)
			done := xorWords(got, kw)
			if done != n/8*8 {
				t.Fatalf("len %d: xorWords did %d bytes", n, done)
			}
			maskBytes(key, 0, want[:done])
			if !bytes.Equal(got, want) {
				t.Fatalf("len %d align %d: xorWords differs from the reference", n, align)
			}
		}
	}
}

func TestMaskGorillaStyle(t *testing.T) {
	// The benchmark's comparison loop must be right too.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for pos := 0; pos < 4; pos++ {
		for n := 0; n <= 100; n++ {
			for align := 0; align < 8; align++ {
				got := make([]byte, n+align)[align:]
				fill(got, n)
				want := bytes.Clone(got)
				if maskGorillaStyle(key, pos, got) != maskBytes(key, pos, want) || !bytes.Equal(got, want) {
					t.Fatalf("pos %d len %d align %d: gorilla-style loop differs", pos, n, align)
				}
			}
		}
	}
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x37fa213d), uint8(0), uint8(0), uint16(0))
	f.Add(make([]byte, 100), uint32(0xffffffff), uint8(3), uint8(5), uint16(17))
	f.Add(make([]byte, 1000), uint32(1), uint8(1), uint8(7), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, align uint8, cut uint16) {
		key := [4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
		p := int(pos)
		buf := make([]byte, len(data)+int(align%8))
		b := buf[align%8:]
		copy(b, data)
		want := bytes.Clone(data)
		wantNext := maskBytes(key, p, want)
		if next := Mask(key, p, b); next != wantNext || !bytes.Equal(b, want) {
			t.Fatalf("Mask differs from the reference (next %d, want %d)", next, wantNext)
		}
		// In two chunks, split at cut.
		copy(b, data)
		c := int(cut) % (len(b) + 1)
		next := Mask(key, p, b[:c])
		next = Mask(key, next, b[c:])
		if next != wantNext || !bytes.Equal(b, want) {
			t.Fatalf("masking in chunks of %d and %d differs from whole", c, len(b)-c)
		}
		// Twice restores.
		Mask(key, p, b)
		if !bytes.Equal(b, data) {
			t.Fatal("masking twice does not restore the input")
		}
	})
}

func BenchmarkMask(b *testing.B) {
	impls := []struct {
		name string
		mask func([4]byte, int, []byte) int
	}{
		{"ours", Mask},
		{"bytewise", maskBytes},
		{"gorilla-style", maskGorillaStyle},
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, size := range []int{16, 1024, 64 << 10} {
		for _, align := range []int{0, 6} {
			for _, im := range impls {
				b.Run(fmt.Sprintf("%s/%d/align%d", im.name, size, align), func(b *testing.B) {
					buf := make([]byte, size+align)[align:]
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						im.mask(key, 1, buf)
					}
				})
			}
		}
	}
}
