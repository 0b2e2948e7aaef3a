package poller

import (
	"net"
	"unsafe"
)

// A Slot is the transport of an accepted socket kept inside its session's own object (see
// ServeOptions.NewSlot). On every readable event the loop reads the transport and then the
// session; in one object they share cache lines, where two objects cost a cache miss each once a
// loop holds more connections than its cache. The zero value is ready for use.
type Slot struct {
	fc fdConn // first: a *Slot is a *fdConn
}

// newFD returns the transport of a socket just accepted: in a new Slot when the server makes
// them, in an allocation of its own otherwise.
func (l *Listener) newFD() *fdConn {
	if l.newSlot == nil {
		return &fdConn{}
	}
	sl := l.newSlot()
	sl.fc.hosted = true
	return &sl.fc
}

// SlotOf returns the Slot of nc when nc is an accepted socket whose transport was made in one
// (ServeOptions.NewSlot), nil for any other connection. The session factory uses it to find the
// object it made the Slot in.
func SlotOf(nc net.Conn) *Slot {
	if a, ok := nc.(accepted); ok && a.c.hosted {
		return (*Slot)(unsafe.Pointer(a.c))
	}
	return nil
}

// RemoteAddr returns the peer's address of the socket the Slot holds.
func (s *Slot) RemoteAddr() net.Addr { return &s.fc.remote }

// LocalAddr returns the local address of the socket the Slot holds.
func (s *Slot) LocalAddr() net.Addr { return s.fc.local }
