package api

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxProxyAnswer bounds the head of a proxy's answer to CONNECT (status line and headers).
const maxProxyAnswer = 16 << 10

// ProxyError is the failure of a proxy that answered the CONNECT request with a status other than
// 2xx, such as 407 when it wants credentials (errors.As reaches it from the error event).
type ProxyError struct {
	Proxy      string      // the proxy's address, host:port
	StatusCode int         // the proxy's status code, such as 407
	Status     string      // the proxy's status line after the version, such as "407 Proxy Authentication Required"
	Header     http.Header // the proxy's answer headers
}

// Error implements error.
func (e *ProxyError) Error() string {
	return "websocket: proxy " + e.Proxy + " refused CONNECT: " + e.Status
}

// dialServer opens the TCP connection to the server of t: directly, or, when o.Proxy names a proxy
// for it, to that HTTP proxy, through which a CONNECT request makes a tunnel to the server. The
// tunnel is then the raw *net.TCPConn to the proxy, so a ws:// connection still runs on a loop;
// RemoteAddr is the proxy's. Bytes the proxy passed on behind its answer are not lost: they are
// preloaded into the engine for ws://, and read first by TLS for wss://, as the returned conn does.
func (c *Conn) dialServer(ctx context.Context, t target, o ClientOptions) (net.Conn, error) {
	proxy, err := proxyFor(t, o.Proxy)
	if err != nil {
		return nil, err
	}
	addr := t.hostPort()
	if proxy != nil {
		addr = proxy.Host
	}
	d := net.Dialer{Timeout: o.DialTimeout, LocalAddr: o.LocalAddr}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || proxy == nil {
		return nc, err
	}
	early, err := tunnel(ctx, nc, t.hostPort(), proxy, c.ec.HandshakeTimeout())
	if err != nil {
		nc.Close()
		return nil, err
	}
	if len(early) == 0 {
		return nc, nil
	}
	if t.secure {
		return &prefixConn{Conn: nc, early: early}, nil
	}
	c.ec.Preload(early)
	return nc, nil
}

// proxyFor asks choose (ClientOptions.Proxy) which proxy serves t, as http.Transport asks its Proxy
// with the request it is about to send: the URL's scheme is http for ws:// and https for wss://, so
// http.ProxyFromEnvironment picks HTTP_PROXY or HTTPS_PROXY and applies NO_PROXY. It returns nil
// for a direct connection, and the proxy's URL with its port made explicit otherwise; only http://
// proxies are supported.
func proxyFor(t target, choose func(*http.Request) (*url.URL, error)) (*url.URL, error) {
	if choose == nil {
		return nil, nil
	}
	u, err := url.ParseRequestURI(t.path)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = "http", t.hostPort()
	if t.secure {
		u.Scheme = "https"
	}
	proxy, err := choose(&http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}})
	if err != nil || proxy == nil {
		return nil, err
	}
	if s := strings.ToLower(proxy.Scheme); s != "http" {
		return nil, errors.New("websocket: proxy scheme " + strconv.Quote(s) + " is not supported (only http://)")
	}
	p := *proxy
	if p.Port() == "" {
		p.Host = net.JoinHostPort(p.Hostname(), "80")
	}
	return &p, nil
}

// tunnel asks the proxy on nc for a tunnel to hostPort, with basic credentials when the proxy's
// URL has user info, and reads its answer within timeout (0 for none) and ctx. It returns the
// bytes that came behind the answer.
func tunnel(ctx context.Context, nc net.Conn, hostPort string, proxy *url.URL, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		nc.SetDeadline(time.Now().Add(timeout))
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) }) // unblocks the exchange
	early, err := exchange(nc, hostPort, proxy)
	if !stop() || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var refused *ProxyError
	if err != nil && !errors.As(err, &refused) {
		err = fmt.Errorf("websocket: proxy %s: %w", proxy.Host, err)
	}
	if err != nil {
		return nil, err
	}
	return early, nc.SetDeadline(time.Time{})
}

// exchange writes the CONNECT request and reads the proxy's answer: see connect.
func exchange(nc net.Conn, hostPort string, proxy *url.URL) ([]byte, error) {
	req := "CONNECT " + hostPort + " HTTP/1.1\r\nHost: " + hostPort + "\r\n"
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	if _, err := io.WriteString(nc, req+"\r\n"); err != nil {
		return nil, err
	}
	br := bufio.NewReader(io.LimitReader(nc, maxProxyAnswer))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = errors.New("closed, or sent over " + strconv.Itoa(maxProxyAnswer) + " bytes, before answering CONNECT")
		}
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &ProxyError{Proxy: proxy.Host, StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header}
	}
	early, _ := br.Peek(br.Buffered()) // no body follows a 2xx answer to CONNECT: this is the tunnel's
	return append([]byte(nil), early...), nil
}

// prefixConn is a connection whose first reads return early, bytes already read from it.
type prefixConn struct {
	net.Conn
	early []byte
}

// Read implements net.Conn.
func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.early) == 0 {
		return p.Conn.Read(b)
	}
	n := copy(b, p.early)
	p.early = p.early[n:]
	return n, nil
}
