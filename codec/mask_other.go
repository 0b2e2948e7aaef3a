//go:build !(amd64 || arm64) || purego

package codec

// maskKernel is the word loop where there is no assembly kernel, or with the purego tag.
func maskKernel(b []byte, k uint32) { maskWordLoop(b, k) }
