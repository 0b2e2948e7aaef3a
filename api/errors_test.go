package api

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// ianaCloseRegistry is IANA's WebSocket Close Code Number Registry for 1000-1015, written out from
// the registry (1004 is reserved, with no meaning): each code with the constant meant to hold it,
// its name, and whether it may be sent in a close frame.
var ianaCloseRegistry = []struct {
	constant int
	code     int
	name     string
	sendable bool
}{
	{CloseNormalClosure, 1000, "normal closure", true},
	{CloseGoingAway, 1001, "going away", true},
	{CloseProtocolError, 1002, "protocol error", true},
	{CloseUnsupportedData, 1003, "unsupported data", true},
	{CloseNoStatusReceived, 1005, "no status received", false},
	{CloseAbnormalClosure, 1006, "abnormal closure", false},
	{CloseInvalidFramePayloadData, 1007, "invalid frame payload data", true},
	{ClosePolicyViolation, 1008, "policy violation", true},
	{CloseMessageTooBig, 1009, "message too big", true},
	{CloseMandatoryExtension, 1010, "mandatory extension", true},
	{CloseInternalError, 1011, "internal error", true},
	{CloseServiceRestart, 1012, "service restart", true},
	{CloseTryAgainLater, 1013, "try again later", true},
	{CloseBadGateway, 1014, "bad gateway", true},
	{CloseTLSHandshake, 1015, "TLS handshake", false},
}

// Every close code constant holds its registered number and name, and the codes that are never
// sent are exactly those the close-frame check refuses.
func TestCloseCodeConstants(t *testing.T) {
	for _, r := range ianaCloseRegistry {
		if r.constant != r.code {
			t.Errorf("the constant for %d (%s) is %d", r.code, r.name, r.constant)
		}
		if got := CloseText(r.code); got != r.name {
			t.Errorf("CloseText(%d) = %q, want %q", r.code, got, r.name)
		}
		if got := codec.ValidCloseCode(codec.CloseCode(r.code)); got != r.sendable {
			t.Errorf("%d may be sent: %v, want %v", r.code, got, r.sendable)
		}
	}
	for _, code := range []int{999, 1004, 1016, 3000, 4999} {
		if got := CloseText(code); got != "" {
			t.Errorf("CloseText(%d) = %q, want none", code, got)
		}
	}
}

// Close refuses the codes that are never sent, on a live connection, which then still closes with
// a registered code; a send after Close gets ErrNotOpen, with nodejs-websocket's text.
func TestCloseCodeNeverSentAndNotOpen(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, l, conns := recServer(t, nil)
	p := wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	for _, code := range []int{CloseNoStatusReceived, CloseAbnormalClosure, CloseTLSHandshake, 1004} {
		if err := c.Close(code, ""); !errors.Is(err, ErrInvalidCloseCode) {
			t.Fatalf("Close(%d) = %v, want ErrInvalidCloseCode", code, err)
		}
	}
	if err := c.Close(CloseTryAgainLater, "later"); err != nil {
		t.Fatal(err)
	}
	later := "later"
	nextClose(t, p, CloseTryAgainLater, &later)
	err := c.SendText("late", nil)
	if !errors.Is(err, ErrNotOpen) || err.Error() != "You can't write to a non-open connection" {
		t.Fatalf("SendText after Close = %v, want ErrNotOpen", err)
	}
	p.Write(closeFrame(CloseTryAgainLater, ""))
	p.ExpectEOF()
	l.expect(t, "connection /", closeEv(CloseTryAgainLater, ""))
}

// A message over the send queue's cap is refused with ErrQueueFull, returned and given to the
// callback.
func TestErrorQueueFull(t *testing.T) {
	wstest.CheckLeaks(t)
	_, addr, _, conns := recServer(t, &ServerOptions{MaxQueuedBytes: 4096})
	wstest.Dial(t, addr, "/")
	c := recv(t, conns)
	r := newCBRecorder()
	if err := c.SendBinary(make([]byte, 8192), r.cb("big")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("SendBinary over the cap = %v, want ErrQueueFull", err)
	}
	r.expect(t, "big", ErrQueueFull)
}

// A client whose server never answers the upgrade gets ErrHandshakeTimeout, then close 1006.
func TestErrorHandshakeTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	addr := rawServer(t, func(nc net.Conn, _ string) {
		var b [1]byte
		nc.Read(b[:]) // until the client gives up
	})
	r := newRecorder()
	if _, err := Connect("ws://"+addr, r.opts(&ClientOptions{HandshakeTimeout: 200 * time.Millisecond}), nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.wait(t), "|"); got != "error|close 1006 " {
		t.Fatalf("events %q, want error then close 1006", got)
	}
	if !errors.Is(r.errs[0], ErrHandshakeTimeout) {
		t.Fatalf("error %v, want ErrHandshakeTimeout", r.errs[0])
	}
}

// errorServer starts a server with opts whose connections send their error events to errs and
// their close codes to codes.
func errorServer(t *testing.T, opts *ServerOptions) (addr string, errs chan error, codes chan int) {
	t.Helper()
	errs, codes = make(chan error, 4), make(chan int, 4)
	_, addr = startServer(t, opts, func(c *Conn) {
		c.OnError(func(_ *Conn, err error) { errs <- err })
		c.OnClose(func(_ *Conn, code int, _ string) { codes <- code })
	})
	return addr, errs, codes
}

// A violation reaches the error event as a *CloseError with the code sent to the peer and that
// OnClose reports, wrapping the violation; a frame or a message over the size limit is
// ErrMessageTooBig (1009).
func TestErrorCloseErrorOnViolation(t *testing.T) {
	wstest.CheckLeaks(t)
	addr, errs, codes := errorServer(t, &ServerOptions{MaxBufferLength: 16})
	cases := []struct {
		name    string
		send    []byte
		cause   *codec.ProtocolError
		text    string
		tooBig  bool
		wantErr error
	}{
		{"frame-too-big", fr(true, opBinary, strings.Repeat("x", 17)), codec.ErrPayloadTooBig,
			"websocket: closed with 1009 (message too big): payload longer than the limit", true, ErrMessageTooBig},
		{"message-too-big", append(fr(false, opBinary, strings.Repeat("x", 10)), fr(true, opCont, strings.Repeat("x", 10))...),
			codec.ErrMessageTooBig, "websocket: closed with 1009 (message too big): message longer than the limit", true, ErrMessageTooBig},
		{"reserved-opcode", maskedRaw(0x83, nil), codec.ErrUnknownOpcode,
			"websocket: closed with 1002 (protocol error): reserved opcode", false, codec.ErrUnknownOpcode},
		{"invalid-utf8", fr(true, opText, "\xff"), codec.ErrInvalidUTF8,
			"websocket: closed with 1007 (invalid frame payload data): invalid UTF-8 in a text message", false, codec.ErrInvalidUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := wstest.Dial(t, addr, "/")
			p.Write(tc.send)
			expectFail(t, p, tc.cause)
			err := recv(t, errs)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != int(tc.cause.Code) || ce.Reason != tc.cause.Msg {
				t.Fatalf("error %#v, want a *CloseError %d %q", err, tc.cause.Code, tc.cause.Msg)
			}
			if err.Error() != tc.text {
				t.Fatalf("error text %q, want %q", err.Error(), tc.text)
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, tc.cause) || errors.Is(err, ErrMessageTooBig) != tc.tooBig {
				t.Fatalf("error %v: Is %v %v, Is the cause %v, Is ErrMessageTooBig %v (want %v)", err,
					tc.wantErr, errors.Is(err, tc.wantErr), errors.Is(err, tc.cause), errors.Is(err, ErrMessageTooBig), tc.tooBig)
			}
			if code := recv(t, codes); code != ce.Code {
				t.Fatalf("OnClose got %d, the error's code is %d", code, ce.Code)
			}
		})
	}
}

// A peer that answers no ping gets ErrPongTimeout; one that answers no close gets
// ErrCloseTimeout. Both end with 1006, and neither error is a *CloseError.
func TestErrorKeepaliveAndCloseTimeout(t *testing.T) {
	wstest.CheckLeaks(t)
	const d = 150 * time.Millisecond
	t.Run("pong", func(t *testing.T) {
		addr, errs, codes := errorServer(t, &ServerOptions{PingInterval: d, PongTimeout: d})
		p := wstest.Dial(t, addr, "/")
		expectTimeoutError(t, recv(t, errs), ErrPongTimeout)
		if code := recv(t, codes); code != CloseAbnormalClosure {
			t.Fatalf("OnClose got %d, want 1006", code)
		}
		p.ExpectEOF()
	})
	t.Run("close", func(t *testing.T) {
		_, addr, _, conns := recServer(t, &ServerOptions{CloseTimeout: d})
		p := wstest.Dial(t, addr, "/")
		c := recv(t, conns)
		errs, codes := make(chan error, 1), make(chan int, 1)
		c.OnError(func(_ *Conn, err error) { errs <- err })
		c.OnClose(func(_ *Conn, code int, _ string) { codes <- code })
		c.Close(CloseNormalClosure, "")
		nextClose(t, p, CloseNormalClosure, nil)
		expectTimeoutError(t, recv(t, errs), ErrCloseTimeout)
		if code := recv(t, codes); code != CloseAbnormalClosure {
			t.Fatalf("OnClose got %d, want 1006", code)
		}
		p.ExpectEOF()
	})
}

func expectTimeoutError(t *testing.T, err, want error) {
	t.Helper()
	var ce *CloseError
	if !errors.Is(err, want) || errors.As(err, &ce) {
		t.Fatalf("error %v, want %v and no *CloseError", err, want)
	}
}

// apiErrors lists every exported error variable of the package by name.
var apiErrors = map[string]error{
	"ErrNotOpen":              ErrNotOpen,
	"ErrTextWhileStreaming":   ErrTextWhileStreaming,
	"ErrBinaryWhileStreaming": ErrBinaryWhileStreaming,
	"ErrInvalidText":          ErrInvalidText,
	"ErrInvalidData":          ErrInvalidData,
	"ErrInvalidCloseCode":     ErrInvalidCloseCode,
	"ErrReasonWithoutCode":    ErrReasonWithoutCode,
	"ErrPingTooLong":          ErrPingTooLong,
	"ErrClosed":               ErrClosed,
	"ErrQueueFull":            ErrQueueFull,
	"ErrStreamClosed":         ErrStreamClosed,
	"ErrMessageTooBig":        ErrMessageTooBig,
	"ErrTruncated":            ErrTruncated,
	"ErrHandshakeTimeout":     ErrHandshakeTimeout,
	"ErrCloseTimeout":         ErrCloseTimeout,
	"ErrPongTimeout":          ErrPongTimeout,
	"ErrIdleTimeout":          ErrIdleTimeout,
	"ErrDrainTimeout":         ErrDrainTimeout,
	"ErrInputOverflow":        ErrInputOverflow,
	"ErrServerClosed":         ErrServerClosed,
	"ErrServerListening":      ErrServerListening,
	"ErrHistoryGone":          ErrHistoryGone,
	"ErrNoHistory":            ErrNoHistory,
	"ErrSubscribed":           ErrSubscribed,
}

// Every exported error variable of the package is declared in errors.go, with a doc comment, and
// listed in apiErrors; no two are the same error or share a text, so each failure has one name.
func TestErrorNamesUnique(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, id := range vs.Names {
					if !id.IsExported() || !strings.HasPrefix(id.Name, "Err") {
						continue
					}
					declared = append(declared, id.Name)
					if name != "errors.go" {
						t.Errorf("%s is declared in %s, not errors.go", id.Name, name)
					}
					if vs.Doc == nil {
						t.Errorf("%s has no doc comment", id.Name)
					}
				}
			}
		}
	}
	slices.Sort(declared)
	listed := slices.Sorted(maps.Keys(apiErrors))
	if !slices.Equal(declared, listed) {
		t.Fatalf("declared error variables %q, listed %q", declared, listed)
	}
	texts := map[string]string{}
	for name, e := range apiErrors {
		if other, dup := texts[e.Error()]; dup {
			t.Errorf("%s and %s share the text %q", name, other, e.Error())
		}
		texts[e.Error()] = name
		for other, o := range apiErrors {
			if other != name && errors.Is(e, o) {
				t.Errorf("%s is %s", name, other)
			}
		}
	}
}

// violationEv is the error event recordConn records for a connection failed with the violation pe.
func violationEv(pe *codec.ProtocolError) string { return errEv(eventError(pe)) }
