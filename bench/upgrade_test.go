package bench

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"

	"github.com/wsloop/wsloop/bench/internal/peerkit"
	"github.com/wsloop/wsloop/codec"
)

// BenchmarkUpgrade: a server's side of the opening handshake for a typical browser request
// (browserRequest), from the request's bytes to the 101 response's bytes, in memory. Each row
// goes through the library's own server entry point:
//
//   - wsloop: codec.Request.Parse (parse and validate in place) + codec.AppendResponse. The
//     api layer above it also keeps the header lines (one string, for Conn.Headers); that part
//     is not in this row (BenchmarkHandshake has the whole server).
//   - gobwas: ws.Upgrader.Upgrade on the raw connection (its zero-copy upgrade).
//   - gorilla, coder: http.ReadRequest (what net/http's server does per request) + their upgrade
//     on a hijackable ResponseWriter; the Conn they return is part of the cost.
//   - gws: http.ReadRequest + Upgrader.UpgradeFromConn, exactly what gws.Server does per
//     connection.
//   - nbio: its own non-blocking HTTP parser (nbhttp.Parser with its server processor) calling a
//     handler that runs Upgrader.Upgrade, as its engine does.
//   - net/http: http.ReadRequest alone, for reference: the parsing part of the gorilla, gws and
//     coder rows.
func BenchmarkUpgrade(b *testing.B) {
	req := []byte(browserRequest)
	check := func(b *testing.B, resp []byte) {
		b.Helper()
		if !bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) || !bytes.Contains(resp, []byte(browserAccept)) {
			b.Fatalf("not a 101 with the right accept key:\n%s", resp)
		}
	}
	run := func(name string, f func(b *testing.B)) {
		b.Run("peer="+name, func(b *testing.B) {
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			f(b)
		})
	}

	run("wsloop", func(b *testing.B) {
		var r codec.Request
		var resp []byte
		for b.Loop() {
			r.Reset()
			n, err := r.Parse(req)
			if err != nil || n != len(req) {
				b.Fatal(n, err)
			}
			resp, err = codec.AppendResponse(resp[:0], r.Key, "", nil)
			if err != nil {
				b.Fatal(err)
			}
		}
		check(b, resp)
	})

	run("gorilla", func(b *testing.B) {
		up := gorilla.Upgrader{}
		mc := &memConn{}
		br := bufio.NewReaderSize(mc, 4096)
		w := &hijacker{h: http.Header{}, conn: mc, brw: bufio.NewReadWriter(br, bufio.NewWriterSize(mc, 4096))}
		for b.Loop() {
			mc.reset(req)
			br.Reset(mc)
			r, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			w.reset(br)
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
		check(b, mc.w.Bytes())
	})

	run("gobwas", func(b *testing.B) {
		var u ws.Upgrader
		mc := &memConn{}
		for b.Loop() {
			mc.reset(req)
			if _, err := u.Upgrade(mc); err != nil {
				b.Fatal(err)
			}
		}
		check(b, mc.w.Bytes())
	})

	run("gws", func(b *testing.B) {
		u := gws.NewUpgrader(&gws.BuiltinEventHandler{}, &gws.ServerOption{Logger: peerkit.QuietLogger{}})
		mc := &memConn{}
		br := bufio.NewReaderSize(mc, 4096)
		for b.Loop() {
			mc.reset(req)
			br.Reset(mc)
			r, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := u.UpgradeFromConn(mc, br, r); err != nil {
				b.Fatal(err)
			}
		}
		check(b, mc.w.Bytes())
	})

	run("nbio", func(b *testing.B) {
		u := nbws.NewUpgrader()
		u.BlockingModHandleRead = false // the in-memory conn has nothing more to read
		var upErr error
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			_, upErr = u.Upgrade(w, r, nil)
		})
		engine := nbhttp.NewEngine(nbhttp.Config{Handler: mux})
		mc := &memConn{}
		inline := func(f func()) bool { f(); return true }
		for b.Loop() {
			mc.reset(req)
			p := nbhttp.NewParser(mc, engine, nbhttp.NewServerProcessor(), false, inline)
			if err := p.Parse(req); err != nil {
				b.Fatal(err)
			}
			if upErr != nil {
				b.Fatal(upErr)
			}
		}
		check(b, mc.w.Bytes())
	})

	run("coder", func(b *testing.B) {
		opts := &coder.AcceptOptions{CompressionMode: coder.CompressionDisabled}
		mc := &memConn{}
		br := bufio.NewReaderSize(mc, 4096)
		w := &hijacker{h: http.Header{}, conn: mc, brw: bufio.NewReadWriter(br, bufio.NewWriterSize(mc, 4096))}
		for b.Loop() {
			mc.reset(req)
			br.Reset(mc)
			r, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			w.reset(br)
			c, err := coder.Accept(w, r, opts)
			if err != nil {
				b.Fatal(err)
			}
			c.CloseNow()
		}
		check(b, mc.w.Bytes())
	})

	run("net-http-ReadRequest", func(b *testing.B) {
		mc := &memConn{}
		br := bufio.NewReaderSize(mc, 4096)
		for b.Loop() {
			mc.reset(req)
			br.Reset(mc)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
}
