// Package wstest holds what the tests of several packages share: a raw WebSocket peer that writes
// and reads frames byte for byte, a relay that counts the frames on the wire (WireWatch), leak
// checks (pooled buffers, goroutines, file descriptors), test certificates, and the discovery of
// the outside peers (Node, its npm packages, Chromium, Python's websockets).
package wstest
