package engine

import (
	"sync/atomic"

	"github.com/wsloop/wsloop/codec"
)

// Counters count what happens to the connections of one server (or client configuration),
// atomically: they are shared by connections on every loop, and each is touched once per event,
// never per message. A Config with nil Counters counts nothing.
type Counters struct {
	// Refused counts data sends refused for a full queue (ErrQueueFull).
	Refused atomic.Uint64
	// SlowClosed counts connections given up by the slow-connection policy: a full queue under
	// CloseSlow, or an output over its cap that did not drain within the close timeout.
	SlowClosed atomic.Uint64
	// PingsSent counts the pings queued for sending, keepalive's and the user's.
	PingsSent atomic.Uint64
	// KeepaliveClosed counts connections closed by keepalive: no pong within PongTimeout, or
	// nothing received within IdleTimeout.
	KeepaliveClosed atomic.Uint64

	closes      [closeCodeSlots]atomic.Uint64 // by close code, from 1000
	closesOther atomic.Uint64                 // the codes past the slots: 3000-4999 and unknown
}

// closeCodeSlots covers the codes 1000 to 1015, those RFC 6455 and IANA define.
const closeCodeSlots = 16

// The counting methods do nothing on nil Counters.

func (n *Counters) refused() {
	if n != nil {
		n.Refused.Add(1)
	}
}

func (n *Counters) slowClosed() {
	if n != nil {
		n.SlowClosed.Add(1)
	}
}

func (n *Counters) pingSent() {
	if n != nil {
		n.PingsSent.Add(1)
	}
}

func (n *Counters) keepaliveClosed() {
	if n != nil {
		n.KeepaliveClosed.Add(1)
	}
}

// closed counts a connection that was open and closed with code.
func (n *Counters) closed(code codec.CloseCode) {
	if n == nil {
		return
	}
	if i := int(code) - 1000; i >= 0 && i < closeCodeSlots {
		n.closes[i].Add(1)
		return
	}
	n.closesOther.Add(1)
}

// Closes returns how many open connections closed with each code (1006 for an abnormal end), for
// the codes 1000 to 1015; other reports the rest (application codes).
func (n *Counters) Closes() (byCode map[int]uint64, other uint64) {
	byCode = map[int]uint64{}
	for i := range n.closes {
		if v := n.closes[i].Load(); v > 0 {
			byCode[1000+i] = v
		}
	}
	return byCode, n.closesOther.Load()
}
