//go:build !wsloop_nolinkname

// Slots are made on the descriptor path, which exists only with gnet's internals linked.

package poller

import (
	"net"
	"testing"
)

// With ServeOptions.NewSlot, the transport of a socket accepted with accept4 is made in the Slot
// the server made for it: the session factory finds that Slot with SlotOf, the session opens on
// it, and it carries the connection's bytes. Without NewSlot, and for any other net.Conn, SlotOf
// finds none.
func TestSlotHoldsTheAcceptedTransport(t *testing.T) {
	p := testPoller(t, 1)
	for _, hosted := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		made := make(chan *Slot, 1)
		var o ServeOptions
		if hosted {
			o.NewSlot = func() *Slot {
				sl := new(Slot)
				made <- sl
				return sl
			}
		}
		_, sessions := rawServe(t, p, ln, o)
		d, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		s := awaitValue(t, sessions, "a session")
		op := awaitValue(t, s.opened, "OnOpen")
		got := SlotOf(s.nc)
		if !hosted {
			if got != nil {
				t.Fatal("SlotOf found a Slot for a socket accepted without NewSlot")
			}
			continue
		}
		sl := awaitValue(t, made, "NewSlot")
		if got != sl {
			t.Fatalf("SlotOf gave %p, not the Slot NewSlot made (%p)", got, sl)
		}
		if tr, ok := op.t.(*gnetConn); !ok || tr != &sl.fc.gnetConn {
			t.Fatalf("the session opened on %T %p, not on the Slot's transport", op.t, op.t)
		}
		if _, err := d.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if b := awaitValue(t, s.read, "the bytes"); string(b) != "ping" {
			t.Fatalf("read %q through the Slot's transport, want %q", b, "ping")
		}
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if SlotOf(a) != nil {
		t.Fatal("SlotOf found a Slot for a net.Pipe")
	}
}
