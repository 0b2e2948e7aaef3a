//go:build !amd64 || purego

package codec

// asciiPrefix returns the number of leading ASCII bytes of p.
func asciiPrefix(p []byte) int { return asciiPrefixWords(p) }
