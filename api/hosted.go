package api

import (
	"net"
	"unsafe"

	"github.com/wsloop/wsloop/poller"
)

// hostedConn is a server connection accepted with accept4, with its transport in the same
// object (poller.Slot): the transport's last fields sit just before the Conn's, so that a
// message touches one run of cache lines where two objects would cost a cache miss each.
type hostedConn struct {
	slot poller.Slot // first: a *poller.Slot in a hostedConn is a *hostedConn
	conn Conn
}

// newSlot makes a hostedConn for a socket being accepted and returns its Slot.
func newSlot() *poller.Slot { return &new(hostedConn).slot }

// newConnFor returns the Conn to make for nc: the one its Slot was made in, whose addresses are
// the Slot's, or a new one that keeps nc's.
func newConnFor(nc net.Conn) *Conn {
	if sl := poller.SlotOf(nc); sl != nil {
		return &(*hostedConn)(unsafe.Pointer(sl)).conn
	}
	c := new(Conn)
	c.setAddrs(nc.RemoteAddr(), nc.LocalAddr())
	return c
}

// addrsOf returns c's addresses: those it keeps, or for a server Conn that keeps none, which is
// a hostedConn's, its Slot's; nil while a client connection is being dialed.
func (c *Conn) addrsOf() (remote, local net.Addr) {
	if a := c.addr.Load(); a != nil {
		return a.remote, a.local
	}
	if c.server == nil {
		return nil, nil
	}
	h := (*hostedConn)(unsafe.Add(unsafe.Pointer(c), -int(unsafe.Offsetof(hostedConn{}.conn))))
	return h.slot.RemoteAddr(), h.slot.LocalAddr()
}
