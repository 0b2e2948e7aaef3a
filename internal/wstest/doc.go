// Package wstest holds what the tests of several packages share: a raw WebSocket peer that writes
// and reads frames byte for byte, and leak checks (pooled buffers, goroutines, file descriptors).
package wstest
