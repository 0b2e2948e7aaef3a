package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/wsloop/wsloop/poller"
)

// ServeHTTP lets a net/http server hand WebSocket upgrade requests to s, so one port serves both:
//
//	http.Handle("/ws", wsServer)
//
// It takes the connection over (http.Hijacker) and runs it on the same loops as connections s
// accepts itself, with the same handshake rules, hooks and events. The request head net/http
// already read is given to the engine as it arrived, so every check and answer is the same as on
// s's own port. Connections of a TLS server run on the stream transport (a goroutine each), as
// poller.Open chooses.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing { // nothing opens on a closed server, as a closed listener refuses connections
		http.Error(w, ErrServerClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	if s.brokerErr != nil { // the broker did not open: the server serves nothing, as Serve refuses
		http.Error(w, s.brokerErr.Error(), http.StatusServiceUnavailable)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "websocket: connection cannot be taken over", http.StatusInternalServerError)
		return
	}
	p, err := poller.Default()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	head := requestHead(r)
	if n := rw.Reader.Buffered(); n > 0 {
		rest, _ := rw.Reader.Peek(n)
		head = append(head, rest...)
	}
	c := s.newConn(nc)
	c.mountedFrom(r) // context.go
	c.ec.Preload(head)
	// Open chooses the transport: a loop for a *net.TCPConn, a stream for the *tls.Conn of a secure
	// net/http server (its TLS handshake already done). It returns at once; a failure closes the
	// connection, which reports it.
	p.Open(context.Background(), nc, &c.ec, 0)
}

// requestHead writes r's request line and headers back as they were on the wire (names in
// canonical case), so the engine can parse and check the request itself.
func requestHead(r *http.Request) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/%d.%d\r\n", r.Method, r.RequestURI, r.ProtoMajor, r.ProtoMinor)
	b.WriteString("Host: " + r.Host + "\r\n")
	r.Header.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}
