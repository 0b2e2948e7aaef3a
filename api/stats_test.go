package api

import (
	"errors"
	"maps"
	"testing"

	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/wstest"
)

// BufferedAmount is what the server holds of the accepted bytes: every byte accepted and not in
// the kernel (the server socket's send queue and the silent client's receive queue), exactly,
// once the loop has looked at the transport after its last write. Stats sums it and counts the
// refusal that ended the filling.
func TestBufferedAmountIsWhatTheKernelHasNotTaken(t *testing.T) {
	wstest.CheckLeaks(t)
	const maxQueued = 256 << 10
	s, p, c := serverConn(t, &ServerOptions{MaxQueuedBytes: maxQueued}) // p reads nothing for now
	// The 101 response counts until the turn that opened the connection has written it.
	waitUntil(t, "BufferedAmount to be 0 before any send", func() bool { return c.BufferedAmount() == 0 })
	// A refused send ends each filling. On a loaded machine the kernel's buffers may grow (they
	// tune themselves) until they have taken everything: then fill again, a few times at most.
	var sent, want, fills int
	for want == 0 && fills < 5 {
		sent += fillUntilFull(t, c)
		fills++
		waitUntil(t, "BufferedAmount to be the accepted bytes the kernel has not taken", func() bool {
			want = sent*fillMsgFrame - wstest.KernelQueued(t, p.Conn)
			return c.BufferedAmount() == want
		})
	}
	if want <= 0 || want > maxQueued {
		t.Fatalf("the server holds %d bytes with a cap of %d", want, maxQueued)
	}
	st := s.Stats()
	if st.Open != 1 || st.BufferedBytes != int64(want) || st.SendsRefused != uint64(fills) {
		t.Fatalf("Stats %+v, want Open 1, BufferedBytes %d, SendsRefused %d", st, want, fills)
	}
	for range sent {
		p.MustFrame()
	}
	waitUntil(t, "BufferedAmount to return to 0 once the peer read everything", func() bool { return c.BufferedAmount() == 0 })
}

// Stats counts pings, the connections closed by the slow-connection policy, and closes by code;
// Open follows the connections.
func TestStatsCountsPingsSlowClosesAndCloseCodes(t *testing.T) {
	wstest.CheckLeaks(t)
	conns := make(chan *Conn, 3)
	s, addr := startServer(t, &ServerOptions{MaxQueuedBytes: 256 << 10, CloseSlowConnections: true}, func(c *Conn) { conns <- c })
	closed := make(chan int, 3)
	s.OnConnClose(func(_ *Conn, code int, _ string) { closed <- code })

	bye, app := wstest.Dial(t, addr, "/"), wstest.Dial(t, addr, "/")
	wstest.Dial(t, addr, "/") // the slow peer: it reads nothing
	byeConn, _, slowConn := recv(t, conns), recv(t, conns), recv(t, conns)
	if st := s.Stats(); st.Open != 3 || len(st.Closes) != 0 {
		t.Fatalf("Stats %+v with three connections open", st)
	}
	for range 3 {
		if err := byeConn.SendPing([]byte("p")); err != nil {
			t.Fatal(err)
		}
		bye.ExpectFrame(codec.OpPing, []byte("p"))
	}
	bye.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 1000, ""))
	bye.ExpectClose(1000)
	app.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, 4001, "app"))
	app.ExpectClose(4001)
	for range 2 {
		recv(t, closed)
	}
	fillUntilFull(t, slowConn)
	if code := recv(t, closed); code != 1006 {
		t.Fatalf("the slow connection closed with %d, want 1006", code)
	}

	st := s.Stats()
	wantCloses := map[int]uint64{1000: 1, 1006: 1}
	if st.Open != 0 || st.PingsSent != 3 || st.SlowClosed != 1 || st.SendsRefused != 1 ||
		!maps.Equal(st.Closes, wantCloses) || st.CloseCodesOther != 1 {
		t.Fatalf("Stats %+v, want Open 0, PingsSent 3, SlowClosed 1, SendsRefused 1, Closes %v, CloseCodesOther 1",
			st, wantCloses)
	}
	if err := slowConn.SendText("late", nil); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("send on the closed connection: %v", err)
	}
	if st := s.Stats(); st.SendsRefused != 1 {
		t.Fatalf("a send to a closed connection counted as refused for a full queue: %+v", st)
	}
}
