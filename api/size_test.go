package api

import (
	"testing"
	"unsafe"
)

// TestConnSize guards the idle cost of a connection: Conn is allocated once per socket, and at
// 408 bytes it sits in Go's 416-byte size class (496 bytes, in the 512 class, before its cold part
// moved out). What pushes it up: engine.Conn, embedded, is 320 of the 408 bytes; then the path
// and Data (16 each) and seven words (server, handlers, kept headers, addresses, registry slot,
// registry part, cold part). A field that only some connections use belongs in coldState.
func TestConnSize(t *testing.T) {
	const limit = 408
	if got := unsafe.Sizeof(Conn{}); got > limit {
		t.Fatalf("unsafe.Sizeof(Conn{}) = %d bytes, more than %d: move rarely used fields into coldState", got, limit)
	}
}
