package main

import (
	"fmt"
	"testing"
	"unicode/utf8"

	ws "github.com/wsloop/wsloop/api"
)

var formats = []format{
	{text: true, size: textHeaderLen},
	{text: true, size: 64},
	{text: true, size: 1000},
	{text: false, size: binHeaderLen},
	{text: false, size: 64},
	{text: false, size: 16 << 10},
}

func (f format) String() string {
	if f.text {
		return fmt.Sprintf("text/%d", f.size)
	}
	return fmt.Sprintf("binary/%d", f.size)
}

// TestPayloadRoundTrip: a built payload passes its check and says what it was built with; text
// payloads are UTF-8.
func TestPayloadRoundTrip(t *testing.T) {
	for _, f := range formats {
		buf := make([]byte, f.size)
		for _, want := range []header{{0, 0, 0}, {7, 123456789, 987654321}, {^uint32(0), ^uint64(0) >> 1, 1 << 62}} {
			p := f.build(buf, want)
			if len(p) != f.size {
				t.Fatalf("%v: length %d", f, len(p))
			}
			if f.text && !utf8.Valid(p) {
				t.Fatalf("%v: text payload is not UTF-8: %q", f, p)
			}
			got, fl := f.verify(f.messageType(), p)
			if fl != faultNone || got != want {
				t.Fatalf("%v: verify = %+v, %v; want %+v", f, got, fl, want)
			}
		}
	}
	if err := (format{text: true, size: 59}).check(); err == nil {
		t.Fatal("a 59-byte text format passed its check")
	}
	if err := (format{size: 31}).check(); err == nil {
		t.Fatal("a 31-byte binary format passed its check")
	}
}

// TestVerifierCatchesCorruption: changing any one byte of a payload, in any way, truncating or
// extending it, or changing its type, fails the check; so does a payload built for another
// sequence number with the header of this one.
func TestVerifierCatchesCorruption(t *testing.T) {
	for _, f := range formats[:5] {
		buf := make([]byte, f.size)
		h := header{stream: 3, seq: 41, sent: 5000}
		orig := append([]byte(nil), f.build(buf, h)...)
		for i := range orig {
			for _, x := range []byte{0x01, 0x20, 0x80, 0xff} {
				p := append([]byte(nil), orig...)
				p[i] ^= x
				if _, fl := f.verify(f.messageType(), p); fl == faultNone {
					t.Fatalf("%v: byte %d xor %#x not detected", f, i, x)
				}
			}
		}
		if _, fl := f.verify(f.messageType(), orig[:len(orig)-1]); fl == faultNone {
			t.Fatalf("%v: truncation not detected", f)
		}
		if _, fl := f.verify(f.messageType(), append(append([]byte(nil), orig...), 'x')); fl == faultNone {
			t.Fatalf("%v: extension not detected", f)
		}
		other := ws.TextMessage
		if f.text {
			other = ws.BinaryMessage
		}
		if _, fl := f.verify(other, orig); fl != faultType {
			t.Fatalf("%v: wrong type: fault %v", f, fl)
		}
		// Swapped filler: the header and checksum of seq 41, the filler of seq 42.
		next := f.build(make([]byte, f.size), header{stream: 3, seq: 42, sent: 5000})
		p := append([]byte(nil), orig...)
		copy(p[f.headerLen():], next[f.headerLen():])
		if f.size > f.headerLen() {
			if _, fl := f.verify(f.messageType(), p); fl == faultNone {
				t.Fatalf("%v: filler of another message not detected", f)
			}
		}
	}
}

// TestVerifyAllocates: building and checking a payload allocate nothing.
func TestVerifyAllocates(t *testing.T) {
	for _, f := range formats {
		buf := make([]byte, f.size)
		var seq uint64
		if n := testing.AllocsPerRun(1000, func() {
			p := f.build(buf, header{stream: 1, seq: seq, sent: 1})
			if _, fl := f.verify(f.messageType(), p); fl != faultNone {
				panic("verify failed")
			}
			seq++
		}); n != 0 {
			t.Fatalf("%v: %v allocations per message", f, n)
		}
	}
}

// receiver is one connection's receive side as the modes use it, without a network: payloads go
// through the same check and tracker as those of a live connection.
type receiver struct {
	r  *runner
	lc *lconn
	f  format
}

func newReceiver(f format) *receiver {
	r := &runner{format: f}
	return &receiver{r: r, lc: &lconn{r: r, id: 9}, f: f}
}

// deliver builds the message seq of stream 9, lets mangle change it, and receives it.
func (rc *receiver) deliver(seq uint64, sent uint64, mangle func([]byte)) result {
	p := rc.f.build(make([]byte, rc.f.size), header{stream: 9, seq: seq, sent: int64(seq)})
	if mangle != nil {
		mangle(p)
	}
	rc.lc.mu.Lock()
	defer rc.lc.mu.Unlock()
	_, res := rc.lc.receiveLocked(rc.f.messageType(), p, 9, sent)
	return res
}

type counts struct{ corrupted, lost, dup, reordered int64 }

func (rc *receiver) finish(sent uint64) counts {
	rc.lc.opened.Store(true)
	rc.lc.accountOnce(func(*lconn) uint64 { return sent })
	st := &rc.r.st
	return counts{st.corrupted.Load(), st.lost.Load(), st.duplicated.Load(), st.reordered.Load()}
}

// TestVerifierCounts feeds sequences of messages through a connection's receive side, as a
// faulty server would deliver them, and checks what is counted.
func TestVerifierCounts(t *testing.T) {
	flip := func(p []byte) { p[len(p)-1] ^= 1 }
	type step struct {
		seq    uint64
		mangle func([]byte)
	}
	cases := []struct {
		name  string
		sent  uint64
		steps []step
		want  counts
	}{
		{"intact", 5, []step{{0, nil}, {1, nil}, {2, nil}, {3, nil}, {4, nil}}, counts{}},
		{"corrupted", 5, []step{{0, nil}, {1, nil}, {2, flip}, {3, nil}, {4, nil}}, counts{corrupted: 1}},
		{"lost in the middle", 5, []step{{0, nil}, {1, nil}, {3, nil}, {4, nil}}, counts{lost: 1}},
		{"lost at the end", 5, []step{{0, nil}, {1, nil}, {2, nil}}, counts{lost: 2}},
		{"lost at the start", 3, []step{{1, nil}, {2, nil}}, counts{lost: 1}},
		{"duplicated", 4, []step{{0, nil}, {1, nil}, {1, nil}, {2, nil}, {3, nil}}, counts{dup: 1}},
		{"duplicated later", 4, []step{{0, nil}, {1, nil}, {2, nil}, {3, nil}, {0, nil}}, counts{dup: 1}},
		{"reordered", 4, []step{{0, nil}, {2, nil}, {1, nil}, {3, nil}}, counts{reordered: 1}},
		{"reordered far", 100, func() []step {
			s := []step{}
			for i := uint64(0); i < 100; i++ {
				if i != 10 {
					s = append(s, step{i, nil})
				}
			}
			return append(s, step{10, nil})
		}(), counts{reordered: 1}},
		{"duplicated far", 100, func() []step {
			s := []step{}
			for i := uint64(0); i < 100; i++ {
				s = append(s, step{i, nil})
			}
			return append(s, step{10, nil})
		}(), counts{dup: 1}},
		{"never sent", 2, []step{{0, nil}, {1, nil}, {2, nil}}, counts{corrupted: 1}},
		{"all at once", 8, []step{{0, nil}, {2, nil}, {1, nil}, {1, nil}, {3, flip}, {5, nil}, {6, nil}}, counts{corrupted: 1, lost: 2, dup: 1, reordered: 1}},
	}
	for _, f := range []format{{text: true, size: 80}, {text: false, size: 80}} {
		for _, c := range cases {
			rc := newReceiver(f)
			for _, s := range c.steps {
				rc.deliver(s.seq, c.sent, s.mangle)
			}
			if got := rc.finish(c.sent); got != c.want {
				t.Errorf("%v %s: got %+v, want %+v", f, c.name, got, c.want)
			}
		}
	}
}

// TestVerifierOtherStream: a valid payload from another sender (a message delivered to the
// wrong connection) counts as corrupted.
func TestVerifierOtherStream(t *testing.T) {
	rc := newReceiver(format{size: 64})
	p := rc.f.build(make([]byte, 64), header{stream: 8, seq: 0})
	rc.lc.mu.Lock()
	_, res := rc.lc.receiveLocked(ws.BinaryMessage, p, 9, 1)
	rc.lc.mu.Unlock()
	if res != corrupt || rc.r.st.faults[faultStream].Load() != 1 {
		t.Fatalf("result %v, stream faults %d", res, rc.r.st.faults[faultStream].Load())
	}
}

// TestTrackerJoinLate: a subscriber that joins a running broadcast expects what comes first.
func TestTrackerJoinLate(t *testing.T) {
	var tr tracker
	tr.startAt(500)
	for s := uint64(500); s < 510; s++ {
		if tr.observe(s) != inOrder {
			t.Fatalf("seq %d not in order", s)
		}
	}
	if n := tr.lost(512); n != 2 {
		t.Fatalf("lost %d, want 2", n)
	}
}
