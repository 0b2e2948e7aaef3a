package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/wsloop/wsloop/codec"
)

// PanicError is a panic of a user handler, recovered on the loop so that it ends its own
// connection (closed with 1011) and not the process with every other connection, as net/http
// does for a panicking handler. It reaches the connection's error event.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the goroutine's stack at the panic
}

// Error returns the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("websocket: handler panic: %v\n%s", e.Value, e.Stack)
}

// recoverHandler ends the connection whose handler panicked. Deferred by the loop entry points.
func (c *Conn) recoverHandler() {
	if r := recover(); r != nil {
		c.handlerPanicked(r)
	}
}

// handlerPanicked reports a recovered panic and closes the connection with 1011.
func (c *Conn) handlerPanicked(r any) {
	err := &PanicError{Value: r, Stack: debug.Stack()}
	c.closing.stopRead, c.closing.tcpWhenDrained = true, true
	c.closing.failed = codec.CloseInternalError
	c.mu.Lock()
	if c.state == Open && !c.closeSent {
		c.sendCloseLocked(codec.CloseInternalError, []byte("internal error"))
	}
	c.inTurn = true
	c.mu.Unlock()
	if c.closing.err == nil {
		c.closing.err = err
		c.reportPanic(err)
	}
	c.endTurn()
}

// reportPanic hands the panic to the error event; a panic of the error handler itself is dropped.
func (c *Conn) reportPanic(err error) {
	defer func() { _ = recover() }()
	if c.visible() {
		c.ev.Error(err)
	}
}
