package api

import (
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// PreparedMessage is a message framed once, to be sent to any number of connections without
// being framed or copied again: with Conn.SendPrepared, Server.Broadcast and
// Server.PublishPrepared. It is safe for concurrent use. Make it with NewPreparedMessage and give
// it back with Release once done sending it.
type PreparedMessage struct {
	typ   MessageType
	plain *engine.Shared // the frame of every server connection
}

// NewPreparedMessage frames payload as one message of type typ. The payload is copied, so the
// caller may reuse it at once. Text that is not valid UTF-8 is refused with ErrInvalidText, a type
// other than TextMessage and BinaryMessage with ErrInvalidData.
func NewPreparedMessage(typ MessageType, payload []byte) (*PreparedMessage, error) {
	var op codec.Opcode
	switch typ {
	case TextMessage:
		if !codec.ValidUTF8(payload) {
			return nil, ErrInvalidText
		}
		op = codec.OpText
	case BinaryMessage:
		op = codec.OpBinary
	default:
		return nil, ErrInvalidData
	}
	return &PreparedMessage{typ: typ, plain: engine.NewShared(op, payload)}, nil
}

// Release gives the message's memory back once every send of it already made has been written.
// The message must not be sent after Release, which is called once.
func (pm *PreparedMessage) Release() { pm.plain.Release() }

// frameFor returns the frame that goes to the server connection c.
func (pm *PreparedMessage) frameFor(*Conn) *engine.Shared { return pm.plain }

// SendPrepared sends pm as SendMessage sends a message: the same errors, send-queue policy and
// callback (cb, if not nil, runs exactly once). On a server connection the prepared frame itself
// is queued, neither framed nor copied; a client connection, which must mask each frame, frames
// and masks a copy of the payload.
func (c *Conn) SendPrepared(pm *PreparedMessage, cb func(error)) error {
	if c.server == nil {
		return c.SendMessage(pm.typ, pm.plain.Payload(), cb)
	}
	return c.ec.WriteShared(pm.frameFor(c), cb)
}

// Broadcast sends pm to every open connection of the server, as SendPrepared would without a
// callback: a connection whose send queue is full gets the send-queue policy (the message is
// refused for it and OnDrain follows, or under CloseSlowConnections it is closed), and never
// delays the others.
//
// It returns at once. On each event loop one task, queued for every Broadcast, Publish and
// PublishPrepared made before it runs, queues them on that loop's connections, in the order of
// the calls, and writes each connection once. So each connection receives the broadcasts and
// publications in the order the calls were made (calls from one goroutine, or otherwise ordered),
// and gets none it was not open for when the task ran. A message sent to a connection directly
// (SendMessage, SendPrepared) after Broadcast returns may reach it before the broadcast: order a
// direct send after a broadcast by broadcasting it too, or by sending it from a connection's own
// handler that the broadcast's delivery triggered. Connections over TLS, which have no event loop,
// are written by the calling goroutine before Broadcast returns (so, on a TLS server, not from
// inside a range over Connections, whose read lock it takes again).
func (s *Server) Broadcast(pm *PreparedMessage) { s.fanout(fanout{pm: pm}) }

// BroadcastFunc is Broadcast to the open connections for which keep returns true. keep runs on
// each connection's event loop when the broadcast is delivered, for the loops in parallel: it
// must be safe for concurrent use, must not block, must not panic and must not Subscribe or
// Unsubscribe.
func (s *Server) BroadcastFunc(pm *PreparedMessage, keep func(c *Conn) bool) {
	s.fanout(fanout{pm: pm, keep: keep})
}

// fanout is a broadcast or a publication waiting for a loop's task.
type fanout struct {
	pm      *PreparedMessage
	keep    func(*Conn) bool // nil: every connection
	topic   string
	toTopic bool // to topic's subscribers, instead of to the connections keep chooses
	// act, when set, is no message (pm is nil) but a step the loop takes in its turn between the
	// fan-outs queued before and after it (a recovered subscription joining its topic).
	act func()
}

// sameReceivers reports whether g goes to the receivers f goes to, known without a filter: every
// connection, or the subscribers of one topic.
func (f *fanout) sameReceivers(g *fanout) bool {
	return f.keep == nil && g.keep == nil && f.act == nil && g.act == nil && f.toTopic == g.toTopic && f.topic == g.topic
}

// fanout hands f to every part of the registry that has a receiver for it.
func (s *Server) fanout(f fanout) {
	for _, sh := range s.shardList() {
		if !f.toTopic || sh.subscribers(f.topic) > 0 {
			sh.enqueue(f)
		}
	}
}
