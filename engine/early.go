package engine

import (
	"bytes"
	"io"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// OnAccepted takes the bytes that had arrived when the server's socket was accepted, on the
// accepting goroutine before the connection goes to its loop (see poller.EarlySession). When the
// server's handshake runs no code of the user's (Config.AnswerOnAccept) and in holds a whole
// upgrade request, the connection answers it there: the 101 goes to w at once, and the
// connection event runs in the loop's first turn. Anything else (a partial request, a plain HTTP
// request, a refusal) is kept and answered on the loop as if it had just arrived.
func (c *Conn) OnAccepted(in []byte, w io.Writer) {
	if !c.cfg.AnswerOnAccept || c.cfg.Role != codec.ServerRole {
		c.keep(in)
		return
	}
	req := requests.Get().(*codec.Request)
	req.MaxHeadSize = c.cfg.maxHead()
	n, err := req.Parse(in)
	if err != nil || n == 0 {
		req.Reset()
		requests.Put(req)
		c.keep(in)
		return
	}
	c.side().req = req
	c.negotiateDeflate(req)
	v := c.ev.Handshake(req)
	if v.Refuse != 0 || !c.answerEarly(req.Key, v, w) {
		c.side().early = &earlyVerdict{v: v, key: bytes.Clone(req.Key)} // req's bytes are the caller's
		c.releaseHandshake()
	}
	if n < len(in) {
		c.keep(in[n:])
	}
}

// earlyVerdict is the verdict OnAccepted reached but could not act on before the loop: a refusal,
// which the first turn answers.
type earlyVerdict struct {
	v   Verdict
	key []byte // the request's Sec-WebSocket-Key
}

// answerEarly writes the 101 answering key to w and opens the connection; the rest of a write
// that does not all go through is queued for the first turn. It reports false when the response
// cannot be made, which the first turn then refuses with 500.
func (c *Conn) answerEarly(key []byte, v Verdict, w io.Writer) bool {
	c.mu.Lock()
	if c.state != Connecting || c.terminated {
		c.mu.Unlock()
		return false
	}
	scratch := bufpool.Get()
	defer bufpool.Put(scratch)
	resp, err := codec.AppendResponse(scratch.B, key, v.Protocol, c.deflateHeader(v.Header))
	scratch.B = resp
	if err != nil {
		c.mu.Unlock()
		return false
	}
	if wrote, _ := w.Write(resp); wrote < len(resp) {
		b := c.queue().buffer()
		b.B = append(b.B, resp[wrote:]...)
	}
	c.state = Open
	c.mu.Unlock()
	c.releaseHandshake()
	c.opened = true
	c.openedEarly = true
	return true
}

// finishEarly does in the first turn what OnAccepted decided: the connection event of a
// connection it opened, or the refusal it reached. Loop only.
func (c *Conn) finishEarly() {
	switch {
	case c.openedEarly:
		c.openedEarly = false
		c.deadline.handshake = 0
		c.ev.Opened()
	case c.rare != nil && c.rare.early != nil:
		e := c.rare.early
		c.rare.early = nil
		c.answer(e.key, e.v)
	}
}
