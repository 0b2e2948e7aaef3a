package limit

// The upgrade: wait for the request's blank line, find the Sec-WebSocket-Key line, answer the
// 101. Nothing else of the request is parsed, but for the request line's path when the server
// has a BroadcastPath, and nothing is checked.

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"

	"github.com/panjf2000/gnet/v2"
)

// upgrade answers the request at the start of in once its head is whole.
func (s *Server) upgrade(c gnet.Conn, in []byte) gnet.Action {
	end := bytes.Index(in, []byte("\r\n\r\n"))
	if end < 0 {
		return gnet.None
	}
	if s.HTTP != nil {
		if resp := s.HTTP(in[:end+4]); resp != nil {
			c.Discard(end + 4)
			c.Write(resp)
			return gnet.Close // gnet writes what is left of resp before it closes
		}
	}
	const keyField = "Sec-WebSocket-Key: "
	i := bytes.Index(in[:end], []byte(keyField))
	if i < 0 {
		return gnet.Close
	}
	key := in[i+len(keyField):]
	key = key[:bytes.IndexByte(key, '\r')]
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := append([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "),
		base64.StdEncoding.EncodeToString(h.Sum(nil))...)
	resp = append(resp, "\r\n\r\n"...)
	l := s.loopOf(c.EventLoop())
	switch {
	case s.broadcastLine == nil: // every connection echoes and subscribes
		c.SetContext(l)
		l.conns[c] = struct{}{}
	case onPath(in, s.broadcastLine):
		c.SetContext(relaying{})
		l.conns[c] = struct{}{}
	default:
		c.SetContext(l)
	}
	c.Discard(end + 4)
	c.Write(resp)
	s.conns.Add(1)
	return gnet.None
}

// onPath reports whether the request in asks for the path of line ("GET /path"), with or
// without a query.
func onPath(in, line []byte) bool {
	rest, ok := bytes.CutPrefix(in, line)
	return ok && len(rest) > 0 && (rest[0] == ' ' || rest[0] == '?')
}
