package wstest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
)

// Timeout bounds every wait of a Peer.
const Timeout = 5 * time.Second

// Peer is a raw client-side WebSocket peer over TCP for tests: it sends exactly the bytes it is
// told to and reports exactly the frames it receives.
type Peer struct {
	t    testing.TB
	Conn net.Conn
	rd   *bufio.Reader
	// Response is the server's answer to the upgrade request, when Upgrade was used.
	Response []byte
}

// Frame is a frame received by a Peer.
type Frame struct {
	Fin     bool
	Rsv     uint8
	Op      codec.Opcode
	Payload []byte
}

// DialRaw opens a TCP connection to addr and sends nothing.
func DialRaw(t testing.TB, addr string) *Peer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	p := &Peer{t: t, Conn: nc, rd: bufio.NewReader(nc)}
	t.Cleanup(func() { nc.Close() })
	return p
}

// Dial opens a connection to addr and completes a valid upgrade for target with the extra
// header lines given ("Name: value"); it fails the test unless the answer is a 101.
func Dial(t testing.TB, addr, target string, header ...string) *Peer {
	t.Helper()
	p := DialRaw(t, addr)
	p.Upgrade(target, header...)
	if !bytes.HasPrefix(p.Response, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("upgrade answered %q", p.Response)
	}
	return p
}

// Request returns a valid upgrade request for target with the RFC 6455 example key.
func Request(target string, header ...string) string {
	s := "GET " + target + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, h := range header {
		s += h + "\r\n"
	}
	return s + "\r\n"
}

// Upgrade sends the upgrade request for target and reads the response head into p.Response.
func (p *Peer) Upgrade(target string, header ...string) {
	p.t.Helper()
	p.Write([]byte(Request(target, header...)))
	p.Response = p.ReadHead()
}

// ReadHead reads an HTTP response head, up to and including the empty line.
func (p *Peer) ReadHead() []byte {
	p.t.Helper()
	p.Conn.SetReadDeadline(time.Now().Add(Timeout))
	var head []byte
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		b, err := p.rd.ReadByte()
		if err != nil {
			p.t.Fatalf("reading the response head (so far %q): %v", head, err)
		}
		head = append(head, b)
	}
	return head
}

// Write sends raw bytes.
func (p *Peer) Write(b []byte) {
	p.t.Helper()
	p.Conn.SetWriteDeadline(time.Now().Add(Timeout))
	if _, err := p.Conn.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// Key is the mask key every Peer frame uses, so tests can predict the bytes.
var Key = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// FrameBytes encodes one masked client frame.
func FrameBytes(fin bool, op codec.Opcode, payload []byte) []byte {
	return codec.AppendFrame(nil, fin, op, payload, codec.ClientRole, Key)
}

// ServerFrame encodes one unmasked server frame, as a server puts it on the wire.
func ServerFrame(fin bool, op codec.Opcode, payload []byte) []byte {
	return codec.AppendFrame(nil, fin, op, payload, codec.ServerRole, [4]byte{})
}

// WriteFrame sends one masked frame.
func (p *Peer) WriteFrame(fin bool, op codec.Opcode, payload []byte) {
	p.t.Helper()
	p.Write(FrameBytes(fin, op, payload))
}

// ReadFrame reads one frame from the server, failing on a masked frame or a parse error.
func (p *Peer) ReadFrame() (Frame, error) {
	p.Conn.SetReadDeadline(time.Now().Add(Timeout))
	var head []byte
	for {
		b, err := p.rd.ReadByte()
		if err != nil {
			return Frame{}, err
		}
		head = append(head, b)
		h, n, err := codec.ParseHeader(head, codec.ClientRole, 0)
		if err != nil {
			return Frame{}, err
		}
		if n == 0 {
			continue
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(p.rd, payload); err != nil {
			return Frame{}, err
		}
		return Frame{Fin: h.Fin, Rsv: h.Rsv, Op: h.Opcode, Payload: payload}, nil
	}
}

// MustFrame reads one frame and fails the test on error.
func (p *Peer) MustFrame() Frame {
	p.t.Helper()
	f, err := p.ReadFrame()
	if err != nil {
		p.t.Fatalf("read frame: %v", err)
	}
	return f
}

// ExpectFrame reads one frame and fails unless it has op and payload.
func (p *Peer) ExpectFrame(op codec.Opcode, payload []byte) {
	p.t.Helper()
	f := p.MustFrame()
	if f.Op != op || !f.Fin || !bytes.Equal(f.Payload, payload) {
		p.t.Fatalf("got frame %v fin=%v %q, want %v %q", f.Op, f.Fin, trim(f.Payload), op, trim(payload))
	}
}

// ExpectClose reads frames until a close frame and fails unless it carries code (0: no code).
// Data frames before it are skipped. It returns the close frame's reason.
func (p *Peer) ExpectClose(code codec.CloseCode) string {
	p.t.Helper()
	for {
		f := p.MustFrame()
		if f.Op != codec.OpClose {
			continue
		}
		got := codec.CloseCode(0)
		if len(f.Payload) >= 2 {
			got = codec.CloseCode(f.Payload[0])<<8 | codec.CloseCode(f.Payload[1])
		}
		if got != code {
			p.t.Fatalf("close code %d (payload %q), want %d", got, f.Payload, code)
		}
		if len(f.Payload) > 2 {
			return string(f.Payload[2:])
		}
		return ""
	}
}

// ExpectEOF fails unless the server closes the TCP connection within Timeout, and returns the
// bytes that came before the end (for a caller that must check them; others may skip them).
func (p *Peer) ExpectEOF() []byte {
	p.t.Helper()
	p.Conn.SetReadDeadline(time.Now().Add(Timeout))
	var rest bytes.Buffer
	_, err := io.Copy(&rest, p.rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		p.t.Fatal("the server did not close the connection")
	}
	return rest.Bytes()
}

// ExpectSilence fails if anything arrives within d.
func (p *Peer) ExpectSilence(d time.Duration) {
	p.t.Helper()
	p.Conn.SetReadDeadline(time.Now().Add(d))
	b, err := p.rd.ReadByte()
	if err == nil {
		p.t.Fatalf("unexpected byte %#x", b)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("unexpected end: %v", err)
	}
}

func trim(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}
