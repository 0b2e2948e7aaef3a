package poller

import (
	"context"
	"net"
	"time"
)

// Open runs nc for s on the transport that suits it, and returns at once; s.OnOpen then runs on
// the connection's loop. It is the one place where a connection's transport is chosen: a
// *net.TCPConn is enrolled into a gnet loop (see the loop choice and a failure there in enroll);
// anything else (a *tls.Conn, whose TLS handshake completes first within handshakeTimeout, 0 for
// no limit, and ctx; a hijacked connection of a TLS server; any other net.Conn) runs as a stream
// connection on goroutines of its own. ctx and handshakeTimeout bound only a TLS handshake. If
// the connection cannot be opened, s.OnClose runs once with the error, without OnOpen. It may be
// called from any goroutine, a loop's included.
func (p *Poller) Open(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration) {
	p.open(ctx, nc, s, handshakeTimeout, nil)
}

// open is Open for a connection that l accepted (nil for none): l hears of a failed TLS
// handshake.
func (p *Poller) open(ctx context.Context, nc net.Conn, s Session, handshakeTimeout time.Duration, l *Listener) {
	if _, plain := nc.(*net.TCPConn); plain {
		p.enroll(nc, s)
		return
	}
	p.stream(ctx, nc, s, handshakeTimeout, l)
}
