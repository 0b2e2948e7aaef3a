package bufpool

import (
	"bytes"
	"errors"
	"testing"
)

func TestAppendRespectsCap(t *testing.T) {
	b := Get()
	defer Put(b)
	if err := Append(b, []byte("hello"), 8); err != nil {
		t.Fatal(err)
	}
	if err := Append(b, []byte("abc"), 8); err != nil {
		t.Fatalf("filling to exactly the cap: %v", err)
	}
	if err := Append(b, []byte("x"), 8); !errors.Is(err, ErrTooBig) {
		t.Fatalf("past the cap: err = %v, want ErrTooBig", err)
	}
	if !bytes.Equal(b.B, []byte("helloabc")) {
		t.Fatalf("buffer changed by a refused append: %q", b.B)
	}
	if err := Append(b, nil, 8); err != nil {
		t.Fatalf("empty append at the cap: %v", err)
	}
}

func TestAppendHugeLengthDoesNotOverflow(t *testing.T) {
	b := Get()
	defer Put(b)
	b.B = append(b.B, 1, 2, 3)
	if err := Append(b, make([]byte, 10), 2); !errors.Is(err, ErrTooBig) {
		t.Fatalf("err = %v, want ErrTooBig when the buffer is already over a smaller cap", err)
	}
}

func TestOutCountsLentBuffers(t *testing.T) {
	before := Out()
	a, b := Get(), Get()
	if got := Out() - before; got != 2 {
		t.Fatalf("out after two gets = %d, want 2", got)
	}
	Put(a)
	Put(nil)
	if got := Out() - before; got != 1 {
		t.Fatalf("out after one put = %d, want 1", got)
	}
	Put(b)
	if got := Out() - before; got != 0 {
		t.Fatalf("out after both puts = %d, want 0", got)
	}
}

func TestGetReturnsEmptyBuffer(t *testing.T) {
	b := Get()
	b.B = append(b.B, "leftover"...)
	Put(b)
	c := Get()
	defer Put(c)
	if len(c.B) != 0 {
		t.Fatalf("Get returned %d stale bytes", len(c.B))
	}
}

func BenchmarkGetAppendPut(b *testing.B) {
	p := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf := Get()
		if err := Append(buf, p, DefaultCap); err != nil {
			b.Fatal(err)
		}
		Put(buf)
	}
}
