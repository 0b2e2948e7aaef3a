package api

import (
	"testing"
	"unsafe"
)

// TestConnSize guards the idle cost of a connection: Conn is allocated once per socket, and it
// must fit Go's 288-byte size class (it was 400, in the 416 class, before the engine's rarely
// used state moved behind a pointer; 496 before coldState). What makes it up: engine.Conn,
// embedded, is 200 bytes (see engine's TestConnSize); then the path and Data (16 each) and seven
// words (server, handlers, kept headers, addresses, registry part and slot, cold part). A field
// that only some connections use belongs in coldState: one more word here costs 32 bytes per
// connection.
func TestConnSize(t *testing.T) {
	const limit = 288
	if got := unsafe.Sizeof(Conn{}); got > limit {
		t.Fatalf("unsafe.Sizeof(Conn{}) = %d bytes, more than %d: move rarely used fields into coldState", got, limit)
	}
}

// TestHostedConnSize guards what hosting the transport costs: a connection accepted with accept4
// is one hostedConn, its transport (poller.Slot, 152 bytes) and its Conn in one allocation, which
// must fit the 448-byte class, what the transport's own allocation (160-byte class) and the Conn
// (288) took when they were two.
func TestHostedConnSize(t *testing.T) {
	const limit = 448
	if got := unsafe.Sizeof(hostedConn{}); got > limit {
		t.Fatalf("unsafe.Sizeof(hostedConn{}) = %d bytes, more than %d: hosting the transport costs memory", got, limit)
	}
}
