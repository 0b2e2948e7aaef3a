package api

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// originBody is the body of the 403 that refuses a cross-origin upgrade request.
const originBody = "websocket: request Origin not allowed\n"

// originPolicy decides on the Origin header of upgrade requests, against cross-site WebSocket
// hijacking: a page of another site makes the browser open a WebSocket to this server, with the
// user's cookies, and the server must not take it for the user. Browsers always send Origin with
// a WebSocket upgrade and a page cannot forge it; other clients usually send none.
type originPolicy struct {
	patterns []string // ServerOptions.OriginPatterns, in lower case
	check    func(c *Conn, origin string) bool
}

// newOriginPolicy checks and keeps the origin options of a server. A malformed pattern is a
// mistake of the program, as a regular expression given to regexp.MustCompile: it panics.
func newOriginPolicy(opts *ServerOptions) originPolicy {
	p := originPolicy{check: opts.CheckOrigin}
	for _, pat := range opts.OriginPatterns {
		pat = strings.ToLower(pat)
		if _, err := path.Match(pat, ""); err != nil {
			panic("websocket: ServerOptions.OriginPatterns: malformed pattern " + pat + ": " + err.Error())
		}
		p.patterns = append(p.patterns, pat)
	}
	return p
}

// allows reports whether the request may go on: it has no Origin header, or its Origin's host is
// the request's Host (in any case), or matches one of the patterns, or CheckOrigin says yes. An
// Origin without a host ("null", sent by sandboxed frames and file: pages, or one that is not a
// URL) matches no pattern: only CheckOrigin can let it in.
func (p *originPolicy) allows(c *Conn, req *codec.Request) bool {
	if req.Origin == nil {
		return true
	}
	origin := string(req.Origin)
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		host := strings.ToLower(u.Host)
		if host == strings.ToLower(string(req.Host)) {
			return true
		}
		for _, pat := range p.patterns {
			if ok, _ := path.Match(pat, host); ok {
				return true
			}
		}
	}
	return p.check != nil && p.check(c, origin)
}

// refuseOrigin is the verdict that answers a cross-origin request: 403 with a short body.
func refuseOrigin() engine.Verdict {
	return verdict(engine.Verdict{}, nil, &HTTPError{Status: http.StatusForbidden, Body: originBody})
}
