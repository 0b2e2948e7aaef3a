package api

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
	"github.com/wsloop/wsloop/poller"
)

// ClientOptions configures Connect and Dial. The zero value (or a nil pointer) means the defaults.
type ClientOptions struct {
	// Protocols are the subprotocols offered, in order of preference. When set, the server must
	// choose one of them.
	Protocols []string
	// ExtraHeaders are added to the upgrade request (Origin, Authorization, cookies...). A Host
	// header replaces the one derived from the URL; the handshake's own headers cannot be set.
	ExtraHeaders http.Header
	// Context, when set, cancels the dial and the opening handshake when it is done.
	Context context.Context
	// DialTimeout bounds the TCP connect (default: none beyond the operating system's).
	DialTimeout time.Duration
	// LocalAddr is the local address to dial from (a source address among 127.0.0.x, say).
	LocalAddr net.Addr
	// Proxy, when set, chooses the proxy for each connection, as http.Transport.Proxy does
	// (http.ProxyFromEnvironment is one choice): it gets a request whose URL is the server's with
	// the scheme http for ws:// and https for wss://, and returns nil for a direct connection. Only
	// http:// proxies are supported; the tunnel is made with CONNECT, with basic credentials when
	// the proxy's URL has user info, within HandshakeTimeout. A proxy refusing it is a *ProxyError.
	// RemoteAddr is then the proxy's address.
	Proxy func(*http.Request) (*url.URL, error)
	// TLSConfig configures wss:// connections (roots, client certificates, ServerName, which
	// defaults to the URL's host). Verification is skipped only when InsecureSkipVerify says so.
	TLSConfig *tls.Config
	// Setup, when set, runs on the caller's goroutine before Connect starts dialing: handlers set
	// there (OnError, OnClose, OnText...) see every event. Handlers set after Connect returns may
	// miss what happens first, such as a refused connection.
	Setup func(c *Conn)
	// MaxBufferLength overrides SetMaxBufferLength for this connection.
	MaxBufferLength int
	// BinaryFragmentation overrides SetBinaryFragmentation for this connection.
	BinaryFragmentation int
	// HandshakeTimeout bounds the opening handshake once connected (default 10 s).
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the head of the server's 101 response, its status line, header lines
	// and the empty line that ends them (default 8 KiB); a longer one fails the handshake.
	MaxHeaderBytes int
	// CloseTimeout bounds the closing handshake (default 5 s).
	CloseTimeout time.Duration
	// MaxQueuedBytes and CloseSlowConnections are as in ServerOptions.
	MaxQueuedBytes       int
	CloseSlowConnections bool
	// PingInterval, PongTimeout and IdleTimeout are as in ServerOptions: the client pings a
	// silent server, and closes one that does not answer or stays silent. Off by default.
	PingInterval time.Duration
	PongTimeout  time.Duration
	IdleTimeout  time.Duration
	// Executor, when set, runs the connection's handlers on its workers instead of the loop, so
	// that they may block; see Executor for what it guarantees and costs.
	Executor *Executor
	// Logger, when set, logs a handler's panic, a close by the slow-connection or keepalive policy
	// and a handshake timeout, as ServerOptions.Logger does; nil logs nothing.
	Logger *slog.Logger
	// Deflate, when set, offers permessage-deflate to the server (see DeflateOptions); nil, the
	// default, offers nothing.
	Deflate *DeflateOptions
}

// Connect opens a client connection to url (ws:// or wss://host[:port]/path?query) and returns it at once,
// in Connecting. onConnect, if not nil, becomes the connection's connect handler: it runs on the
// connection's loop once the server's 101 was checked, before any frame that came behind it is
// read, so handlers set there see every message. A URL that is not ws:// or wss://, or options
// that cannot be sent, are an error before anything is dialed; failures after that (refused
// connection, rejected handshake) fire OnError, then OnClose with 1006. Dial is the blocking form.
func Connect(url string, opts *ClientOptions, onConnect func(c *Conn)) (*Conn, error) {
	return connect(url, opts, onConnect, nil)
}

// connect is Connect, with wrap, when not nil, to wrap the connection's events (Dial's watch).
func connect(url string, opts *ClientOptions, onConnect func(c *Conn),
	wrap func(c *Conn, ev engine.Events) engine.Events) (*Conn, error) {
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	t, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	cfg := &engine.Config{
		Role:             codec.ClientRole,
		MaxHead:          o.MaxHeaderBytes,
		MaxMessage:       int64(o.MaxBufferLength),
		HandshakeTimeout: o.HandshakeTimeout,
		CloseTimeout:     o.CloseTimeout,
		MaxQueue:         int64(o.MaxQueuedBytes),
		CloseSlow:        o.CloseSlowConnections,
		PingInterval:     o.PingInterval,
		PongTimeout:      o.PongTimeout,
		IdleTimeout:      o.IdleTimeout,
		Deflate:          o.Deflate.engineConfig(),
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = maxBufferLength.Load()
	}
	c := &Conn{path: t.path, regIndex: -1}
	k := &coldState{protocols: o.Protocols, fragment: o.BinaryFragmentation, executor: o.Executor, logger: o.Logger}
	if o.Context != nil {
		k.base = context.WithoutCancel(o.Context) // its values, for Context; its end cancels the dial
	}
	c.cold.Store(k)
	ev := c.engineEvents(o.Executor)
	if wrap != nil {
		ev = wrap(c, ev)
	}
	c.ec.Init(cfg, ev)
	err = c.ec.SetRequest(codec.ClientRequest{
		Target:    t.path,
		Host:      t.host,
		Port:      t.port,
		Secure:    t.secure,
		Protocols: o.Protocols,
		Header:    fields(o.ExtraHeaders),
	})
	if err != nil {
		return nil, err
	}
	if onConnect != nil {
		c.OnConnect(onConnect)
	}
	if o.Setup != nil {
		o.Setup(c)
	}
	go c.dial(t, o)
	return c, nil
}

// dial connects and enrolls the connection: the only moment a client connection has a goroutine.
func (c *Conn) dial(t target, o ClientOptions) {
	p, err := poller.Default()
	if err != nil {
		c.ec.Abandon(err)
		return
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	nc, err := c.dialServer(ctx, t, o)
	if err != nil {
		c.ec.Abandon(err)
		return
	}
	c.setAddrs(nc.RemoteAddr(), nc.LocalAddr())
	if !c.ec.Enrollable() {
		nc.Close()
		c.ec.Abandon(nil)
		return
	}
	if o.Context != nil {
		// Cancel the handshake with the context; once it is over (Opened or Closed), stop watching.
		c.cold.Load().stopContext = context.AfterFunc(o.Context, func() { c.ec.Cancel(o.Context.Err()) })
	}
	// The scheme decides only whether TLS wraps nc; Open chooses the transport (a loop for TCP, a
	// stream for TLS) and returns at once; a failure closes the connection, which reports it.
	if !t.secure {
		p.Open(ctx, nc, &c.ec, 0)
		return
	}
	cfg := &tls.Config{}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.host
	}
	p.Open(ctx, tls.Client(nc, cfg), &c.ec, c.ec.HandshakeTimeout())
}

// addrs holds a connection's remote and local addresses.
type addrs struct{ remote, local net.Addr }

func (c *Conn) setAddrs(remote, local net.Addr) { c.addr.Store(&addrs{remote, local}) }

// Upgraded implements engine.Events: the server's 101 passed the checks.
func (e *events) Upgraded(resp *codec.Response) {
	c := (*Conn)(e)
	c.keepHeaders(resp.Headers())
	c.cold.Load().protocol = string(resp.Protocol)
}

// handshakeOver stops watching the client's context once the opening handshake is over. It does
// nothing on the server side.
func (c *Conn) handshakeOver() {
	if k := c.cold.Load(); k != nil && k.stopContext != nil {
		k.stopContext()
		k.stopContext = nil
	}
}
