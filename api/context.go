package api

import (
	"context"
	"net/http"
)

// connContext is a connection's context and what cancels it.
type connContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Context returns the connection's context, cancelled once the connection has closed (before its
// close handler runs; at once when it has closed already). On a connection a net/http server
// handed over (ServeHTTP), it carries the values of the request's context, such as the user a
// middleware authenticated with context.WithValue, but not its cancellation, which net/http
// does as soon as the connection is taken over. On a client connection it carries the values of
// ClientOptions.Context (or Dial's ctx), whose end cancels only the dial and the handshake. On a
// connection of the server's own listener it carries no value.
//
// The context is made on first call, so a connection that never asks costs nothing more; it is
// safe from any goroutine.
func (c *Conn) Context() context.Context {
	k := c.coldState()
	if cc := k.ctx.Load(); cc != nil {
		return cc.ctx
	}
	base := k.base
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	if !k.ctx.CompareAndSwap(nil, &connContext{ctx, cancel}) {
		cancel()
		return k.ctx.Load().ctx
	}
	// The close path (cancelContext) runs after the state is Closed: if it looked before the
	// context was stored, the state says so here.
	if c.ReadyState() == Closed {
		cancel()
	}
	return ctx
}

// mountedFrom keeps the values of r's context for Context, before the connection is opened.
func (c *Conn) mountedFrom(r *http.Request) {
	c.coldState().base = context.WithoutCancel(r.Context())
}

// cancelContext cancels the connection's context, if one was made: the connection has closed.
func (c *Conn) cancelContext() {
	if k := c.cold.Load(); k != nil {
		if cc := k.ctx.Load(); cc != nil {
			cc.cancel()
		}
	}
}

// logContext is the context of c's log records: its context if made, else the mounted request's
// values, else none. It makes nothing.
func (c *Conn) logContext() context.Context {
	if k := c.cold.Load(); k != nil {
		if cc := k.ctx.Load(); cc != nil {
			return cc.ctx
		}
		if k.base != nil {
			return k.base
		}
	}
	return context.Background()
}
