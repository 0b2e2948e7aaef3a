package main

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// -deflate and -deflate-takeover: the answer to a browser's offer, and a compressed message
// echoed compressed.
func TestEchoDeflateFlags(t *testing.T) {
	for _, tc := range []struct {
		name              string
		deflate, takeover bool
		answer            string
	}{
		{"off", false, false, ""},
		{"-deflate", true, false, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"-deflate-takeover", false, true, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newEchoServer(0, nil, false, func(o *ws.ServerOptions) { o.Deflate = deflateOptions(tc.deflate, tc.takeover) })
			if err := srv.Listen(0, "127.0.0.1", nil); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close(nil) })
			p := wstest.Dial(t, srv.Addr().String(), "/", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
			_, after, found := strings.Cut(string(p.Response), "Sec-WebSocket-Extensions: ")
			got, _, _ := strings.Cut(after, "\r\n")
			if found != (tc.answer != "") || got != tc.answer {
				t.Fatalf("101 %q, want the answer %q", p.Response, tc.answer)
			}
			if tc.answer == "" {
				return
			}
			msg := bytes.Repeat([]byte(`{"echo":"compressed"}`), 100)
			var z bytes.Buffer
			w, _ := flate.NewWriter(&z, flate.BestSpeed)
			w.Write(msg)
			w.Flush()
			key := [4]byte{1, 2, 3, 4}
			h := codec.Header{Fin: true, Rsv: 4, Opcode: codec.OpText, Masked: true, Mask: key, Length: int64(z.Len() - 4)}
			frame := append(codec.AppendHeader(nil, h), z.Bytes()[:z.Len()-4]...)
			codec.Mask(key, 0, frame[len(frame)-int(h.Length):])
			p.Write(frame)
			// wstest.Peer's frame reader knows no extension: read the compressed frame here. Nothing
			// followed the 101, so the peer's buffered reader holds nothing more.
			p.Conn.SetReadDeadline(time.Now().Add(wstest.Timeout))
			var head []byte
			var fh codec.Header
			for {
				var b [1]byte
				if _, err := io.ReadFull(p.Conn, b[:]); err != nil {
					t.Fatal(err)
				}
				head = append(head, b[0])
				var n int
				var err error
				if fh, n, err = codec.ParseHeaderDeflate(head, codec.ClientRole, 0); err != nil {
					t.Fatal(err)
				} else if n > 0 {
					break
				}
			}
			payload := make([]byte, fh.Length)
			if _, err := io.ReadFull(p.Conn, payload); err != nil {
				t.Fatal(err)
			}
			r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
			echoed, _ := io.ReadAll(r)
			if fh.Rsv != 4 || fh.Opcode != codec.OpText || !bytes.Equal(echoed, msg) {
				t.Fatalf("echo: rsv %d, %s, %d bytes inflating to %d", fh.Rsv, fh.Opcode, len(payload), len(echoed))
			}
		})
	}
}
