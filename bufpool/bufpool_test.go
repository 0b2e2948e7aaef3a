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

func TestClassesBySize(t *testing.T) {
	for _, c := range []struct{ cap, class int }{
		{0, 0}, {511, 0}, {512, 0}, {1023, 0}, {1024, 1}, {2047, 1}, {16 << 10, 5},
		{64<<10 - 1, 6}, {64 << 10, 7}, {128<<10 - 1, 7}, {128 << 10, classes}, {DefaultCap, classes},
	} {
		if got := min(classOf(c.cap), classes); got != c.class {
			t.Errorf("classOf(%d) = %d, want %d", c.cap, got, c.class)
		}
	}
}

// emptyClasses takes every pooled buffer out behind the classes' bits, as the collector does.
func emptyClasses() {
	for i := range pools {
		for pools[i].Get() != nil {
		}
	}
}

func TestPutKeepsEverySizeUpToTheLargestClass(t *testing.T) {
	for _, c := range []struct{ cap, class int }{{512, 0}, {1 << 10, 1}, {16 << 10, 5}, {128<<10 - 1, 7}} {
		out := Out()
		kept := false
		// Under the race detector sync.Pool drops a quarter of the Puts at random: try a few times.
		for range 20 {
			emptyClasses()
			nonEmpty.Store(0)
			Get() // the lent buffer whose place this one takes in Out
			b := &Buffer{B: make([]byte, 10, c.cap)}
			Put(b)
			if nonEmpty.Load() != 1<<c.class {
				t.Fatalf("cap %d: classes marked %b, want only class %d", c.cap, nonEmpty.Load(), c.class)
			}
			got := Get()
			Put(got)
			if kept = got == b; kept {
				break
			}
		}
		if !kept {
			t.Errorf("cap %d: Get never lent the buffer put into class %d", c.cap, c.class)
		}
		if Out() != out {
			t.Errorf("cap %d: out = %d, want %d", c.cap, Out(), out)
		}
	}
}

func TestPutDropsBuffersAboveTheLargestClass(t *testing.T) {
	emptyClasses()
	out := Out()
	Get() // the lent buffer whose place this one takes in Out
	huge := &Buffer{B: make([]byte, 0, 128<<10)}
	Put(huge)
	if Out() != out {
		t.Errorf("out = %d, want %d: a dropped buffer is given back all the same", Out(), out)
	}
	got := Get()
	defer Put(got)
	if got == huge || cap(got.B) != 512 {
		t.Fatalf("Get after a Put of 128 KiB into empty classes lent cap %d, want a new one of 512", cap(got.B))
	}
}

func TestGetLendsTheSmallestPooledBuffer(t *testing.T) {
	emptyClasses()
	big, small := &Buffer{B: make([]byte, 0, 16<<10)}, &Buffer{B: make([]byte, 0, 1<<10)}
	Get() // the lent buffers whose places these take in Out
	Get()
	Put(big)
	Put(small)
	got := Get()
	defer Put(got)
	// Under the race detector sync.Pool drops some Puts at random: small may not be there.
	if got != small && pools[classOf(cap(small.B))].Get() == small {
		t.Fatalf("Get lent a buffer of cap %d while one of %d was pooled", cap(got.B), cap(small.B))
	}
}

func TestGetClearsTheBitsOfEmptiedClasses(t *testing.T) {
	emptyClasses()
	nonEmpty.Store(1<<classes - 1)
	b := Get()
	defer Put(b)
	if len(b.B) != 0 || cap(b.B) != 512 {
		t.Fatalf("Get with every class empty: len %d cap %d, want a new empty buffer of 512", len(b.B), cap(b.B))
	}
	if got := nonEmpty.Load(); got != 0 {
		t.Fatalf("classes marked %b after a Get found them all empty, want none", got)
	}
}
