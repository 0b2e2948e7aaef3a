package api

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// target is where a client connects: what a ws:// or wss:// URL says.
type target struct {
	secure bool
	host   string // host name or IP address, without brackets
	port   int
	path   string // path and query, "/" when empty
}

// hostPort is the address to dial.
func (t target) hostPort() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// parseURL reads a ws:// or wss:// URL: the scheme in any case, default ports 80 and 443, the path
// with its query (the fragment dropped), IPv6 literals in brackets; user info is ignored.
func parseURL(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, err
	}
	var t target
	switch strings.ToLower(u.Scheme) {
	case "ws":
	case "wss":
		t.secure = true
	default:
		return target{}, errors.New("Invalid protocol " + strings.ToLower(u.Scheme) + ":. It must be ws or wss")
	}
	t.host = strings.ToLower(u.Hostname())
	if t.host == "" {
		return target{}, errors.New("websocket: URL " + strconv.Quote(raw) + " has no host")
	}
	t.port = 80
	if t.secure {
		t.port = 443
	}
	if p := u.Port(); p != "" {
		if t.port, err = strconv.Atoi(p); err != nil || t.port < 1 || t.port > 65535 {
			return target{}, errors.New("websocket: invalid port in URL " + strconv.Quote(raw))
		}
	}
	t.path = u.EscapedPath()
	if t.path == "" {
		t.path = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		t.path += "?" + u.RawQuery
	}
	return t, nil
}
