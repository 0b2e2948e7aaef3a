package bench

// The WebSocket wire pieces the benchmarks themselves need: building a masked client frame,
// reading frames, the upgrade request. They are written here, independently of wsloop and of
// every peer, so that no library under test also builds the input it is measured on.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// sizes are the payload sizes of the codec-level benchmarks.
var sizes = []int{64, 1 << 10, 16 << 10}

func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// payloadOf returns n bytes of a fixed, non-trivial pattern.
func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// jsonPayloadOf returns a JSON push payload of at least n bytes, as a market-data or notification
// service sends: an array of records with the same keys and varying numbers.
func jsonPayloadOf(n int) []byte {
	p := []byte(`{"channel":"quotes","events":[`)
	for i := 0; len(p) < n-2; i++ {
		if i > 0 {
			p = append(p, ',')
		}
		p = fmt.Appendf(p, `{"id":%d,"symbol":"SYM%03d","bid":%d.%02d,"ask":%d.%02d,"volume":%d,"ts":%d}`,
			i, i%97, 100+i%50, i*7%100, 100+i%50, (i*7+3)%100, 1000+i*37%5000, 1764600000000+int64(i)*250)
	}
	return append(p, "]}"...)
}

// appendFrame appends one frame with FIN set, minimal length encoding, masked with key when masked.
func appendFrame(dst []byte, op byte, payload []byte, masked bool, key [4]byte) []byte {
	b0 := 0x80 | op
	var b1 byte
	if masked {
		b1 = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if !masked {
		return append(dst, payload...)
	}
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= key[i&3]
	}
	return dst
}

// benchKey is the masking key of the benchmarks' client frames.
var benchKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// browserRequest is an upgrade request as a current Chromium sends it (header set and order),
// with Origin on the same host so that no peer's default origin check refuses it.
const browserRequest = "GET /chat?room=1 HTTP/1.1\r\n" +
	"Host: example.com:8000\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: http://example.com:8000\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: session=5c4a1f0e8b2d4e6f9a3b7c1d2e4f6a8b; theme=dark\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// browserAccept is the Sec-WebSocket-Accept of browserRequest's key (RFC 6455 section 1.3).
const browserAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

// clientRequest is the upgrade request of the end-to-end client: the browser's headers minus
// Origin, cookies and the compression offer, so that every server runs uncompressed.
func clientRequest(host, key, extensions string) []byte {
	if extensions != "" {
		extensions = "Sec-WebSocket-Extensions: " + extensions + "\r\n"
	}
	return []byte("GET / HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		extensions +
		"Connection: Upgrade\r\n" +
		"Upgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"User-Agent: wsloop-bench\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"\r\n")
}

func acceptOf(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// readResponseHead reads an HTTP response head from br and checks it is the 101 answering key.
func readResponseHead(br *bufio.Reader, key string) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("reading the status line: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		return fmt.Errorf("handshake refused: %q", bytes.TrimSpace(line))
	}
	want := acceptOf(key)
	accepted := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("reading the response head: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Accept")) &&
			string(bytes.TrimSpace(value)) == want {
			accepted = true
		}
	}
	if !accepted {
		return errors.New("handshake: missing or wrong Sec-WebSocket-Accept")
	}
	return nil
}

// frameReader reads whole messages from a server: unmasked frames, fragmented or not. Control
// frames between fragments are skipped (no server under test sends any unasked).
type frameReader struct {
	br         *bufio.Reader
	msg        []byte
	hdr        [8]byte
	compressed bool // the last message's first frame had RSV1 (permessage-deflate)
}

// next returns the next message's opcode and payload, valid until the next call.
func (r *frameReader) next() (op byte, payload []byte, err error) {
	r.msg = r.msg[:0]
	op = 0xff
	for {
		b0, err := r.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		b1, err := r.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		if b1&0x80 != 0 {
			return 0, nil, errors.New("server sent a masked frame")
		}
		n := uint64(b1 & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(r.br, r.hdr[:2]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(r.hdr[:2]))
		case 127:
			if _, err := io.ReadFull(r.br, r.hdr[:8]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(r.hdr[:8])
		}
		if n > 64<<20 {
			return 0, nil, fmt.Errorf("frame of %d bytes", n)
		}
		fop := b0 & 0x0f
		if fop >= opClose {
			if _, err := r.br.Discard(int(n)); err != nil {
				return 0, nil, err
			}
			if fop == opClose {
				return 0, nil, errors.New("server closed the connection")
			}
			continue
		}
		if fop != opContinuation {
			op = fop
			r.compressed = b0&0x40 != 0
		}
		start := len(r.msg)
		r.msg = slices.Grow(r.msg, int(n))[:start+int(n)]
		if _, err := io.ReadFull(r.br, r.msg[start:]); err != nil {
			return 0, nil, err
		}
		if b0&0x80 != 0 {
			return op, r.msg, nil
		}
	}
}
