package api

import (
	"net/http"

	"github.com/wsloop/wsloop/engine"
)

// handshakeLater defers the verdict on c's upgrade request to the hook's reply (HandshakeLater,
// or Handshake answered on a worker): the engine parks the connection until it comes. v holds
// what was decided on the loop (the subprotocol); the Verdict returned is ignored.
func (s *Server) handshakeLater(c *Conn, v engine.Verdict) engine.Verdict {
	d := c.ec.Defer()
	reply := func(hdr http.Header, err error) { d.Decide(verdict(v, hdr, err)) }
	hook := s.opts.HandshakeLater
	if hook == nil {
		hook = func(c *Conn, reply func(http.Header, error)) { reply(s.opts.Handshake(c)) }
	}
	if x := s.opts.Executor; x != nil {
		x.post(c, event{kind: evTask, fn: func() { hook(c, reply) }})
		return v
	}
	hook(c, reply)
	return v
}
