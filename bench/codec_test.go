package bench

// Codec-level benchmarks: the frame and handshake pieces without any socket, for every library
// that exposes the piece publicly.
//
//   - wsloop: codec.ParseHeader + codec.Mask (read), codec.AppendFrame (write), codec.Request.Parse
//     + codec.AppendResponse (upgrade), codec.Mask alone (masking), codec.ValidUTF8 (UTF-8).
//   - gobwas/ws: ws.ReadHeaderBuffer + ws.Cipher (read), ws.WriteHeader + the payload (write),
//     ws.Upgrader.Upgrade on an io.ReadWriter (upgrade), ws.Cipher alone (masking),
//     wsutil.UTF8Reader over a reader that hands back the text in place (UTF-8).
//   - nbio: no header parser or frame builder of its own is public; the nearest public pieces are
//     websocket.Conn.Parse (the byte-level entry its poller feeds: it also copies the bytes into
//     its own buffers and delivers the message to OnMessage) and Conn.WriteFrame (builds the
//     frame in a pooled buffer and writes it to the net.Conn). Those rows do more than the others
//     and are marked so.
//   - gorilla/websocket, lxzan/gws, coder/websocket: no public frame parser, masking function or
//     frame writer (everything is behind their Conn types, reachable only after a handshake), so
//     they have no frame rows. Their handshake is in BenchmarkUpgrade (upgrade_test.go).

import (
	"bytes"
	"fmt"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/wsloop/wsloop/codec"
)

// BenchmarkFrameRead: a server reading one masked binary frame: parse the header, unmask the
// payload in place. The input is one whole frame in memory.
func BenchmarkFrameRead(b *testing.B) {
	for _, size := range sizes {
		frame := appendFrame(nil, opBinary, payloadOf(size), true, benchKey)
		run := func(name string, f func(b *testing.B, frame []byte)) {
			b.Run(fmt.Sprintf("size=%s/peer=%s", sizeName(size), name), func(b *testing.B) {
				in := bytes.Clone(frame)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				f(b, in)
			})
		}
		run("wsloop", func(b *testing.B, frame []byte) {
			for b.Loop() {
				h, n, err := codec.ParseHeader(frame, codec.ServerRole, 0)
				if err != nil || n == 0 {
					b.Fatal(err, n)
				}
				codec.Mask(h.Mask, 0, frame[n:n+int(h.Length)])
			}
		})
		run("gobwas", func(b *testing.B, frame []byte) {
			// gobwas parses headers from an io.Reader only; the payload is then taken in place
			// from the same buffer (no copy), as a caller holding the bytes would do.
			r := bytes.NewReader(nil)
			hb := make([]byte, 2, ws.MaxHeaderSize-2)
			for b.Loop() {
				r.Reset(frame)
				h, err := ws.ReadHeaderBuffer(r, hb)
				if err != nil {
					b.Fatal(err)
				}
				off := len(frame) - r.Len()
				ws.Cipher(frame[off:off+int(h.Length)], h.Mask, 0)
			}
		})
		run("nbio", func(b *testing.B, frame []byte) {
			// Conn.Parse: header, unmask, plus copies into nbio's pooled buffers and delivery to
			// OnMessage (more work than the other rows; see the file comment).
			u := nbws.NewUpgrader()
			u.ReleasePayload = true
			got := 0
			u.OnMessage(func(_ *nbws.Conn, _ nbws.MessageType, p []byte) { got = len(p) })
			c := nbws.NewServerConn(u, &memConn{}, "", false, false)
			c.Execute = func(f func()) bool { f(); return true }
			for b.Loop() {
				if err := c.Parse(frame); err != nil {
					b.Fatal(err)
				}
			}
			if got != size {
				b.Fatalf("nbio delivered %d bytes, want %d", got, size)
			}
		})
	}
}

// BenchmarkFrameWrite: a server writing one unmasked binary frame into a reused buffer (header
// and a copy of the payload).
func BenchmarkFrameWrite(b *testing.B) {
	for _, size := range sizes {
		payload := payloadOf(size)
		want := appendFrame(nil, opBinary, payload, false, [4]byte{})
		run := func(name string, f func(b *testing.B) []byte) {
			b.Run(fmt.Sprintf("size=%s/peer=%s", sizeName(size), name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				if got := f(b); !bytes.Equal(got, want) {
					b.Fatalf("%s wrote %d bytes that differ from the expected frame", name, len(got))
				}
			})
		}
		run("wsloop", func(b *testing.B) []byte {
			var dst []byte
			for b.Loop() {
				dst = codec.AppendFrame(dst[:0], true, codec.OpBinary, payload, codec.ServerRole, [4]byte{})
			}
			return dst
		})
		run("gobwas", func(b *testing.B) []byte {
			var w bytes.Buffer
			for b.Loop() {
				w.Reset()
				ws.WriteHeader(&w, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: int64(len(payload))})
				w.Write(payload)
			}
			return w.Bytes()
		})
		run("nbio", func(b *testing.B) []byte {
			// Conn.WriteFrame: builds the frame in a pooled buffer and writes it to the net.Conn
			// (here an in-memory one that keeps the last write).
			mc := &memConn{keepLast: true}
			c := nbws.NewServerConn(nbws.NewUpgrader(), mc, "", false, false)
			for b.Loop() {
				if err := c.WriteFrame(nbws.BinaryMessage, true, true, payload); err != nil {
					b.Fatal(err)
				}
			}
			return mc.last
		})
	}
}

// BenchmarkMask: masking a payload in place, whole (key offset 0), the payload aligned as the
// allocator returns it. Both libraries run one after the other at each size, so that a noisy
// moment on the machine hits both; ratios between rows are meaningful only within one run.
func BenchmarkMask(b *testing.B) {
	impls := []struct {
		name string
		mask func(p []byte)
	}{
		{"wsloop", func(p []byte) { codec.Mask(benchKey, 0, p) }},
		{"gobwas", func(p []byte) { ws.Cipher(p, benchKey, 0) }},
	}
	for _, size := range []int{64, 1 << 10, 16 << 10, 64 << 10} {
		for _, im := range impls {
			b.Run(fmt.Sprintf("%s/%d", im.name, size), func(b *testing.B) {
				p := payloadOf(size)
				want := bytes.Clone(p)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					im.mask(p)
					n++
				}
				if n%2 == 0 && !bytes.Equal(p, want) {
					b.Fatal("masking an even number of times did not restore the payload")
				}
			})
		}
	}
}

// utf8Text returns size bytes of valid UTF-8 text, ending on a character boundary (padded with
// spaces): English ASCII, or text about 30% of whose bytes belong to multibyte characters
// (Cyrillic, CJK, emoji among English words).
func utf8Text(kind string, size int) []byte {
	sample := map[string]string{
		"ascii": "The quick brown fox jumps over the lazy dog, then {\"id\":42,\"op\":\"ping\"}.\n",
		"mixed": "The weather in Moscow today: Погода хорошая, and in Tokyo 晴れ with a 😀 or two, says the report. ",
	}[kind]
	var p []byte
	for len(p) < size {
		p = append(p, sample...)
	}
	p = p[:size]
	for len(p) > 0 && !utf8.Valid(p) {
		p = p[:len(p)-1]
	}
	for len(p) < size {
		p = append(p, ' ')
	}
	return p
}

// inPlace is an io.Reader that reports the buffer it is given as filled, so that gobwas's
// UTF8Reader validates the text without a copy in the way.
type inPlace struct{}

func (inPlace) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkUTF8: validating a whole text message. utf8.Valid is the standard library's, for scale.
func BenchmarkUTF8(b *testing.B) {
	impls := []struct {
		name  string
		valid func(p []byte) bool
	}{
		{"wsloop", codec.ValidUTF8},
		{"gobwas", func(p []byte) bool {
			r := wsutil.UTF8Reader{Source: inPlace{}}
			_, err := r.Read(p)
			return err == nil && r.Valid()
		}},
		{"stdlib", utf8.Valid},
	}
	for _, kind := range []string{"ascii", "mixed"} {
		for _, size := range []int{1 << 10, 16 << 10} {
			text := utf8Text(kind, size)
			for _, im := range impls {
				b.Run(fmt.Sprintf("%s/%s/%d", kind, im.name, size), func(b *testing.B) {
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						if !im.valid(text) {
							b.Fatal("valid text rejected")
						}
					}
				})
			}
		}
	}
}
