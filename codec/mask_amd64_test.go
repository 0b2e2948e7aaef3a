//go:build amd64 && !purego

package codec

import (
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// maskKernels lists the assembly kernels this CPU can run: SSE2 always, AVX2 when present.
func maskKernels() []maskNamedKernel {
	ks := []maskNamedKernel{{"sse2", maskSSE2}}
	if cpu.X86.HasAVX2 {
		ks = append(ks, maskNamedKernel{"avx2", maskAVX2})
	}
	return ks
}

// TestMaskDispatch checks that Mask goes through the kernel maskAVX2Enabled selects, with the
// AVX2 kernel only where the CPU has it.
func TestMaskDispatch(t *testing.T) {
	if maskAVX2Enabled != cpu.X86.HasAVX2 {
		t.Fatalf("maskAVX2Enabled = %v on a CPU with AVX2 %v", maskAVX2Enabled, cpu.X86.HasAVX2)
	}
	defer func(on bool) { maskAVX2Enabled = on }(maskAVX2Enabled)
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, on := range []bool{false, cpu.X86.HasAVX2} {
		maskAVX2Enabled = on
		for _, n := range []int{0, 3, 17, 100, 1000} {
			got, want := make([]byte, n), make([]byte, n)
			fill(got, n)
			copy(want, got)
			if Mask(key, 2, got) != maskBytes(key, 2, want) || string(got) != string(want) {
				t.Fatalf("AVX2 %v len %d: Mask differs from the reference", on, n)
			}
		}
	}
}

// Mask stays small enough to be inlined, which is why the kernel's choice is made in assembly
// (maskKernel): the compiler says so when it builds the package.
func TestMaskInlines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	out, err := exec.Command("go", "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "can inline Mask\n") {
		t.Fatalf("the compiler does not inline Mask:\n%s", out)
	}
}
