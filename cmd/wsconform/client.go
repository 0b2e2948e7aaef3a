package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// Client mode: the tool is a server that tests WebSocket clients through Autobahn's testee
// protocol. A client under test loops:
//
//	GET /getCaseCount                 the tool sends the number of cases as a text message, closes
//	GET /runCase?case=N&agent=NAME    case N (1-based) runs; the client echoes every message
//	GET /updateReports?agent=NAME     the tool reports on NAME's cases and closes
//
// each as a WebSocket connection of its own.

// clientConn is one connection from the client under test, its request head read.
type clientConn struct {
	cfg     *config
	conn    net.Conn
	br      *bufio.Reader
	req     *head
	key     string
	prevKey string // the key of the client's previous connection
	timeout time.Duration
}

// clientSuite serves the cases to clients.
type clientSuite struct {
	cfg   *config
	cases []*Case
	log   io.Writer

	mu      sync.Mutex
	runs    map[string][]*caseRun // by agent, in the catalogue's order; nil entries not run yet
	agents  []string
	lastKey string
	updated chan string // an agent asked for its report
	tlsErr  string      // the last failed TLS handshake, for the cases never run
	wg      sync.WaitGroup
}

// caseRun is a case's result with the case.
type caseRun struct {
	c *Case
	r result
}

func newClientSuite(cfg *config, cases []*Case, log io.Writer) *clientSuite {
	return &clientSuite{cfg: cfg, cases: cases, log: log, runs: map[string][]*caseRun{}, updated: make(chan string, 16)}
}

// serve accepts connections until ln is closed, then waits for the open ones to end.
func (cs *clientSuite) serve(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			break
		}
		cs.wg.Add(1)
		go func() {
			defer cs.wg.Done()
			defer nc.Close()
			cs.handle(nc)
		}()
	}
	cs.wg.Wait()
}

func (cs *clientSuite) handle(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), cs.cfg.timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			cs.mu.Lock()
			cs.tlsErr = err.Error()
			cs.mu.Unlock()
			if cs.log != nil {
				fmt.Fprintf(cs.log, "TLS handshake with %s failed: %v\n", nc.RemoteAddr(), err)
			}
			return
		}
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	h, err := readHead(nc, br, cs.cfg.timeout)
	if err != nil {
		return
	}
	f := strings.Fields(h.first)
	if len(f) != 3 {
		nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	u, err := url.ParseRequestURI(f[1])
	if err != nil {
		nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		return
	}
	key, _ := h.get("Sec-WebSocket-Key")
	cs.mu.Lock()
	prev := cs.lastKey
	cs.lastKey = key
	cs.mu.Unlock()
	cc := &clientConn{cfg: cs.cfg, conn: nc, br: br, req: h, key: key, prevKey: prev, timeout: cs.cfg.timeout}
	agent := u.Query().Get("agent")
	if agent == "" {
		agent = "client"
	}
	switch u.Path {
	case "/getCaseCount":
		cc.say(strconv.Itoa(len(cs.cases)))
	case "/updateReports":
		cc.say("")
		cs.updated <- agent
	case "/runCase":
		n, err := strconv.Atoi(u.Query().Get("case"))
		if err != nil || n < 1 || n > len(cs.cases) {
			nc.Write([]byte("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
			return
		}
		c := cs.cases[n-1]
		r := runClientCase(cc, c)
		cs.mu.Lock()
		runs := cs.runs[agent]
		if runs == nil {
			runs = make([]*caseRun, len(cs.cases))
			cs.runs[agent] = runs
			cs.agents = append(cs.agents, agent)
		}
		runs[n-1] = &caseRun{c, r}
		cs.mu.Unlock()
		if cs.log != nil {
			fmt.Fprintf(cs.log, "%-13s %-10s %s\n", c.ID, r.Outcome, c.Desc)
		}
	default:
		nc.Write([]byte("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
	}
}

// results returns agent's results, cases it never ran marked FAILED.
func (cs *clientSuite) results(agent string) []*caseRun {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	runs := cs.runs[agent]
	out := make([]*caseRun, len(cs.cases))
	for i, c := range cs.cases {
		if runs != nil && runs[i] != nil {
			out[i] = runs[i]
		} else {
			r := result{Outcome: Failed, Reason: "the client never ran this case", Expected: "a /runCase connection"}
			if cs.tlsErr != "" {
				r.Reason += " (the last TLS handshake that failed: " + cs.tlsErr + ")"
			}
			out[i] = &caseRun{c, r}
		}
	}
	return out
}

// accept writes a valid 101 answer, with extra header lines.
func (cc *clientConn) accept(extra ...hdr) error {
	cc.conn.SetWriteDeadline(time.Now().Add(cc.timeout))
	_, err := cc.conn.Write(response101(cc.key, func(h []hdr) []hdr { return append(h, extra...) }))
	return err
}

// acceptDeflate answers the client's first valid permessage-deflate offer with the parameters set
// wants, within what the offer allows, and returns the codec; nil when the client offered none (or
// only invalid ones), then the 101 declines the extension.
func (cc *clientConn) acceptDeflate(set *pmdSet, s *session) (*pmdCodec, error) {
	elems := cc.req.list("Sec-WebSocket-Extensions")
	if len(elems) == 0 {
		s.gotf("no Sec-WebSocket-Extensions in the request: no offer")
	} else {
		s.gotf("offer: Sec-WebSocket-Extensions: %s", strings.Join(elems, ", "))
	}
	for _, e := range elems {
		offer, ok, err := parsePMD(e, false)
		if !ok {
			continue
		}
		if err != nil {
			s.note("the client's offer %q is invalid (%v): declined", e, err)
			continue
		}
		ans, notes := pmdAnswerTo(set.answer, offer)
		for _, n := range notes {
			s.note("%s", n)
		}
		s.logSent("answer: Sec-WebSocket-Extensions: " + ans.String())
		return newPMDCodec(ans, false), cc.accept(hdr{"Sec-WebSocket-Extensions", ans.String()})
	}
	s.logSent("answer without Sec-WebSocket-Extensions")
	return nil, cc.accept()
}

// response101 returns a 101 answer for key; edit may change its header lines.
func response101(key string, edit func(h []hdr) []hdr) []byte {
	hs := []hdr{{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
		{"Sec-WebSocket-Accept", string(codec.AppendAccept(nil, []byte(key)))}}
	status := "HTTP/1.1 101 Switching Protocols"
	if edit != nil {
		hs = edit(hs)
		if len(hs) > 0 && hs[0].name == "" {
			status, hs = hs[0].value, hs[1:]
		}
	}
	var b strings.Builder
	b.WriteString(status + "\r\n")
	for _, h := range hs {
		b.WriteString(h.name + ": " + h.value + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// say accepts the connection, sends text (when not empty) and closes it.
func (cc *clientConn) say(text string) {
	if cc.accept() != nil {
		return
	}
	s := newSession(cc.cfg, cc.conn, cc.br, false, cc.timeout)
	defer s.shutdown()
	if text != "" {
		s.send(msgFrame(opText, []byte(text)))
	}
	s.send(closeFrame(1000, ""))
	s.finish(&expectation{})
}

// runClientCase runs one case on a client's connection.
func runClientCase(cc *clientConn, c *Case) result {
	if c.timeout > 0 {
		cc.timeout = c.timeout
	}
	if c.clientHS != nil {
		return c.clientHS(cc)
	}
	start := time.Now()
	s := newSession(cc.cfg, cc.conn, cc.br, false, cc.timeout)
	defer s.shutdown()
	var err error
	if c.deflate != nil {
		s.pmd, err = cc.acceptDeflate(c.deflate, s)
	} else {
		err = cc.accept()
	}
	if err != nil {
		return result{Outcome: Failed, Reason: "writing the 101: " + err.Error(), Millis: time.Since(start).Milliseconds()}
	}
	exp := c.run(s)
	s.finish(exp)
	return s.judge(exp)
}

// --- the handshake section, client mode ---

func clientHandshakeCases(cfg *config) []*Case {
	bad := func(id, desc string, ifOpened Outcome, edit func(key string, h []hdr) []hdr) *Case {
		return &Case{ID: id, Desc: desc, Extra: true, clientHS: func(cc *clientConn) result {
			return hsBadResponse(cc, response101(cc.key, func(h []hdr) []hdr { return edit(cc.key, h) }), ifOpened)
		}}
	}
	without := func(name string) func(string, []hdr) []hdr {
		return func(_ string, h []hdr) []hdr {
			var out []hdr
			for _, x := range h {
				if x.name != name {
					out = append(out, x)
				}
			}
			return out
		}
	}
	replace := func(name, value string) func(string, []hdr) []hdr {
		return func(_ string, h []hdr) []hdr {
			out := []hdr{}
			for _, x := range h {
				if x.name == name {
					x.value = value
				}
				out = append(out, x)
			}
			return out
		}
	}
	add := func(name, value string) func(string, []hdr) []hdr {
		return func(_ string, h []hdr) []hdr { return append(h, hdr{name, value}) }
	}
	masked := frame{fin: true, op: opText, payload: []byte("masked"), mask: maskForce}
	return []*Case{
		{ID: "H.1", Desc: "the client's upgrade request is valid (RFC 6455 4.1), its key new, its frames masked with varying keys",
			Extra: true, clientHS: hsClientRequest},
		{ID: "H.2", Desc: "the 101 answer in 1-byte writes", Extra: true, clientHS: func(cc *clientConn) result {
			return hsGoodResponse(cc, response101(cc.key, nil), 1, false)
		}},
		{ID: "H.3", Desc: "the 101 answer and a first text frame in one write", Extra: true, clientHS: func(cc *clientConn) result {
			return hsGoodResponse(cc, response101(cc.key, nil), 0, true)
		}},
		{ID: "H.4", Desc: "the 101 answer with header names in lower case, \"Upgrade: WebSocket\" and padded values", Extra: true,
			clientHS: func(cc *clientConn) result {
				return hsGoodResponse(cc, response101(cc.key, func(h []hdr) []hdr {
					return []hdr{{"upgrade", "  WebSocket"}, {"connection", "upgrade "}, {"sec-websocket-accept", h[2].value}, {"x-wsconform", "1"}}
				}), 0, false)
			}},
		bad("H.5", "a wrong Sec-WebSocket-Accept: the client must fail", Failed, func(key string, h []hdr) []hdr {
			return replace("Sec-WebSocket-Accept", string(codec.AppendAccept(nil, []byte(key+"x"))))(key, h)
		}),
		bad("H.6", "no Sec-WebSocket-Accept: the client must fail", Failed, without("Sec-WebSocket-Accept")),
		bad("H.7", "status 200 with the WebSocket headers: the client must fail", Failed, func(key string, h []hdr) []hdr {
			return append([]hdr{{"", "HTTP/1.1 200 OK"}}, h...)
		}),
		bad("H.8", "no Upgrade header: the client must fail", NonStrict, without("Upgrade")),
		bad("H.9", "Upgrade: h2c: the client must fail", Failed, replace("Upgrade", "h2c")),
		bad("H.10", "no Connection header: the client must fail", NonStrict, without("Connection")),
		bad("H.11", "a Sec-WebSocket-Protocol the client did not offer: the client must fail", Failed,
			add("Sec-WebSocket-Protocol", "wsconform.unoffered")),
		bad("H.12", "a Sec-WebSocket-Extensions the client did not offer: the client must fail", Failed,
			add("Sec-WebSocket-Extensions", "x-wsconform-unoffered")),
		{ID: "H.13", Desc: "a masked text frame from the server", Extra: true, run: func(s *session) *expectation {
			s.send(masked)
			return &expectation{fail: true, codes: protocolError}
		}},
	}
}

// hsClientRequest checks the client's request, then exchanges three messages and checks that the
// client's mask keys vary.
func hsClientRequest(cc *clientConn) result {
	var bad []string
	h := cc.req
	f := strings.Fields(h.first)
	if len(f) != 3 || f[0] != "GET" {
		bad = append(bad, fmt.Sprintf("request line %q: the method must be GET", h.first))
	} else if major, minor, ok := httpVersion(f[2]); !ok || major < 1 || major == 1 && minor < 1 {
		bad = append(bad, fmt.Sprintf("request line %q: HTTP/1.1 or later is required", h.first))
	}
	if v, ok := h.get("Host"); !ok || v == "" || h.count("Host") != 1 {
		bad = append(bad, "no single, non-empty Host header")
	}
	if v, _ := h.get("Upgrade"); !h.hasToken("Upgrade", "websocket") {
		bad = append(bad, fmt.Sprintf("Upgrade header %q without websocket", v))
	}
	if v, _ := h.get("Connection"); !h.hasToken("Connection", "upgrade") {
		bad = append(bad, fmt.Sprintf("Connection header %q without the upgrade token", v))
	}
	if raw, err := base64.StdEncoding.DecodeString(cc.key); err != nil || len(raw) != 16 || h.count("Sec-WebSocket-Key") != 1 {
		bad = append(bad, fmt.Sprintf("Sec-WebSocket-Key %q is not one base64 value of 16 bytes", cc.key))
	}
	if v, _ := h.get("Sec-WebSocket-Version"); v != "13" {
		bad = append(bad, fmt.Sprintf("Sec-WebSocket-Version %q, expected 13", v))
	}
	if cc.key != "" && cc.key == cc.prevKey {
		bad = append(bad, "the same Sec-WebSocket-Key as on the previous connection (it must be random per connection)")
	}
	if err := cc.accept(); err != nil {
		return result{Outcome: Failed, Reason: "writing the 101: " + err.Error()}
	}
	s := newSession(cc.cfg, cc.conn, cc.br, false, cc.timeout)
	defer s.shutdown()
	var exp expectation
	for i := 0; i < 3; i++ {
		p := []byte(fmt.Sprintf("message %d", i))
		s.send(msgFrame(opText, p))
		exp.data = append(exp.data, msg(opText, p))
	}
	s.finish(&exp)
	r := s.judge(&exp)
	r.Got = append([]string{fmt.Sprintf("request %q", clip(h.raw))}, r.Got...)
	r.Expected = "a valid upgrade request, then the three messages echoed in masked frames with varying keys"
	if len(s.peerKeys) >= 2 {
		same := true
		for _, k := range s.peerKeys[1:] {
			same = same && k == s.peerKeys[0]
		}
		if same {
			bad = append(bad, fmt.Sprintf("every frame masked with the same key %x", s.peerKeys[0]))
		}
	}
	if len(bad) > 0 {
		r.Outcome = Failed
		r.Reason = strings.TrimPrefix(r.Reason+"; "+strings.Join(bad, "; "), "; ")
	}
	return r
}

func httpVersion(s string) (major, minor int, ok bool) {
	v, found := strings.CutPrefix(s, "HTTP/")
	a, b, dot := strings.Cut(v, ".")
	if !found || !dot {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil
}

// hsGoodResponse writes a valid (possibly unusual) answer, in chop-byte writes, optionally with a
// first frame in the same write, and expects an echo.
func hsGoodResponse(cc *clientConn, resp []byte, chop int, frameWith bool) result {
	hello := []byte("hello")
	sent := fmt.Sprintf("%q", resp)
	if chop > 0 {
		sent += fmt.Sprintf(", in %d-byte writes", chop)
	}
	s := newSession(cc.cfg, cc.conn, cc.br, false, cc.timeout)
	defer s.shutdown()
	s.logSent(sent)
	if frameWith {
		s.logSent("text \"hello\" in the same write")
		resp = msgFrame(opText, hello).encode(resp, false, s.rng)
	}
	s.write(resp, chop, 0)
	if !frameWith {
		s.send(msgFrame(opText, hello))
	}
	exp := &expectation{data: []dataEv{msg(opText, hello)}}
	s.finish(exp)
	return s.judge(exp)
}

// hsBadResponse writes an answer the client must refuse, then a text frame: an echo means the
// client opened the connection anyway.
func hsBadResponse(cc *clientConn, resp []byte, ifOpened Outcome) result {
	s := newSession(cc.cfg, cc.conn, cc.br, false, cc.timeout)
	defer s.shutdown()
	s.logSent(fmt.Sprintf("%q", resp))
	s.write(resp, 0, 0)
	s.send(msgFrame(opText, []byte("are you open?")))
	s.pump(cc.timeout, func() bool { return len(s.data) > 0 || s.closedOrEnded() })
	r := result{Outcome: OK, Sent: s.sent, Got: s.got, Millis: s.elapsed().Milliseconds(),
		Expected: "the client fails the connection: it closes TCP without echoing anything"}
	switch {
	case len(s.data) > 0:
		r.Outcome = ifOpened
		r.Reason = "the client opened the connection (it echoed the message) despite the bad answer (RFC 6455 4.1: it MUST fail)"
	case s.close != nil:
		r.Notes = append(r.Notes, "the client sent a close frame on a connection that never opened")
	case s.ended:
	default:
		r.Outcome = Failed
		r.Reason = fmt.Sprintf("the client neither failed nor closed within %v", cc.timeout)
	}
	return r
}
