//go:build !(amd64 || arm64) || purego

package codec

// maskKernel XORs b in place with key, rotated to start at key byte pos (0..3): with the word loop
// where there is no assembly kernel, or with the purego tag.
func maskKernel(b []byte, key [4]byte, pos int) { maskWordLoop(b, maskWord(key, pos)) }
