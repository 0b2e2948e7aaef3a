package wstest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wsloop/wsloop/codec"
)

// rsv1Frame encodes a text frame with RSV1 set, masked with Key when masked.
func rsv1Frame(masked bool, payload string) []byte {
	h := codec.Header{Fin: true, Rsv: 4, Opcode: codec.OpText, Masked: masked, Mask: Key, Length: int64(len(payload))}
	return append(codec.AppendHeader(nil, h), payload...)
}

// wireServer answers, on ln, an upgrade request with a 101 naming permessage-deflate and two
// frames (plain, then RSV1), and any other request with a 200 whose body is no frame at all.
func wireServer(t *testing.T, ln net.Listener) {
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				if req.Header.Get("Upgrade") != "websocket" {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n\xff\xff")
					return
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
				c.Write(append(ServerFrame(true, codec.OpText, []byte("plain")), rsv1Frame(false, "squeezed")...))
				io.Copy(io.Discard, c) // the client's frames, until it closes
			})
		}
	})
}

// TestWireWatch: through the relay, plain and over TLS, a plain HTTP exchange is not parsed (its
// body would not parse as a frame), and on an upgraded connection the 101's extensions and the
// frames each way are counted, RSV1 apart, control frames not among the data frames.
func TestWireWatch(t *testing.T) {
	serverCfg, clientCfg := TLSConfigs(t)
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"plain", false}, {"tls", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var ln net.Listener
			var err error
			if tc.tls {
				ln, err = tls.Listen("tcp", "127.0.0.1:0", serverCfg)
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				t.Fatal(err)
			}
			wireServer(t, ln)
			var w *WireWatch
			dial := func() net.Conn {
				c, err := net.Dial("tcp", w.Addr)
				if tc.tls {
					c, err = tls.Dial("tcp", w.Addr, clientCfg)
				}
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if tc.tls {
				w = NewTLSWireWatch(t, ln.Addr().String(), serverCfg, clientCfg)
			} else {
				w = NewWireWatch(t, ln.Addr().String())
			}

			page := dial()
			io.WriteString(page, "GET / HTTP/1.1\r\nHost: x\r\n\r\n\xff\xff")
			if b, _ := io.ReadAll(page); !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(b), "\r\n\r\n\xff\xff") {
				t.Fatalf("plain request answered %q", b)
			}
			page.Close()

			c := dial()
			defer c.Close()
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			c.Write(FrameBytes(true, codec.OpText, []byte("plain")))
			c.Write(FrameBytes(true, codec.OpPing, nil))
			c.Write(rsv1Frame(true, "squeezed"))
			w.Expect(t, "permessage-deflate", 1)
			if rsv1, all := w.Counts(); rsv1 != [2]int{1, 1} || all != [2]int{2, 2} {
				t.Fatalf("frames with RSV1 %v of data frames %v, want [1 1] of [2 2]", rsv1, all)
			}
		})
	}
}
