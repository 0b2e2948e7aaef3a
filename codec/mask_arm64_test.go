//go:build arm64 && !purego

package codec

// maskKernels lists the assembly kernels of arm64: NEON.
func maskKernels() []maskNamedKernel { return []maskNamedKernel{{"neon", maskNEON}} }
