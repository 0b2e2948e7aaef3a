package engine

import (
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/wsloop/wsloop/bufpool"
	"github.com/wsloop/wsloop/codec"
)

// The state a connection holds only while its opening handshake is in progress is pooled, so an
// open connection carries none of it; each side has a pool of its own, since a parsed request or
// response is a few KiB (a fixed array of header lines).
var (
	requests         = sync.Pool{New: func() any { return new(codec.Request) }}
	clientHandshakes = sync.Pool{New: func() any { return new(clientHandshake) }}
)

// clientHandshake is a client's handshake state: the request it wrote and the response parser.
type clientHandshake struct {
	req     codec.ClientRequest
	key     []byte
	request []byte // the upgrade request, written
	resp    codec.Response
}

// reset clears hs for its next use, keeping its buffers.
func (hs *clientHandshake) reset() {
	hs.req = codec.ClientRequest{}
	hs.key = hs.key[:0]
	hs.request = hs.request[:0]
	hs.resp.Reset()
}

func (c *Conn) releaseHandshake() {
	r := c.rare
	if r == nil {
		return
	}
	if r.req != nil {
		r.req.Reset()
		requests.Put(r.req)
		r.req = nil
	}
	if r.client != nil {
		r.client.reset()
		clientHandshakes.Put(r.client)
		r.client = nil
	}
}

// readRequest parses the client's upgrade request and answers it: 101 and open, or an HTTP error
// and close. The request stays in the transport's buffer until it is complete.
func (c *Conn) readRequest(in []byte) int {
	if c.readStopped() {
		return len(in)
	}
	r := c.side()
	if r.req == nil {
		r.req = requests.Get().(*codec.Request)
		r.req.MaxHeadSize = c.cfg.maxHead()
	}
	req := r.req
	n, err := req.Parse(in)
	if errors.Is(err, codec.ErrNotUpgrade) {
		body, need, bodyErr := requestBody(req, in[n:])
		switch {
		case bodyErr != nil:
			err = bodyErr
		case need > 0:
			return c.keepRequest(in, n+need)
		case c.serveHTTP(req, body):
			return len(in)
		}
	}
	if err != nil {
		c.refuse(err)
		return len(in)
	}
	if n == 0 {
		return 0
	}
	c.negotiateDeflate(req)
	v, later := c.deferredVerdict(c.ev.Handshake(req))
	switch {
	case later: // parked until the verdict comes (deferred.go); the rest of in stays unread
		return n
	case !c.answer(req.Key, v):
		return len(in)
	}
	return n
}

// answer answers the request whose Sec-WebSocket-Key is key with the verdict: 101 and open, or
// the refusal and close. It reports whether the connection opened.
func (c *Conn) answer(key []byte, v Verdict) bool {
	if v.Refuse != 0 {
		c.refuseWith(v)
		return false
	}
	c.mu.Lock()
	b := c.queue().buffer()
	resp, err := c.openLocked(b.B, key, v)
	b.B = resp
	c.mu.Unlock()
	switch {
	case err == errGivenUp:
		c.abort(c.cancelErr)
		return false
	case err != nil:
		c.refuse(&codec.HandshakeError{Status: 500, Msg: err.Error()})
		return false
	}
	c.releaseHandshake()
	c.opened = true
	c.deadline.handshake = 0
	c.ev.Opened()
	return true
}

// errGivenUp says that the connection was given up while its request was being answered.
var errGivenUp = errors.New("websocket: connection given up during its handshake")

// openLocked appends to b the 101 answering key with v and marks the connection open, unless it
// was given up meanwhile (errGivenUp) or the response cannot be made. c.mu is held.
func (c *Conn) openLocked(b, key []byte, v Verdict) ([]byte, error) {
	if c.state != Connecting || c.terminated {
		return b, errGivenUp
	}
	resp, err := codec.AppendResponse(b, key, v.Protocol, c.deflateHeader(v.Header))
	if err != nil {
		return b, err
	}
	c.state = Open
	return resp, nil
}

// serveHTTP hands a plain HTTP request to the layer above and closes once its answer is out.
func (c *Conn) serveHTTP(req *codec.Request, body []byte) bool {
	buf := bufpool.Get()
	resp, ok := c.ev.ServeHTTP(req, body, buf.B)
	if !ok {
		bufpool.Put(buf)
		return false
	}
	buf.B = resp
	c.mu.Lock()
	q := c.queue()
	bufpool.Put(q.owned) // nothing was queued before the handshake; the answer takes its place
	q.owned = buf
	c.mu.Unlock()
	c.releaseHandshake()
	c.deadline.handshake = 0
	cl := &c.side().closing
	cl.stopRead = true
	cl.end(closeDrained)
	return true
}

// keepRequest moves a plain HTTP request whose body has not all arrived into the connection's
// own buffer, sized for the whole request (size bytes, at most the head cap plus maxHTTPBody),
// so that the transport keeps no copy of it.
func (c *Conn) keepRequest(in []byte, size int) int {
	if r := c.side(); r.pending == nil {
		r.pending = bufpool.Get()
		r.pending.B = slices.Grow(r.pending.B, size)
		r.pending.B = append(r.pending.B, in...)
		return len(in)
	}
	return 0 // in is the kept request itself: it stays kept until more arrives
}

// maxHTTPBody caps the body of a plain HTTP request served on a WebSocket port.
const maxHTTPBody = 64 << 10

// Refusals of plain HTTP requests whose body cannot be taken.
var (
	errChunkedBody = &codec.HandshakeError{Status: 411, Msg: "a request body needs a Content-Length"}
	errBodyTooBig  = &codec.HandshakeError{Status: 413, Msg: "request body too large"}
	errBadLength   = &codec.HandshakeError{Status: 400, Msg: "invalid Content-Length"}
)

// requestBody returns the body of a plain HTTP request whose head was parsed, from rest, the bytes
// after the head, or how many bytes of it are still to come.
func requestBody(req *codec.Request, rest []byte) (body []byte, need int, err error) {
	if req.Header("Transfer-Encoding") != nil {
		return nil, 0, errChunkedBody
	}
	cl := req.Header("Content-Length")
	if cl == nil {
		return nil, 0, nil
	}
	n, convErr := strconv.Atoi(string(cl))
	switch {
	case convErr != nil || n < 0:
		return nil, 0, errBadLength
	case n > maxHTTPBody:
		return nil, 0, errBodyTooBig
	case len(rest) < n:
		return nil, n, nil
	}
	return rest[:n], 0, nil
}

// refuse answers a request that cannot be upgraded with its HTTP status and closes.
func (c *Conn) refuse(err error) {
	var he *codec.HandshakeError
	if !errors.As(err, &he) {
		he = &codec.HandshakeError{Status: 400, Msg: err.Error()}
	}
	c.mu.Lock()
	b := c.queue().buffer()
	b.B = codec.AppendHandshakeError(b.B, he)
	c.mu.Unlock()
	c.endHandshake(he)
}

// refuseWith answers with the refusal a Handshake event chose.
func (c *Conn) refuseWith(v Verdict) {
	c.mu.Lock()
	b := c.queue().buffer()
	resp, err := codec.AppendHTTPResponse(b.B, v.Refuse, v.Header, v.Body)
	if err != nil {
		resp = codec.AppendHandshakeError(b.B, &codec.HandshakeError{Status: 500, Msg: err.Error()})
	}
	b.B = resp
	c.mu.Unlock()
	c.endHandshake(&codec.HandshakeError{Status: v.Refuse, Msg: "refused by the handshake hook"})
}

// endHandshake fails a connection whose handshake was refused, once its answer is out.
func (c *Conn) endHandshake(err error) {
	c.releaseHandshake()
	c.deadline.handshake = 0
	c.fail(0, "", err)
}
