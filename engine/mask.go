package engine

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
)

// maskSources hands out ChaCha8 generators seeded from crypto/rand, so a client's mask keys are
// unpredictable (RFC 6455 section 10.3) without a system call or an allocation per frame.
var maskSources = sync.Pool{New: func() any {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}}

// maskKey returns a fresh masking key for a client frame.
func maskKey() [4]byte {
	g := maskSources.Get().(*rand.ChaCha8)
	v := g.Uint64()
	maskSources.Put(g)
	return [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
}
