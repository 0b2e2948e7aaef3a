package engine

import (
	"io"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// AnswersOnAccept implements poller.EarlySession: a server whose handshake runs no code of the
// user's (Config.AnswerOnAccept) answers a request that came with its socket where the socket was
// accepted.
func (c *Conn) AnswersOnAccept() bool {
	return c.cfg.AnswerOnAccept && c.cfg.Role == codec.ServerRole
}

// OnAccepted takes the bytes that had arrived when the server's socket was accepted, on the
// accepting goroutine before the connection goes to its loop (see poller.EarlySession). When in
// holds a whole upgrade request that the handshake accepts, the connection answers it there: the
// 101 goes to w at once, and the connection event runs in the loop's first turn. Anything else (a
// partial request, a plain HTTP request, a refusal) is kept and answered on the loop as if it had
// just arrived; the handshake runs no code of the user's, so it decides there as it did here.
func (c *Conn) OnAccepted(in []byte, w io.Writer) {
	r := c.side()
	r.req = requests.Get().(*codec.Request)
	r.req.MaxHeadSize = c.cfg.maxHead()
	n, err := r.req.Parse(in)
	if err == nil && n > 0 {
		c.negotiateDeflate(r.req)
		if v := c.ev.Handshake(r.req); v.Refuse == 0 && c.answerEarly(r.req.Key, v, w) {
			c.Preload(in[n:])
			return
		}
	}
	c.releaseHandshake()
	c.Preload(in)
}

// answerEarly writes the 101 answering key to w and opens the connection; the rest of a write
// that does not all go through is queued for the first turn. It reports false when the
// connection was given up or the response cannot be made, which the loop then finds again.
func (c *Conn) answerEarly(key []byte, v Verdict, w io.Writer) bool {
	scratch := bufpool.Get()
	defer bufpool.Put(scratch)
	c.mu.Lock()
	resp, err := c.openLocked(scratch.B, key, v)
	if err == nil {
		if wrote, _ := w.Write(resp); wrote < len(resp) {
			b := c.queue().buffer()
			b.B = append(b.B, resp[wrote:]...)
		}
	}
	c.mu.Unlock()
	scratch.B = resp
	if err != nil {
		return false
	}
	c.releaseHandshake()
	c.opened = true
	c.openedEarly = true
	return true
}

// finishEarly runs, in the first turn, the connection event of a connection OnAccepted opened.
// Loop only.
func (c *Conn) finishEarly() {
	if c.openedEarly {
		c.openedEarly = false
		c.deadline.handshake = 0
		c.ev.Opened()
	}
}
