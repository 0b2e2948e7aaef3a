package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// serverKnobs break the test server in one way each.
type serverKnobs struct {
	skipUTF8       bool // no UTF-8 validation of text messages and close reasons
	acceptBadCodes bool // close frames with any code are accepted and their code echoed
	refuseIANA     bool // close codes 1012-1014 refused with 1002, as before IANA registered them
	emptyPong      bool // pings answered with an empty pong
	silent         bool // upgrade, then read and ignore everything
	ignoreRSV      bool // RSV bits cleared before parsing, as if they were never set
}

// startRawServer starts a small echo server, a goroutine per connection on the codec, that
// follows RFC 6455 except where knobs say, and returns its address.
func startRawServer(t *testing.T, knobs serverKnobs) string {
	return serveEach(t, func(nc net.Conn) { serveRaw(nc, knobs) })
}

// serveEach listens on a loopback port and runs handle on a goroutine for each connection,
// closing it after; the test's cleanup closes the listener and the connections still open and
// waits for every goroutine. It returns the address.
func serveEach(t *testing.T, handle func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[nc] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(nc)
				nc.Close()
				mu.Lock()
				delete(open, nc)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for nc := range open {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func serveRaw(nc net.Conn, k serverKnobs) {
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	var req codec.Request
	var head []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			return
		}
		head = append(head, b)
		n, err := req.Parse(head)
		if err != nil {
			var he *codec.HandshakeError
			errors.As(err, &he)
			nc.Write(codec.AppendHandshakeError(nil, he))
			return
		}
		if n > 0 {
			break
		}
	}
	resp, err := codec.AppendResponse(nil, req.Key, "", nil)
	if err != nil {
		return
	}
	nc.Write(resp)
	if k.silent {
		io.Copy(io.Discard, br)
		return
	}
	c := &rawConn{nc: nc, br: br, k: k}
	c.loop()
}

type rawConn struct {
	nc    net.Conn
	br    *bufio.Reader
	k     serverKnobs
	inMsg bool
	op    codec.Opcode
	msg   []byte
	utf   codec.UTF8Validator
}

func (c *rawConn) send(op codec.Opcode, p []byte) {
	c.nc.Write(codec.AppendFrame(nil, true, op, p, codec.ServerRole, [4]byte{}))
}

// fail sends a close with code, waits a little for the answer and returns (the caller closes).
func (c *rawConn) fail(code codec.CloseCode) {
	c.send(codec.OpClose, codec.AppendClosePayload(nil, code, ""))
	// The bytes after a bad frame cannot be parsed: close our side at once and drain until the
	// peer closes too.
	c.nc.(*net.TCPConn).CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, c.br)
}

func (c *rawConn) loop() {
	for {
		var hb []byte
		var h codec.Header
		for {
			b, err := c.br.ReadByte()
			if err != nil {
				return
			}
			if c.k.ignoreRSV && len(hb) == 0 {
				b &^= 0x70
			}
			hb = append(hb, b)
			var n int
			h, n, err = codec.ParseHeader(hb, codec.ServerRole, 16<<20)
			if err != nil {
				var pe *codec.ProtocolError
				errors.As(err, &pe)
				c.fail(pe.Code)
				return
			}
			if n > 0 {
				break
			}
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return
		}
		codec.Mask(h.Mask, 0, p)
		switch h.Opcode {
		case codec.OpPing:
			if c.k.emptyPong {
				p = nil
			}
			c.send(codec.OpPong, p)
		case codec.OpPong:
		case codec.OpClose:
			c.closeReceived(p)
			return
		default:
			if !c.data(h, p) {
				return
			}
		}
	}
}

func (c *rawConn) closeReceived(p []byte) {
	var code codec.CloseCode
	var reason []byte
	var err error
	if c.k.acceptBadCodes || c.k.skipUTF8 {
		switch {
		case len(p) == 1:
			err = codec.ErrCloseOneByte
		case len(p) >= 2:
			code, reason = codec.CloseCode(binary.BigEndian.Uint16(p)), p[2:]
			if !c.k.acceptBadCodes && !codec.ValidCloseCode(code) {
				err = codec.ErrInvalidCloseCode
			} else if !c.k.skipUTF8 && !codec.ValidUTF8(reason) {
				err = codec.ErrInvalidCloseReason
			}
		default:
			code = codec.CloseNoStatus
		}
	} else {
		code, reason, err = codec.ParseClosePayload(p)
	}
	if c.k.refuseIANA && code >= codec.CloseServiceRestart && code <= codec.CloseBadGateway {
		err = codec.ErrInvalidCloseCode
	}
	if err != nil {
		var pe *codec.ProtocolError
		errors.As(err, &pe)
		c.send(codec.OpClose, codec.AppendClosePayload(nil, pe.Code, ""))
		return
	}
	c.send(codec.OpClose, codec.AppendClosePayload(nil, code, string(reason)))
}

// data takes in a data frame; it reports false when it failed the connection.
func (c *rawConn) data(h codec.Header, p []byte) bool {
	switch {
	case h.Opcode == codec.OpContinuation && !c.inMsg:
		c.fail(codec.CloseProtocolError)
		return false
	case h.Opcode != codec.OpContinuation && c.inMsg:
		c.fail(codec.CloseProtocolError)
		return false
	case h.Opcode != codec.OpContinuation:
		c.inMsg, c.op, c.msg = true, h.Opcode, c.msg[:0]
		c.utf.Reset()
	}
	if c.op == codec.OpText && !c.k.skipUTF8 {
		if _, ok := c.utf.Feed(p); !ok || h.Fin && !c.utf.Complete() {
			c.fail(codec.CloseInvalidPayload)
			return false
		}
	}
	c.msg = append(c.msg, p...)
	if h.Fin {
		c.inMsg = false
		c.send(c.op, c.msg)
	}
	return true
}

// brokenSections are the sections the broken servers run: small cases only.
const brokenSections = "2,3,4,5,6,7,10"

// TestBrokenServers runs the suite against the test server as it is (no FAILED case), then broken
// in one way at a time: exactly the cases that exercise the broken behaviour must FAIL.
func TestBrokenServers(t *testing.T) {
	cfg := defaultConfig()
	cfg.failFast = 200 * time.Millisecond
	all := modeCases("server", cfg)
	ids := func(pred func(c *Case) bool) []string {
		var out []string
		for _, c := range all {
			if matchAny(c.ID, brokenSections) && pred(c) {
				out = append(out, c.ID)
			}
		}
		return out
	}
	invalidUTF8 := map[string]bool{"6.3.1": true, "6.3.2": true, "6.4.1": true, "6.4.2": true, "6.4.3": true, "6.4.4": true,
		"7.5.1": true, "7.x.6": true}
	for _, v := range utf8Vectors() {
		invalidUTF8[v.id] = !v.valid
	}
	badCodes := map[string]bool{"7.x.4": true, "7.13.1": true, "7.13.2": true}
	pings := map[string]bool{}
	for _, id := range []string{"2.2", "2.3", "2.4", "2.6", "2.9", "2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20", "10.x.2"} {
		pings[id] = true
	}
	for _, tc := range []struct {
		name  string
		knobs serverKnobs
		want  []string
	}{
		{"sound", serverKnobs{}, nil},
		{"skips UTF-8 validation", serverKnobs{skipUTF8: true}, ids(func(c *Case) bool { return invalidUTF8[c.ID] })},
		{"accepts invalid close codes", serverKnobs{acceptBadCodes: true},
			ids(func(c *Case) bool { return badCodes[c.ID] || len(c.ID) > 4 && c.ID[:4] == "7.9." })},
		{"refuses 1012-1014", serverKnobs{refuseIANA: true}, []string{"7.x.1", "7.x.2", "7.x.3"}},
		{"answers pings with an empty pong", serverKnobs{emptyPong: true}, ids(func(c *Case) bool { return pings[c.ID] })},
		{"ignores reserved bits", serverKnobs{ignoreRSV: true}, ids(func(c *Case) bool { return c.Section() == "3" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startRawServer(t, tc.knobs)
			rep := runServer(t, "ws://"+addr+"/", brokenSections, cfg)
			var got []string
			for _, c := range rep.Cases {
				if c.Outcome == Failed {
					got = append(got, c.ID)
				}
			}
			sort.Strings(got)
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				var sum bytesBuffer
				rep.writeSummary(&sum, false)
				t.Errorf("FAILED cases:\n got  %v\n want %v\n%s", got, want, sum.String())
			}
			if tc.name == "sound" {
				return
			}
			// The evidence names the fault.
			for _, c := range rep.Cases {
				if c.Outcome == Failed && c.Reason == "" {
					t.Errorf("%s FAILED without a reason", c.ID)
				}
			}
		})
	}
}

// bytesBuffer is a strings.Builder with the io.Writer method set writeSummary needs.
type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *bytesBuffer) String() string              { return string(w.b) }
