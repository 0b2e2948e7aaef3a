package engine

import (
	"sync"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// rareState is the part of a connection's loop-only state that an open connection at rest does
// without: the handshake in progress, bytes kept before they can be consumed, buffers whose bytes
// were lent to the output, and the close handshake. A connection takes one from a pool when it
// first needs it and gives it back at the end of the turn that leaves it empty, so an idle
// connection pays one nil pointer for all of it, and a busy one allocates nothing.
type rareState struct {
	pending *bufpool.Buffer   // bytes received and kept before they can be consumed
	retired []*bufpool.Buffer // assembled messages whose bytes were lent to the output
	req     *codec.Request    // the server's handshake in progress, pooled
	client  *clientHandshake  // the client's handshake in progress, pooled
	later   *Deferred         // the server's handshake whose verdict is deferred (deferred.go)
	closing closing
}

var rareStates = sync.Pool{New: func() any { return new(rareState) }}

// side returns the connection's rare state, taking one from the pool if it has none. Loop only
// (or before enrollment).
func (c *Conn) side() *rareState {
	if c.rare == nil {
		c.rare = rareStates.Get().(*rareState)
	}
	return c.rare
}

// atRest reports whether r holds nothing: the connection can give it back.
func (r *rareState) atRest() bool {
	return r.pending == nil && len(r.retired) == 0 && r.req == nil && r.client == nil && r.later == nil &&
		r.closing.isZero()
}

// tidy gives the rare state back once it holds nothing. A connection that is closing keeps it
// (its closing state is not zero). Loop only.
func (c *Conn) tidy() {
	if r := c.rare; r != nil && r.atRest() {
		c.rare = nil
		rareStates.Put(r)
	}
}

// pendingBytes returns the bytes kept for later, nil if none.
func (c *Conn) pendingBytes() *bufpool.Buffer {
	if c.rare == nil {
		return nil
	}
	return c.rare.pending
}

// readStopped reports whether nothing more is read: a close frame arrived, or the connection
// failed or is being aborted.
func (c *Conn) readStopped() bool { return c.rare != nil && c.rare.closing.stopRead }

// noClosing is the close state of every connection that has none: read, never written.
var noClosing closing

// closingState returns the close handshake's state for reading: the zero state while nothing
// closes. Write through side().closing.
func (c *Conn) closingState() *closing {
	if c.rare == nil {
		return &noClosing
	}
	return &c.rare.closing
}
