package engine

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/wsloop/wsloop/codec"
)

// The peer's side of permessage-deflate in these tests is the standard library's compress/flate,
// an implementation independent of the engine's klauspost/compress.

// peerDeflate compresses p as a peer does (RFC 7692 section 7.2.1), with dict as its context.
func peerDeflate(t *testing.T, p, dict []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriterDict(&b, flate.BestCompression, dict)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Flush()
	z := b.Bytes()
	if !bytes.HasSuffix(z, deflateTail[:]) {
		t.Fatalf("flushed data ends in % x", z[len(z)-4:])
	}
	return z[:len(z)-4]
}

// peerInflate decompresses a message as a peer does (RFC 7692 section 7.2.2).
func peerInflate(t *testing.T, z, dict []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(z), bytes.NewReader(deflateTail[:])), dict)
	p, err := io.ReadAll(r)
	if err != io.ErrUnexpectedEOF && err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return p
}

// rsvFrame is a masked client frame with RSV bits rsv (4 is RSV1).
func rsvFrame(fin bool, rsv uint8, op codec.Opcode, payload []byte) []byte {
	h := codec.Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: true, Mask: [4]byte{9, 8, 7, 6}, Length: int64(len(payload))}
	b := codec.AppendHeader(nil, h)
	n := len(b)
	b = append(b, payload...)
	codec.Mask(h.Mask, 0, b[n:])
	return b
}

// rsvWireFrame is a frame as the peer reads it, RSV bits included.
type rsvWireFrame struct {
	rsv     uint8
	op      codec.Opcode
	payload []byte
}

// readFrames parses what the peer of c read.
func readFrames(t *testing.T, c *conn) []rsvWireFrame {
	t.Helper()
	reader := codec.ClientRole
	if c.cfg.Role == codec.ClientRole {
		reader = codec.ServerRole
	}
	c.m.RunWakes()
	var out []rsvWireFrame
	for b := c.m.Read(); len(b) > 0; {
		h, n, err := codec.ParseHeaderDeflate(b, reader, 1<<30)
		if err != nil || n == 0 || int64(len(b)-n) < h.Length {
			t.Fatalf("bad frame in output (%v)", err)
		}
		p := append([]byte(nil), b[n:n+int(h.Length)]...)
		if h.Masked {
			codec.Mask(h.Mask, 0, p)
		}
		out = append(out, rsvWireFrame{h.Rsv, h.Opcode, p})
		b = b[n+int(h.Length):]
	}
	return out
}

// openDeflateServer opens a server with cfg to a client that offered offer; it returns the 101.
func openDeflateServer(t *testing.T, cfg Config, offer string) (*conn, string) {
	t.Helper()
	cfg.Role = codec.ServerRole
	c := newConn(t, cfg)
	c.m.Feed([]byte(strings.Replace(upgrade, "\r\n\r\n", "\r\nSec-WebSocket-Extensions: "+offer+"\r\n\r\n", 1)))
	out := string(c.m.Read())
	if !strings.HasPrefix(out, "HTTP/1.1 101 ") {
		t.Fatalf("answer to the upgrade: %q", out)
	}
	c.ev.expect(t, "open")
	return c, out
}

// closeCode returns the code of the last frame the peer read, which must be a close, and checks
// that the connection closed.
func closeCode(t *testing.T, c *conn) codec.CloseCode {
	t.Helper()
	got := readFrames(t, c)
	if len(got) == 0 || got[len(got)-1].op != codec.OpClose || !c.m.Closed() {
		t.Fatalf("peer read %v (closed %v), want a close", got, c.m.Closed())
	}
	code, _, _ := codec.ParseClosePayload(got[len(got)-1].payload)
	return code
}

var deflateOn = &DeflateConfig{Threshold: 16}

// text is a compressible text of n bytes.
func text(n int) []byte {
	return bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog; "), n/45+1)[:n]
}

func TestDeflateServerNegotiates(t *testing.T) {
	_, resp := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate; client_max_window_bits")
	if !strings.Contains(resp, "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n") {
		t.Fatalf("101 %q", resp)
	}
	c, resp := openDeflateServer(t, Config{}, "permessage-deflate")
	if strings.Contains(resp, "Sec-WebSocket-Extensions") || c.rd.pmd != 0 {
		t.Fatalf("deflate off, yet the 101 is %q", resp)
	}
}

// Compressed text and binary arrive whole, in one frame or in fragments; what goes out at or above
// the threshold is compressed, what is below it is not.
func TestDeflateServerMessages(t *testing.T) {
	c, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
	msg := text(1000)
	z := peerDeflate(t, msg, nil)
	c.m.Feed(rsvFrame(true, 4, codec.OpText, z))
	c.m.Feed(rsvFrame(true, 4, codec.OpBinary, peerDeflate(t, []byte("binary binary binary"), nil)))
	c.m.Feed(append(append(rsvFrame(false, 4, codec.OpText, z[:10]), rsvFrame(false, 0, codec.OpContinuation, z[10:20])...),
		rsvFrame(true, 0, codec.OpContinuation, z[20:])...))
	c.m.Feed(rsvFrame(true, 0, codec.OpText, []byte("plain")))
	c.ev.expect(t, `text "the quick brown ...(1000)"`, `binary "binary binary bi...(20)"`, `text "the quick brown ...(1000)"`, `text "plain"`)

	for _, p := range [][]byte{msg, []byte("short"), text(16)} {
		if err := c.WriteTextBytes(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.WriteBinary(msg, nil)
	got := readFrames(t, c)
	if len(got) != 4 || got[0].rsv != 4 || got[1].rsv != 0 || got[2].rsv != 4 || got[3].rsv != 4 || got[3].op != codec.OpBinary {
		t.Fatalf("frames %v: want compressed, plain (under the threshold), compressed, compressed binary", got)
	}
	if len(got[0].payload) >= len(msg)/4 {
		t.Errorf("1000 bytes of text compressed to %d", len(got[0].payload))
	}
	for i, want := range [][]byte{msg, nil, text(16), msg} {
		if want != nil && !bytes.Equal(peerInflate(t, got[i].payload, nil), want) {
			t.Errorf("frame %d does not inflate to what was sent", i)
		}
	}
	if string(got[1].payload) != "short" {
		t.Errorf("plain frame %q", got[1].payload)
	}
}

// An echo from the handler of a compressed message is compressed, and a small one still lends.
func TestDeflateEcho(t *testing.T) {
	c, _ := openDeflateServer(t, Config{Deflate: &DeflateConfig{Threshold: 100}}, "permessage-deflate")
	c.ev.message = func(op codec.Opcode, p []byte) { c.WriteTextBytes(p, nil) }
	c.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, text(500), nil)))
	c.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, text(50), nil)))
	c.ev.expect(t, `text "the quick brown ...(500)"`, `text "the quick brown ...(50)"`)
	got := readFrames(t, c)
	if len(got) != 2 || got[0].rsv != 4 || !bytes.Equal(peerInflate(t, got[0].payload, nil), text(500)) ||
		got[1].rsv != 0 || !bytes.Equal(got[1].payload, text(50)) {
		t.Fatalf("echoes %v", got)
	}
}

// RSV1 is a protocol error on a continuation frame, on a control frame, and without deflate.
func TestDeflateRSV1Violations(t *testing.T) {
	z := peerDeflate(t, text(100), nil)
	for _, tc := range []struct {
		name string
		cfg  Config
		in   []byte
	}{
		{"continuation", Config{Deflate: deflateOn}, append(rsvFrame(false, 4, codec.OpText, z[:5]), rsvFrame(true, 4, codec.OpContinuation, z[5:])...)},
		{"ping", Config{Deflate: deflateOn}, rsvFrame(true, 4, codec.OpPing, nil)},
		{"RSV2", Config{Deflate: deflateOn}, rsvFrame(true, 2, codec.OpText, []byte("x"))},
		{"not negotiated", Config{}, rsvFrame(true, 4, codec.OpText, z)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := openDeflateServer(t, tc.cfg, "permessage-deflate")
			c.m.Feed(tc.in)
			if code := closeCode(t, c); code != codec.CloseProtocolError {
				t.Fatalf("closed with %d, want 1002", code)
			}
		})
	}
}

// Corrupt data closes with 1007, as does compressed text that inflates to invalid UTF-8.
func TestDeflateCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"reserved block type", rsvFrame(true, 4, codec.OpBinary, []byte{0x07, 0x01, 0x02})},
		{"stored block length mismatch", rsvFrame(true, 4, codec.OpBinary, []byte{0x00, 0x05, 0x00, 0x00, 0x00})},
		{"invalid UTF-8", rsvFrame(true, 4, codec.OpText, peerDeflate(t, []byte("ok \xff\xfe not text at all"), nil))},
		{"in fragments", append(rsvFrame(false, 4, codec.OpBinary, []byte{0x07}), rsvFrame(true, 0, codec.OpContinuation, []byte{1, 2})...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
			c.m.Feed(tc.in)
			if code := closeCode(t, c); code != codec.CloseInvalidPayload {
				t.Fatalf("closed with %d, want 1007", code)
			}
		})
	}
}

// A decompression bomb, 100 MiB of zeros in about 100 KiB, closes with 1009 once it inflates past
// MaxMessage (1 MiB), having allocated about that much and not the 100 MiB.
func TestDeflateBomb(t *testing.T) {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 100 {
		w.Write(zeros)
	}
	w.Flush()
	z := b.Bytes()[:b.Len()-4]
	for _, fragmented := range []bool{false, true} {
		c, _ := openDeflateServer(t, Config{Deflate: deflateOn, MaxMessage: 1 << 20}, "permessage-deflate")
		in := rsvFrame(true, 4, codec.OpBinary, z)
		if fragmented {
			in = append(rsvFrame(false, 4, codec.OpBinary, z[:1000]), rsvFrame(true, 0, codec.OpContinuation, z[1000:])...)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c.m.Feed(in)
		runtime.ReadMemStats(&after)
		if code := closeCode(t, c); code != codec.CloseMessageTooBig {
			t.Fatalf("bomb (%d bytes compressed, fragmented %v) closed with %d, want 1009", len(z), fragmented, code)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
			t.Fatalf("inflating the bomb allocated %d bytes, MaxMessage is 1 MiB", grew)
		}
	}
}

// A message that inflates to exactly MaxMessage is delivered; one byte more is 1009.
func TestDeflateMaxMessageBoundary(t *testing.T) {
	for _, n := range []int{1000, 1001} {
		c, _ := openDeflateServer(t, Config{Deflate: deflateOn, MaxMessage: 1000}, "permessage-deflate")
		c.m.Feed(rsvFrame(true, 4, codec.OpBinary, peerDeflate(t, text(n), nil)))
		if n == 1000 {
			c.ev.expect(t, `binary "the quick brown ...(1000)"`)
		} else if code := closeCode(t, c); code != codec.CloseMessageTooBig {
			t.Fatalf("%d bytes for a cap of 1000: close %d", n, code)
		}
	}
}

// With context takeover, both directions keep their window: the second of two equal messages
// compresses smaller than the first, and the peer's messages compressed against its history
// inflate.
func TestDeflateContextTakeover(t *testing.T) {
	cfg := Config{Deflate: &DeflateConfig{DeflateConfig: codec.DeflateConfig{ContextTakeover: true}, Threshold: 16}}
	c, resp := openDeflateServer(t, cfg, "permessage-deflate; client_max_window_bits")
	if !strings.Contains(resp, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\r\n") {
		t.Fatalf("101 %q", resp)
	}
	msg := []byte(`{"user":"ada","text":"hello, this is a chat message","room":"general","at":1700000000}`)
	c.WriteTextBytes(msg, nil)
	c.WriteTextBytes(msg, nil)
	got := readFrames(t, c)
	if len(got) != 2 || len(got[1].payload) >= len(got[0].payload)/2 {
		t.Fatalf("two equal messages compressed to %d and %d bytes", len(got[0].payload), len(got[1].payload))
	}
	if !bytes.Equal(peerInflate(t, got[0].payload, nil), msg) || !bytes.Equal(peerInflate(t, got[1].payload, msg), msg) {
		t.Fatal("the second message does not inflate with the first as its context")
	}

	c.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, msg, nil)))
	c.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, msg, msg)))
	c.ev.expect(t, `text "{\"user\":\"ada\",\"t...(86)"`, `text "{\"user\":\"ada\",\"t...(86)"`)
	if w := c.opt.win; len(w.in) != 2*len(msg) || len(w.out) != 2*len(msg) || cap(w.in) != 4096 || cap(w.out) != 4096 {
		t.Fatalf("windows %d/%d and %d/%d bytes, want %d of 4096", len(w.in), cap(w.in), len(w.out), cap(w.out), 2*len(msg))
	}

	// Without takeover the second message is no smaller, and the connection keeps no window.
	d, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate; client_max_window_bits")
	d.WriteTextBytes(msg, nil)
	d.WriteTextBytes(msg, nil)
	if got := readFrames(t, d); len(got[1].payload) != len(got[0].payload) || d.opt != nil {
		t.Fatalf("without takeover: %d then %d bytes, optional state %v", len(got[0].payload), len(got[1].payload), d.opt)
	}
}

// The window the client asks for bounds the server's: random bytes repeated at a distance of 1 KiB
// compress to about half with a 32 KiB window and do not compress with a 512-byte one.
func TestDeflateWindowBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	half := make([]byte, 1024)
	for i := range half {
		half[i] = byte(r.Uint32())
	}
	msg := append(append([]byte(nil), half...), half...)
	for _, tc := range []struct {
		offer    string
		min, max int
	}{
		{"permessage-deflate", 1024, 1200},
		{"permessage-deflate; server_max_window_bits=9", 2000, 2200},
	} {
		c, _ := openDeflateServer(t, Config{Deflate: deflateOn}, tc.offer)
		c.WriteBinary(msg, nil)
		got := readFrames(t, c)
		if n := len(got[0].payload); n < tc.min || n > tc.max {
			t.Errorf("%s: 2 KiB compressed to %d bytes, want %d..%d", tc.offer, n, tc.min, tc.max)
		}
		if !bytes.Equal(peerInflate(t, got[0].payload, nil), msg) {
			t.Errorf("%s: does not inflate", tc.offer)
		}
	}
}

// A prepared frame is compressed once for every connection that resets its context, and per
// connection for one with takeover.
func TestDeflateShared(t *testing.T) {
	s := NewShared(codec.OpText, text(1000))
	defer s.Release()
	a, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
	b, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
	plain := openServer(t, Config{})
	for _, c := range []*conn{a, b, plain} {
		if err := c.WriteShared(s, nil); err != nil {
			t.Fatal(err)
		}
	}
	z := s.z.Load()
	fa, fb, fp := readFrames(t, a), readFrames(t, b), readFrames(t, plain)
	if z == nil || fa[0].rsv != 4 || !bytes.Equal(fa[0].payload, fb[0].payload) || !bytes.Equal(peerInflate(t, fa[0].payload, nil), text(1000)) {
		t.Fatalf("compressed variant %v, frames %v %v", z, fa, fb)
	}
	if fp[0].rsv != 0 || !bytes.Equal(fp[0].payload, text(1000)) {
		t.Fatalf("plain connection read %v", fp)
	}
	tk, _ := openDeflateServer(t, Config{Deflate: &DeflateConfig{DeflateConfig: codec.DeflateConfig{ContextTakeover: true}, Threshold: 16}}, "permessage-deflate")
	tk.WriteShared(s, nil)
	tk.WriteShared(s, nil)
	ft := readFrames(t, tk)
	if len(ft) != 2 || ft[0].rsv != 4 || len(ft[1].payload) >= len(ft[0].payload)/2 || s.z.Load() != z {
		t.Fatalf("takeover connection: frames of %d and %d bytes", len(ft[0].payload), len(ft[1].payload))
	}
}

// The client offers deflate, accepts an answer within its offer, and then compresses (masked) and
// inflates; an answer its offer did not allow fails the handshake.
func TestDeflateClient(t *testing.T) {
	answer := func(t *testing.T, cfg Config, ext string) (*conn, string) {
		cfg.Role = codec.ClientRole
		c := newConn(t, cfg)
		req := string(c.m.Read())
		_, after, _ := strings.Cut(req, "Sec-WebSocket-Key: ")
		key, _, _ := strings.Cut(after, "\r\n")
		c.m.Feed([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + string(codec.AppendAccept(nil, []byte(key))) + "\r\nSec-WebSocket-Extensions: " + ext + "\r\n\r\n"))
		return c, req
	}
	c, req := answer(t, Config{Deflate: deflateOn}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	if !strings.Contains(req, "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits\r\n") {
		t.Fatalf("request %q", req)
	}
	c.ev.expect(t, "upgraded", "open")
	c.WriteTextBytes(text(500), nil)
	got := readFrames(t, c)
	if len(got) != 1 || got[0].rsv != 4 || !bytes.Equal(peerInflate(t, got[0].payload, nil), text(500)) {
		t.Fatalf("client sent %v", got)
	}
	z := peerDeflate(t, text(300), nil)
	h := codec.AppendHeader(nil, codec.Header{Fin: true, Rsv: 4, Opcode: codec.OpText, Length: int64(len(z))})
	c.m.Feed(append(h, z...))
	c.ev.expect(t, `text "the quick brown ...(300)"`)

	takeover := Config{Deflate: &DeflateConfig{DeflateConfig: codec.DeflateConfig{ContextTakeover: true}}}
	for _, bad := range []string{
		"permessage-deflate; server_max_window_bits=12; client_max_window_bits", // no value
		"permessage-deflate; server_max_window_bits=13",                         // larger than offered
		"permessage-deflate", // server window not bounded
		"permessage-deflate; server_max_window_bits=12; x=1", // unknown parameter
	} {
		c, _ := answer(t, takeover, bad)
		if !c.m.Closed() || len(c.ev.events) != 2 || !strings.Contains(c.ev.events[0], "permessage-deflate") {
			t.Fatalf("answer %q: events %q, closed %v", bad, c.ev.events, c.m.Closed())
		}
	}
}

// A compressed binary message goes to a streaming layer as one chunk, once inflated.
func TestDeflateStreamedBinary(t *testing.T) {
	c, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
	c.ev.stream = true
	z := peerDeflate(t, text(3000), nil)
	c.m.Feed(append(rsvFrame(false, 4, codec.OpBinary, z[:7]), rsvFrame(true, 0, codec.OpContinuation, z[7:])...))
	c.m.Feed(rsvFrame(true, 4, codec.OpBinary, z))
	c.ev.expect(t, "stream start", "chunk 3000", "stream end <nil>", "stream start", "chunk 3000", "stream end <nil>")
}

// What a connection keeps for permessage-deflate: nothing in the default mode; with context
// takeover at 12 bits, the two 4 KiB windows and their holders, within 9 KiB of a plain one.
func TestDeflateMemoryPerConnection(t *testing.T) {
	d, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate; client_max_window_bits")
	d.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, text(5000), nil)))
	d.WriteTextBytes(text(5000), nil)
	if d.opt != nil || d.rare != nil {
		t.Fatalf("default mode: optional state %v, rare state %v at rest", d.opt, d.rare)
	}
	cfg := Config{Deflate: &DeflateConfig{DeflateConfig: codec.DeflateConfig{ContextTakeover: true}, Threshold: 16}}
	c, _ := openDeflateServer(t, cfg, "permessage-deflate; client_max_window_bits")
	c.m.Feed(rsvFrame(true, 4, codec.OpText, peerDeflate(t, text(5000), nil)))
	c.WriteTextBytes(text(5000), nil)
	readFrames(t, c)
	w := c.opt.win
	kept := int(unsafe.Sizeof(optional{})+unsafe.Sizeof(deflateWindows{})) + cap(w.in) + cap(w.out)
	if cap(w.in) != 4096 || cap(w.out) != 4096 || kept > 9<<10 {
		t.Fatalf("takeover keeps %d bytes (windows %d and %d), want two 4 KiB windows within 9 KiB", kept, cap(w.in), cap(w.out))
	}
	t.Logf("context takeover at 12 bits keeps %d bytes per connection", kept)
}

// An empty compressed message (one 0x00 byte once the tail is removed) is an empty message.
func TestDeflateEmptyMessage(t *testing.T) {
	c, _ := openDeflateServer(t, Config{Deflate: deflateOn}, "permessage-deflate")
	z := peerDeflate(t, nil, nil)
	c.m.Feed(rsvFrame(true, 4, codec.OpText, z))
	c.m.Feed(rsvFrame(true, 4, codec.OpBinary, nil)) // no data at all: the tail alone is an empty block
	c.ev.expect(t, `text ""`, `binary ""`)
	if !bytes.Equal(z, []byte{0}) {
		t.Errorf("an empty message compresses to % x, want 00", z)
	}
}
