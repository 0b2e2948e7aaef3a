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

// HandlerPanicked fails the connection as a panic of a handler on its loop does (1011, err to the
// Error event, then Closed), for a handler the layer above ran off the loop (an executor's
// worker); err is the PanicError. It is safe from any goroutine; the loop acts at its next turn,
// unless the connection was given up already.
func (c *Conn) HandlerPanicked(err error) {
	c.mu.Lock()
	if !c.panicked && !c.terminated && c.cancelErr == nil {
		c.panicked, c.cancelErr = true, err
	}
	c.unlockAndWake()
}

// handlerPanicked fails the connection with 1011 and ends the turn the panic cut short.
func (c *Conn) handlerPanicked(r any) {
	c.fail(codec.CloseInternalError, "internal error", &PanicError{Value: r, Stack: debug.Stack()})
	if c.t != nil {
		c.endTurn()
	}
}
