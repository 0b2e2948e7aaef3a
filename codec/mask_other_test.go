//go:build !(amd64 || arm64) || purego

package codec

// maskKernels lists the assembly kernels of this target: none, Mask runs the word loop.
func maskKernels() []maskNamedKernel { return nil }
