package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// Server mode: the tool is a client that tests an echo server.

// target is the server under test.
type target struct {
	addr     string // host:port to dial
	host     string // the Host header
	path     string // the request target
	tls      bool
	insecure bool           // wss without certificate checks
	roots    *x509.CertPool // wss: the authorities to trust (nil: the system's)
}

func parseTarget(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	t := &target{path: u.RequestURI()}
	switch u.Scheme {
	case "ws":
	case "wss":
		t.tls = true
	default:
		return nil, fmt.Errorf("URL %q: the scheme must be ws or wss", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.tls {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.host = u.Host
	if u.Fragment != "" {
		return nil, fmt.Errorf("URL %q: a WebSocket URL has no fragment", raw)
	}
	return t, nil
}

func (t *target) dial(timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.Dial("tcp", t.addr)
	if err != nil || !t.tls {
		return nc, err
	}
	host, _, _ := net.SplitHostPort(t.addr)
	tc := tls.Client(nc, &tls.Config{ServerName: host, RootCAs: t.roots, InsecureSkipVerify: t.insecure, NextProtos: []string{"http/1.1"}})
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// hdr is a header line to send, kept in order.
type hdr struct{ name, value string }

// request is an upgrade request to send, which a case may spoil.
type request struct {
	method, target, proto string
	headers               []hdr
}

func newKey() string { return string(codec.NewKey(nil)) }

func (t *target) request(key string) *request {
	return &request{method: "GET", target: t.path, proto: "HTTP/1.1", headers: []hdr{
		{"Host", t.host}, {"Upgrade", "websocket"}, {"Connection", "Upgrade"},
		{"Sec-WebSocket-Key", key}, {"Sec-WebSocket-Version", "13"},
	}}
}

// set replaces the first header named name (any case) or adds it; del removes all of them.
func (r *request) set(name, value string) *request {
	for i, h := range r.headers {
		if strings.EqualFold(h.name, name) {
			r.headers[i] = hdr{name, value}
			return r
		}
	}
	r.headers = append(r.headers, hdr{name, value})
	return r
}

func (r *request) del(name string) *request {
	var keep []hdr
	for _, h := range r.headers {
		if !strings.EqualFold(h.name, name) {
			keep = append(keep, h)
		}
	}
	r.headers = keep
	return r
}

func (r *request) bytes() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s\r\n", r.method, r.target, r.proto)
	for _, h := range r.headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h.name, h.value)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// head is a parsed HTTP head, request or response, parsed leniently: judging is left to the
// caller.
type head struct {
	first   string // the request or status line
	headers []hdr
	raw     []byte
}

func (h *head) get(name string) (string, bool) {
	for _, x := range h.headers {
		if strings.EqualFold(x.name, name) {
			return x.value, true
		}
	}
	return "", false
}

func (h *head) count(name string) int {
	n := 0
	for _, x := range h.headers {
		if strings.EqualFold(x.name, name) {
			n++
		}
	}
	return n
}

// hasToken reports whether a header named name holds token in its comma-separated list.
func (h *head) hasToken(name, token string) bool {
	for _, x := range h.headers {
		if strings.EqualFold(x.name, name) {
			for _, t := range strings.Split(x.value, ",") {
				if strings.EqualFold(strings.TrimSpace(t), token) {
					return true
				}
			}
		}
	}
	return false
}

// list returns the elements of every header named name.
func (h *head) list(name string) []string {
	var out []string
	for _, x := range h.headers {
		if strings.EqualFold(x.name, name) {
			for _, t := range strings.Split(x.value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

var errNoHead = errors.New("the connection ended before a complete HTTP head")

// readHead reads an HTTP head (through its empty line) from br within timeout.
func readHead(conn net.Conn, br *bufio.Reader, timeout time.Duration) (*head, error) {
	conn.SetReadDeadline(time.Now().Add(timeout))
	defer conn.SetReadDeadline(time.Time{})
	h := &head{}
	for {
		line, err := br.ReadSlice('\n')
		h.raw = append(h.raw, line...)
		if err != nil {
			if err == bufio.ErrBufferFull || len(h.raw) > 64<<10 {
				return h, errors.New("HTTP head over 64 KiB")
			}
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return h, errNoHead
			}
			return h, err
		}
		if len(h.raw) > 64<<10 {
			return h, errors.New("HTTP head over 64 KiB")
		}
		s := strings.TrimRight(string(line), "\r\n")
		if h.first == "" {
			if s == "" {
				continue
			}
			h.first = s
			continue
		}
		if s == "" {
			return h, nil
		}
		name, value, ok := strings.Cut(s, ":")
		if !ok {
			return h, fmt.Errorf("malformed header line %q", s)
		}
		h.headers = append(h.headers, hdr{name, strings.TrimSpace(value)})
	}
}

// status parses a status line: "HTTP/1.1 101 Switching Protocols".
func (h *head) status() (proto string, code int, ok bool) {
	f := strings.SplitN(h.first, " ", 3)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || len(f[1]) != 3 {
		return "", 0, false
	}
	code, err := strconv.Atoi(f[1])
	return f[0], code, err == nil
}

// checkUpgrade checks a server's 101 against the request (RFC 6455 4.1, the client's checks) and
// returns what is wrong, if anything.
func checkUpgrade(h *head, key string, protocols, extensions []string) []string {
	var bad []string
	proto, code, ok := h.status()
	if !ok {
		return []string{fmt.Sprintf("malformed status line %q", h.first)}
	}
	if code != 101 {
		return []string{fmt.Sprintf("status %d, not 101 (%q)", code, h.first)}
	}
	if proto != "HTTP/1.1" {
		bad = append(bad, fmt.Sprintf("status line in %s", proto))
	}
	if v, ok := h.get("Upgrade"); !ok || !strings.EqualFold(v, "websocket") {
		bad = append(bad, fmt.Sprintf("Upgrade header %q, expected websocket", v))
	}
	if !h.hasToken("Connection", "upgrade") {
		v, _ := h.get("Connection")
		bad = append(bad, fmt.Sprintf("Connection header %q without the upgrade token", v))
	}
	accept, _ := h.get("Sec-WebSocket-Accept")
	want := string(codec.AppendAccept(nil, []byte(key)))
	if accept != want || h.count("Sec-WebSocket-Accept") != 1 {
		bad = append(bad, fmt.Sprintf("Sec-WebSocket-Accept %q, expected %q", accept, want))
	}
	if p, ok := h.get("Sec-WebSocket-Protocol"); ok {
		if !containsFold(protocols, p, false) || h.count("Sec-WebSocket-Protocol") != 1 {
			bad = append(bad, fmt.Sprintf("Sec-WebSocket-Protocol %q, which the client did not offer", p))
		}
	}
	for _, e := range h.list("Sec-WebSocket-Extensions") {
		name, _, _ := strings.Cut(e, ";")
		if !containsFold(extensions, strings.TrimSpace(name), true) {
			bad = append(bad, fmt.Sprintf("Sec-WebSocket-Extensions accepts %q, which the client did not offer", e))
		}
	}
	return bad
}

func containsFold(list []string, s string, fold bool) bool {
	for _, x := range list {
		if x == s || fold && strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// upgrade dials and completes a valid handshake; it returns the connection, the reader that
// holds any bytes after the response head, and the head. offers, when given, go in the request's
// Sec-WebSocket-Extensions, and the response may then accept permessage-deflate.
func (t *target) upgrade(cfg *config, timeout time.Duration, offers []pmdParams) (net.Conn, *bufio.Reader, *head, error) {
	nc, err := t.dial(timeout)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial %s: %w", t.addr, err)
	}
	key := newKey()
	req := t.request(key)
	var exts []string
	if len(offers) > 0 {
		req.set("Sec-WebSocket-Extensions", offersHeader(offers))
		exts = []string{pmdName}
	}
	nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := nc.Write(req.bytes()); err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("writing the upgrade request: %w", err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	h, err := readHead(nc, br, timeout)
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("reading the response: %w (got %q)", err, clip(h.raw))
	}
	if bad := checkUpgrade(h, key, nil, exts); len(bad) > 0 {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("bad upgrade response: %s", strings.Join(bad, "; "))
	}
	return nc, br, h, nil
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// runServerCase runs one case against the server.
func runServerCase(t *target, cfg *config, c *Case) result {
	timeout := cfg.timeout
	if c.timeout > 0 {
		timeout = c.timeout
	}
	if c.serverHS != nil {
		return c.serverHS(t, cfg)
	}
	start := time.Now()
	var offers []pmdParams
	if c.deflate != nil {
		offers = c.deflate.offers
	}
	nc, br, h, err := t.upgrade(cfg, timeout, offers)
	if err != nil {
		return result{Outcome: Failed, Reason: "opening handshake: " + err.Error(), Expected: "a 101 response",
			Millis: time.Since(start).Milliseconds()}
	}
	s := newSession(cfg, nc, br, true, timeout)
	defer s.shutdown()
	if c.deflate != nil {
		s.logSent("offer: Sec-WebSocket-Extensions: " + offersHeader(offers))
		answer := strings.Join(h.list("Sec-WebSocket-Extensions"), ", ")
		s.gotf("answer: Sec-WebSocket-Extensions: %s", answer)
		agreed, err := checkPMDAnswer(h.list("Sec-WebSocket-Extensions"), offers)
		if err != nil {
			return result{Outcome: Failed, Reason: "permessage-deflate negotiation (RFC 7692 7.1): " + err.Error(),
				Expected: "a valid answer to the offer, or none", Sent: s.sent, Got: s.got, Millis: time.Since(start).Milliseconds()}
		}
		if agreed != nil {
			s.pmd = newPMDCodec(*agreed, true)
		}
	}
	exp := c.run(s)
	s.finish(exp)
	return s.judge(exp)
}

// --- the handshake section, server mode ---

func serverHandshakeCases(cfg *config) []*Case {
	ok := func(id, desc string, spoil func(r *request), how int, protocols, extensions []string) *Case {
		return &Case{ID: id, Desc: desc, Extra: true, serverHS: func(t *target, cfg *config) result {
			return hsAccept(t, cfg, spoil, how, protocols, extensions)
		}}
	}
	refuse := func(id, desc string, spoil func(r *request), wantStatus int, ifAccepted Outcome) *Case {
		return &Case{ID: id, Desc: desc, Extra: true, serverHS: func(t *target, cfg *config) result {
			return hsRefuse(t, cfg, spoil, wantStatus, ifAccepted)
		}}
	}
	unmasked := frame{fin: true, op: opText, payload: []byte("unmasked"), mask: maskNone}
	return []*Case{
		ok("H.1", "valid upgrade request: 101 with Upgrade, Connection and the right Sec-WebSocket-Accept, then an echo", nil, 0, nil, nil),
		// The Origin is the target's own host: a server may refuse other origins (RFC 6455 section
		// 10.2), and gorilla's, coder's and wsloop's do by default.
		ok("H.2", "header names in other cases, padded values, \"Connection: keep-alive, Upgrade\", \"Upgrade: WebSocket\", a same-host Origin and User-Agent",
			func(r *request) {
				r.headers = []hdr{{"host", r.headers[0].value}, {"UPGRADE", "  WebSocket "}, {"connection", "keep-alive, Upgrade"},
					{"sec-websocket-key", r.headers[3].value}, {"SEC-WEBSOCKET-VERSION", " 13"},
					{"Origin", "http://" + r.headers[0].value}, {"User-Agent", "wsconform"}}
			}, 0, nil, nil),
		ok("H.3", "the upgrade request in 1-byte writes", nil, 1, nil, nil),
		ok("H.4", "the upgrade request and a first text frame in one write", nil, 2, nil, nil),
		ok("H.5", "subprotocols offered: the response names one of them or none", func(r *request) {
			r.set("Sec-WebSocket-Protocol", "wsconform.one, wsconform.two")
		}, 0, []string{"wsconform.one", "wsconform.two"}, nil),
		ok("H.6", "an unknown extension offered: the response does not accept it", func(r *request) {
			r.set("Sec-WebSocket-Extensions", "x-wsconform-unknown; level=3")
		}, 0, nil, []string{"x-wsconform-unknown"}),
		refuse("H.7", "no Upgrade header", func(r *request) { r.del("Upgrade") }, 400, NonStrict),
		refuse("H.8", "Upgrade: h2c instead of websocket", func(r *request) { r.set("Upgrade", "h2c") }, 400, NonStrict),
		refuse("H.9", "no Connection header", func(r *request) { r.del("Connection") }, 400, NonStrict),
		refuse("H.10", "Connection: keep-alive, without the upgrade token", func(r *request) { r.set("Connection", "keep-alive") }, 400, NonStrict),
		refuse("H.11", "no Sec-WebSocket-Key", func(r *request) { r.del("Sec-WebSocket-Key") }, 400, NonStrict),
		refuse("H.12", "a Sec-WebSocket-Key of 8 bytes instead of 16", func(r *request) {
			r.set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString([]byte("8 bytes!")))
		}, 400, NonStrict),
		refuse("H.13", "a Sec-WebSocket-Key that is not base64", func(r *request) { r.set("Sec-WebSocket-Key", "this is not base64 at all") }, 400, NonStrict),
		refuse("H.14", "no Sec-WebSocket-Version", func(r *request) { r.del("Sec-WebSocket-Version") }, 400, NonStrict),
		refuse("H.15", "Sec-WebSocket-Version: 14, a version nobody speaks: 426 with Sec-WebSocket-Version: 13",
			func(r *request) { r.set("Sec-WebSocket-Version", "14") }, 426, NonStrict),
		refuse("H.16", "Sec-WebSocket-Version: 8 (draft hybi-08): accepting or refusing it is informational",
			func(r *request) { r.set("Sec-WebSocket-Version", "8") }, 426, Informational),
		refuse("H.17", "method POST", func(r *request) { r.method = "POST" }, 405, NonStrict),
		refuse("H.18", "HTTP/1.0", func(r *request) { r.proto = "HTTP/1.0" }, 400, NonStrict),
		refuse("H.19", "no Host header", func(r *request) { r.del("Host") }, 400, NonStrict),
		{ID: "H.20", Desc: "an unmasked text frame from the client", Extra: true, run: func(s *session) *expectation {
			s.send(unmasked)
			return &expectation{fail: true, codes: protocolError}
		}},
	}
}

// hsAccept sends a valid (possibly unusual) request and expects a 101, then an echo. how: 0 one
// write, 1 one byte per write, 2 the request and a first frame in one write.
func hsAccept(t *target, cfg *config, spoil func(r *request), how int, protocols, extensions []string) result {
	start := time.Now()
	r := result{Expected: "101 Switching Protocols with the right Sec-WebSocket-Accept, then an echo of \"hello\" and a clean close"}
	fail := func(format string, a ...any) result {
		r.Outcome, r.Reason, r.Millis = Failed, fmt.Sprintf(format, a...), time.Since(start).Milliseconds()
		return r
	}
	nc, err := t.dial(cfg.timeout)
	if err != nil {
		return fail("dial %s: %v", t.addr, err)
	}
	key := newKey()
	req := t.request(key)
	if spoil != nil {
		spoil(req)
	}
	raw := req.bytes()
	r.Sent = []string{fmt.Sprintf("%q", raw)}
	hello := []byte("hello")
	var s *session
	br := bufio.NewReaderSize(nc, 64<<10)
	nc.SetWriteDeadline(time.Now().Add(cfg.timeout))
	switch how {
	case 1:
		r.Sent[0] += ", in 1-byte writes"
		for i := range raw {
			if _, err = nc.Write(raw[i : i+1]); err != nil {
				break
			}
		}
	case 2:
		raw = msgFrame(opText, hello).encode(raw, true, newRNG())
		r.Sent = append(r.Sent, "text \"hello\" in the same write")
		_, err = nc.Write(raw)
	default:
		_, err = nc.Write(raw)
	}
	if err != nil {
		nc.Close()
		return fail("writing the request: %v", err)
	}
	h, err := readHead(nc, br, cfg.timeout)
	r.Got = []string{fmt.Sprintf("%q", clip(h.raw))}
	if err != nil {
		nc.Close()
		return fail("no complete response: %v", err)
	}
	if bad := checkUpgrade(h, key, protocols, extensions); len(bad) > 0 {
		nc.Close()
		return fail("%s", strings.Join(bad, "; "))
	}
	s = newSession(cfg, nc, br, true, cfg.timeout)
	defer s.shutdown()
	s.sent = r.Sent
	if how != 2 {
		s.send(msgFrame(opText, hello))
	}
	exp := &expectation{data: []dataEv{msg(opText, hello)}}
	s.finish(exp)
	res := s.judge(exp)
	res.Got = append(r.Got, res.Got...)
	res.Expected = r.Expected
	return res
}

// hsRefuse sends a request the server must refuse and judges the answer: wantStatus (or any 4xx,
// NON-STRICT unless wantStatus is 400) is right; a 101 gets ifAccepted.
func hsRefuse(t *target, cfg *config, spoil func(r *request), wantStatus int, ifAccepted Outcome) result {
	start := time.Now()
	r := result{Expected: fmt.Sprintf("the handshake refused with a 4xx status (%d expected)", wantStatus)}
	if wantStatus == 426 {
		r.Expected = "the handshake refused with 426 Upgrade Required and Sec-WebSocket-Version: 13"
	}
	done := func(o Outcome, format string, a ...any) result {
		r.Outcome, r.Reason, r.Millis = o, fmt.Sprintf(format, a...), time.Since(start).Milliseconds()
		return r
	}
	nc, err := t.dial(cfg.timeout)
	if err != nil {
		return done(Failed, "dial %s: %v", t.addr, err)
	}
	defer nc.Close()
	req := t.request(newKey())
	spoil(req)
	raw := req.bytes()
	r.Sent = []string{fmt.Sprintf("%q", raw)}
	nc.SetWriteDeadline(time.Now().Add(cfg.timeout))
	if _, err := nc.Write(raw); err != nil {
		return done(NonStrict, "writing the request failed: %v", err)
	}
	br := bufio.NewReader(nc)
	h, err := readHead(nc, br, cfg.timeout)
	r.Got = []string{fmt.Sprintf("%q", clip(h.raw))}
	switch {
	case isTimeout(err):
		return done(Failed, "no answer within %v", cfg.timeout)
	case err != nil && len(h.raw) == 0:
		return done(NonStrict, "the server closed the connection without an HTTP answer")
	case err != nil:
		return done(NonStrict, "malformed answer: %v", err)
	}
	_, code, ok := h.status()
	switch {
	case !ok:
		return done(Failed, "malformed status line %q", h.first)
	case code == 101:
		if ifAccepted == Informational {
			return done(Informational, "the server accepted it")
		}
		return done(ifAccepted, "the server accepted a request RFC 6455 4.2.1 says to refuse")
	case code == wantStatus:
		if code == 426 {
			if v, _ := h.get("Sec-WebSocket-Version"); !containsFold(h.list("Sec-WebSocket-Version"), "13", false) {
				return done(NonStrict, "426 without Sec-WebSocket-Version: 13 (got %q)", v)
			}
		}
		if ifAccepted == Informational {
			return done(Informational, "the server refused it")
		}
		return done(OK, "")
	case code >= 400 && code < 500:
		if ifAccepted == Informational {
			return done(Informational, "the server refused it with %d", code)
		}
		if wantStatus == 400 || code == 400 {
			return done(OK, "")
		}
		return done(NonStrict, "refused with %d; %d is the better answer", code, wantStatus)
	default:
		return done(NonStrict, "answered %d, not a 4xx", code)
	}
}
