package main

// tracker follows the sequence numbers received from one sender (stream) on one connection. Over
// TCP a correct server delivers them in order, each once; the tracker tells what a wrong one did:
// a number below the highest seen that was already received is a duplicate, one that was not is
// late (reordered), and numbers skipped and never received are lost.
type tracker struct {
	next    uint64 // highest number received + 1; numbers from next on were not seen
	window  uint64 // bit i set: number next-1-i was received
	missing uint64 // numbers below next not received (yet)
	fresh   uint64 // distinct numbers received
	dups    uint64
	late    uint64
	started bool
	corrupt uint64 // payloads that failed their check on this connection
}

// outcome is what one received number was.
type outcome uint8

const (
	inOrder   outcome = iota // the next number, or one past a gap
	late                     // below the highest received, not seen before: reordered
	duplicate                // seen before
)

// windowBits is how far behind the highest number the tracker remembers exactly which numbers
// were received; a number further behind counts as late while numbers are missing, else as a
// duplicate.
const windowBits = 64

// startAt makes the tracker expect seq first (a subscriber that joined a running broadcast).
func (t *tracker) startAt(seq uint64) {
	t.next, t.started = seq, true
}

// observe records number seq.
func (t *tracker) observe(seq uint64) outcome {
	t.started = true
	if seq >= t.next {
		gap := seq - t.next
		t.missing += gap
		if gap+1 >= windowBits {
			t.window = 1
		} else {
			t.window = t.window<<(gap+1) | 1
		}
		t.next = seq + 1
		t.fresh++
		return inOrder
	}
	d := t.next - 1 - seq
	if d < windowBits {
		bit := uint64(1) << d
		if t.window&bit != 0 {
			t.dups++
			return duplicate
		}
		t.window |= bit
	} else if t.missing == 0 {
		t.dups++
		return duplicate
	}
	t.missing--
	t.late++
	t.fresh++
	return late
}

// lost returns how many of the numbers from the first expected up to sent-1 were never received
// intact: the gaps, plus the tail past the highest received. Payloads that arrived corrupted are
// not counted again here (they are counted as corrupted).
func (t *tracker) lost(sent uint64) uint64 {
	n := t.missing
	if sent > t.next {
		n += sent - t.next
	}
	if n <= t.corrupt {
		return 0
	}
	return n - t.corrupt
}
