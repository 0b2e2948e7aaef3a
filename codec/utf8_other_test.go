//go:build !amd64 || purego

package codec

// asciiKernels lists the assembly kernels of asciiPrefix on this target: none.
func asciiKernels() []asciiNamedKernel { return nil }
