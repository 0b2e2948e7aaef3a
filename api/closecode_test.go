package api

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The close codes IANA registered after RFC 6455, each with the reason its name suggests.
var ianaCloseCodes = []struct {
	code   codec.CloseCode
	reason string
}{
	{codec.CloseServiceRestart, "service restart"},
	{codec.CloseTryAgainLater, "try again later"},
	{codec.CloseBadGateway, "bad gateway"},
}

// Our client and 1012-1014, against a raw server that checks the bytes: a server's close is echoed
// with the same code and reported as that code (not failed with 1002), and Close sends the code.
func TestCloseCodesIANAClient(t *testing.T) {
	for _, tc := range ianaCloseCodes {
		payload := codec.AppendClosePayload(nil, tc.code, tc.reason)
		want := "close " + strconv.Itoa(int(tc.code)) + " " + tc.reason
		t.Run("server-closes-"+strconv.Itoa(int(tc.code)), func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr := rawServer(t, func(nc net.Conn, req string) {
				accept101(nc, req, wstest.ServerFrame(true, codec.OpClose, payload))
				if op, p := readClientFrame(t, nc); op != codec.OpClose || !bytes.Equal(p, payload) {
					t.Errorf("client answered %v %q, want the close %q echoed", op, p, payload)
				}
			})
			r := newRecorder()
			if _, err := Connect("ws://"+addr, r.opts(nil), nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(r.wait(t), "|"); got != want {
				t.Fatalf("events %q, want %q", got, want)
			}
		})
		t.Run("client-closes-"+strconv.Itoa(int(tc.code)), func(t *testing.T) {
			wstest.CheckLeaks(t)
			addr := rawServer(t, func(nc net.Conn, req string) {
				accept101(nc, req)
				op, p := readClientFrame(t, nc)
				if op != codec.OpClose || !bytes.Equal(p, payload) {
					t.Errorf("client sent %v %q, want close %q", op, p, payload)
				}
				nc.Write(wstest.ServerFrame(true, codec.OpClose, p))
			})
			r := newRecorder()
			closed := make(chan error, 1)
			_, err := Connect("ws://"+addr, r.opts(nil), func(c *Conn) { closed <- c.Close(int(tc.code), tc.reason) })
			if err != nil {
				t.Fatal(err)
			}
			if err := recv(t, closed); err != nil {
				t.Fatalf("Close(%d): %v", tc.code, err)
			}
			if got := strings.Join(r.wait(t), "|"); got != want {
				t.Fatalf("events %q, want %q", got, want)
			}
		})
	}
}

// Our server and 1012-1014, against a raw client that checks the bytes: a client's close is echoed
// byte for byte and reported as its code, and Close sends the code.
func TestCloseCodesIANAServer(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, nil)
	for _, tc := range ianaCloseCodes {
		echo := wstest.ServerFrame(true, codec.OpClose, codec.AppendClosePayload(nil, tc.code, tc.reason))

		l.reset()
		p := wstest.Dial(t, addr, "/")
		recv(t, conns)
		p.Write(closeFrame(tc.code, tc.reason))
		nextWire(t, p, echo)
		p.ExpectEOF()
		l.expect(t, "connection /", closeEv(int(tc.code), tc.reason))

		l.reset()
		p = wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		if err := c.Close(int(tc.code), tc.reason); err != nil {
			t.Fatalf("Close(%d): %v", tc.code, err)
		}
		nextWire(t, p, echo)
		p.Write(closeFrame(tc.code, tc.reason))
		p.ExpectEOF()
		l.expect(t, "connection /", closeEv(int(tc.code), tc.reason))
	}
}

// Our server and our client on loopback: a 1013 from the server and a 1012 from the client reach
// the other side's close event as sent, on both ends.
func TestCloseCodesIANAServerToClient(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   codec.CloseCode
		reason string
		server bool // the server closes; else the client
	}{
		{"server-closes-1013", codec.CloseTryAgainLater, "try again later", true},
		{"client-closes-1012", codec.CloseServiceRestart, "service restart", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wstest.CheckLeaks(t)
			_, addr, l, conns := recServer(t, nil)
			r := newRecorder()
			client, err := Connect("ws://"+addr+"/", r.opts(nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			closer := client
			if tc.server {
				closer = recv(t, conns)
			}
			waitUntil(t, "the connection to open", func() bool { return closer.ReadyState() == Open })
			if err := closer.Close(int(tc.code), tc.reason); err != nil {
				t.Fatalf("Close(%d): %v", tc.code, err)
			}
			want := "close " + strconv.Itoa(int(tc.code)) + " " + tc.reason
			if got := strings.Join(r.wait(t), "|"); got != want {
				t.Fatalf("client events %q, want %q", got, want)
			}
			l.expect(t, "connection /", closeEv(int(tc.code), tc.reason))
		})
	}
}

// Close(0, reason) with a reason is refused before anything is sent, on both sides: the next
// frame on the wire is the one of Close(0, ""), a close frame without a payload.
func TestCloseReasonWithoutCode(t *testing.T) {
	t.Run("server", func(t *testing.T) {
		wstest.CheckLeaks(t)
		_, addr, l, conns := recServer(t, nil)
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		if err := c.Close(0, "bye"); !errors.Is(err, ErrReasonWithoutCode) {
			t.Fatalf(`Close(0, "bye") = %v, want ErrReasonWithoutCode`, err)
		}
		if c.ReadyState() != Open {
			t.Fatalf(`state after Close(0, "bye"): %d`, c.ReadyState())
		}
		p.ExpectSilence(settle)
		if err := c.Close(0, ""); err != nil {
			t.Fatalf(`Close(0, "") = %v`, err)
		}
		nextWire(t, p, []byte{0x88, 0x00})
		p.Write(wstest.FrameBytes(true, codec.OpClose, nil))
		p.ExpectEOF()
		l.expect(t, "connection /", closeEv(int(codec.CloseNoStatus), ""))
	})
	t.Run("client", func(t *testing.T) {
		wstest.CheckLeaks(t)
		addr := rawServer(t, func(nc net.Conn, req string) {
			accept101(nc, req)
			if op, p := readClientFrame(t, nc); op != codec.OpClose || len(p) != 0 {
				t.Errorf("client sent %v %q first, want a close frame without payload", op, p)
			}
			nc.Write(wstest.ServerFrame(true, codec.OpClose, nil))
		})
		r := newRecorder()
		errs := make(chan [2]error, 1)
		_, err := Connect("ws://"+addr, r.opts(nil), func(c *Conn) {
			errs <- [2]error{c.Close(0, "bye"), c.Close(0, "")}
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := recv(t, errs); !errors.Is(got[0], ErrReasonWithoutCode) || got[1] != nil {
			t.Fatalf(`Close(0, "bye") = %v, then Close(0, "") = %v; want ErrReasonWithoutCode, then nil`, got[0], got[1])
		}
		if got := strings.Join(r.wait(t), "|"); got != "close 1005 " {
			t.Fatalf("events %q", got)
		}
	})
}
