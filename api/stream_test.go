package api

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// The streams below write 32 MiB in 1 MiB writes through a send queue capped at 1 MiB.
const (
	streamTotal = 32 << 20
	streamWrite = 1 << 20
	streamCap   = 1 << 20
)

// streamData is the message the stream tests send: bytes that differ from one 1 MiB write to
// the next, so that a dropped, repeated or reordered write changes the digest.
var streamData = sync.OnceValue(func() []byte {
	b := pattern(streamTotal)
	for i := range b {
		b[i] ^= byte(i / streamWrite)
	}
	return b
})

// writeResult is what a stream writer saw: each Write's error (nil for those that went), then
// Close's.
type writeResult struct {
	writes []error
	close  error
}

// writeStream writes data to out in streamWrite pieces, stopping after the first error and then
// trying one more Write, and closes out. written counts the bytes Write accepted.
func writeStream(out *OutStream, data []byte, written *atomic.Int64) writeResult {
	var r writeResult
	for at := 0; at < len(data); at += streamWrite {
		n, err := out.Write(data[at : at+streamWrite])
		if err == nil && n != streamWrite {
			err = errors.New("short write without an error")
		}
		r.writes = append(r.writes, err)
		if err != nil {
			_, again := out.Write(data[at : at+streamWrite])
			r.writes = append(r.writes, again)
			break
		}
		written.Add(int64(n))
	}
	r.close = out.Close()
	return r
}

// startStream begins a binary stream on c and writes streamData to it on a goroutine of its own;
// done receives what the writer saw, and written counts the bytes accepted meanwhile.
func startStream(t *testing.T, c *Conn) (written *atomic.Int64, done chan writeResult) {
	t.Helper()
	out, err := c.BeginBinary()
	if err != nil {
		t.Fatal(err)
	}
	written, done = new(atomic.Int64), make(chan writeResult, 1)
	go func() { done <- writeStream(out, streamData(), written) }()
	return written, done
}

// expectAllWent fails unless every Write and the Close succeeded.
func (r writeResult) expectAllWent(t *testing.T) {
	t.Helper()
	for i, err := range r.writes {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if r.close != nil {
		t.Fatalf("Close: %v", r.close)
	}
}

// readMessage reads one streamed binary message on p, slowly (pausing a millisecond at each frame, on
// a small socket buffer), checking that every frame is a fragment of it that fits the queue cap.
// It stops after the final fragment, or after stopAfter payload bytes when stopAfter > 0, and
// returns the payload and whether the final fragment came.
func readMessage(t *testing.T, p *wstest.Peer, stopAfter int) ([]byte, bool) {
	t.Helper()
	var got []byte
	for i := 0; ; i++ {
		f := p.MustFrame()
		want := codec.OpContinuation
		if i == 0 {
			want = codec.OpBinary
		}
		if f.Op != want || len(f.Payload) > streamCap-codec.MaxHeaderLen {
			t.Fatalf("frame %d: %v of %d bytes, want %v of at most %d", i, f.Op, len(f.Payload), want, streamCap-codec.MaxHeaderLen)
		}
		got = append(got, f.Payload...)
		if f.Fin || stopAfter > 0 && len(got) >= stopAfter {
			return got, f.Fin
		}
		time.Sleep(time.Millisecond)
	}
}

// streamServer starts a server whose send queue is capped at streamCap and returns a raw peer
// connected to it, reading on a small socket buffer, and the server's side of the connection.
func streamServer(t *testing.T) (*wstest.Peer, *Conn) {
	t.Helper()
	_, p, c := serverConn(t, &ServerOptions{MaxQueuedBytes: streamCap})
	if err := p.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	return p, c
}

// A stream written faster than the peer reads it waits for room instead of losing writes: all
// 32 MiB arrive, byte for byte, in fragments that each fit the 1 MiB queue cap, and every Write
// and Close succeeds.
func TestStreamWrittenFasterThanRead(t *testing.T) {
	wstest.CheckLeaks(t)
	p, c := streamServer(t)
	_, done := startStream(t, c)
	got, fin := readMessage(t, p, 0)
	r := recv(t, done)
	r.expectAllWent(t)
	if !fin || len(got) != streamTotal || sha256.Sum256(got) != sha256.Sum256(streamData()) {
		t.Fatalf("received %d bytes (final fragment %v), want the %d bytes written, byte-exact", len(got), fin, streamTotal)
	}
	if c.OutStream() != nil {
		t.Fatal("OutStream() still set after Close")
	}
	p.WriteFrame(true, codec.OpClose, nil)
	p.ExpectClose(0)
}

// A stream whose peer closes in the middle is cut visibly: the Write that finds the connection
// closing fails, so do the next Write and Close, with the same error, and the peer receives a
// prefix of what was written, in order, and never a final fragment.
func TestStreamCutWhenPeerCloses(t *testing.T) {
	wstest.CheckLeaks(t)
	p, c := streamServer(t)
	written, done := startStream(t, c)
	got, fin := readMessage(t, p, 4<<20)
	if fin {
		t.Fatal("the whole message arrived before the peer closed")
	}
	p.Write(closeFrame(1000, ""))
	for {
		f := p.MustFrame()
		if f.Op == codec.OpClose {
			break
		}
		if f.Op != codec.OpContinuation || f.Fin {
			t.Fatalf("after %d bytes: %v frame, fin=%v: a cut message must not end", len(got), f.Op, f.Fin)
		}
		got = append(got, f.Payload...)
	}
	p.ExpectEOF()
	if !bytes.Equal(got, streamData()[:len(got)]) {
		t.Fatalf("the %d bytes received are not the start of what was written", len(got))
	}
	r := recv(t, done)
	n := len(r.writes)
	cut := r.writes[n-2]
	for i, err := range r.writes[:n-2] {
		if err != nil {
			t.Fatalf("write %d failed with %v before the cut", i, err)
		}
	}
	if !errors.Is(cut, ErrStreamClosed) || !errors.Is(cut, ErrNotOpen) && !errors.Is(cut, ErrClosed) {
		t.Fatalf("write %d: %v, want ErrStreamClosed for a connection that closed", n-2, cut)
	}
	if r.writes[n-1] != cut || r.close != cut {
		t.Fatalf("after the cut (%v): Write %v, Close %v, want the same error", cut, r.writes[n-1], r.close)
	}
	if w := int(written.Load()); len(got) > w+streamWrite || w == streamTotal {
		t.Fatalf("%d bytes accepted, %d received: the cut must come within the write it stopped and before the end", w, len(got))
	}
}

// Pausing an InStream stops reading from its connection: no chunk arrives while it is paused,
// and the sender is held back (its OutStream writes stop completing, bounded by the buffers on
// the way); after Resume, the whole message arrives in order. Over TLS, whose transport stops
// reading its socket, and over plain TCP, where the poller takes the socket out of gnet's read
// interest.
func TestStreamPauseResume(t *testing.T) {
	t.Run("tcp", func(t *testing.T) { testStreamPauseResume(t, false) })
	t.Run("tls", func(t *testing.T) { testStreamPauseResume(t, true) })
}

func testStreamPauseResume(t *testing.T, secure bool) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	scheme := "wss://"
	if !secure {
		serverCfg, clientCfg, scheme = nil, nil, "ws://"
	}
	var (
		mu       sync.Mutex
		sum      hash.Hash = sha256.New()
		received int
		paused   = make(chan *InStream, 1)
		ended    = make(chan error, 1)
	)
	s, addr := startServer(t, &ServerOptions{TLSConfig: serverCfg, MaxBufferLength: 2 * streamTotal}, nil)
	s.OnBinary(func(c *Conn, in *InStream) {
		in.OnData(func(chunk []byte) {
			mu.Lock()
			before := received
			received += len(chunk)
			sum.Write(chunk)
			mu.Unlock()
			if before < streamWrite && received >= streamWrite {
				in.Pause()
				paused <- in
			}
		})
		in.OnEnd(func(err error) { ended <- err })
	})
	connected := make(chan *Conn, 1)
	_, err := Connect(scheme+addr+"/", &ClientOptions{TLSConfig: clientCfg, MaxQueuedBytes: streamCap}, func(c *Conn) { connected <- c })
	if err != nil {
		t.Fatal(err)
	}
	c := recv(t, connected)
	written, done := startStream(t, c)

	in := recv(t, paused)
	mu.Lock()
	atPause := received
	mu.Unlock()
	// The sender's writes stop completing: wait until they did not move for 300 ms.
	last, still := written.Load(), time.Now()
	for deadline := time.Now().Add(wstest.Timeout); time.Since(still) < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("the sender was not held back: %d bytes accepted with the reader paused at %d", written.Load(), atPause)
		}
		time.Sleep(20 * time.Millisecond)
		if w := written.Load(); w != last {
			last, still = w, time.Now()
		}
	}
	mu.Lock()
	duringPause := received
	mu.Unlock()
	t.Logf("paused at %d bytes received; the sender stopped at %d bytes accepted", atPause, last)
	if duringPause != atPause {
		t.Fatalf("%d bytes arrived while paused", duringPause-atPause)
	}
	if last >= streamTotal || last-int64(atPause) > 16<<20 {
		t.Fatalf("%d bytes accepted with %d received: the pause does not throttle the sender", last, atPause)
	}
	in.Resume()
	if err := recv(t, ended); err != nil {
		t.Fatalf("the message ended with %v", err)
	}
	r := recv(t, done)
	r.expectAllWent(t)
	want := sha256.Sum256(streamData())
	mu.Lock()
	defer mu.Unlock()
	if received != streamTotal || !bytes.Equal(sum.Sum(nil), want[:]) {
		t.Fatalf("received %d bytes, want the %d written, byte-exact", received, streamTotal)
	}
	c.Close(1000, "")
}
