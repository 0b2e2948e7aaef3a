package codec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// utf8Case is one input with its expected verdict: bad is the index of the first byte at which no
// valid completion exists (-1 when there is none), complete whether the input is valid and ends on
// a character boundary.
type utf8Case struct {
	name     string
	in       string
	bad      int
	complete bool
}

func u8valid(name, in string) utf8Case       { return utf8Case{name, in, -1, true} }
func u8trunc(name, in string) utf8Case       { return utf8Case{name, in, -1, false} }
func u8bad(name, in string, at int) utf8Case { return utf8Case{name, in, at, false} }

// utf8Kosme is the Greek word of Markus Kuhn's stress test, with U+1F79 (3 bytes) as its second letter:
// 11 bytes in all.
const utf8Kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

var utf8Cases = []utf8Case{
	u8valid("empty", ""),
	u8valid("ascii", "Hello, WebSocket!"),
	u8valid("kosme", utf8Kosme), // Markus Kuhn 1
	u8valid("long ascii", strings.Repeat("0123456789", 10)),
	u8valid("ascii around 2-byte", strings.Repeat("a", 37)+"é"+strings.Repeat("b", 41)),
	u8valid("mixed", "Grüße, 東京! 😀 ok"),

	// Boundaries (Kuhn 2.1, 2.2, 2.3).
	u8valid("U+0000", "\x00"),
	u8valid("U+007F", "\x7f"),
	u8valid("U+0080", "\xc2\x80"),
	u8valid("U+07FF", "\xdf\xbf"),
	u8valid("U+0800", "\xe0\xa0\x80"),
	u8valid("U+D7FF", "\xed\x9f\xbf"),
	u8valid("U+E000", "\xee\x80\x80"),
	u8valid("U+FDD0 non-character", "\xef\xb7\x90"),
	u8valid("U+FFFD", "\xef\xbf\xbd"),
	u8valid("U+FFFE non-character", "\xef\xbf\xbe"),
	u8valid("U+FFFF non-character", "\xef\xbf\xbf"),
	u8valid("U+10000", "\xf0\x90\x80\x80"),
	u8valid("U+1FFFE non-character", "\xf0\x9f\xbf\xbe"),
	u8valid("U+FFFFF", "\xf3\xbf\xbf\xbf"),
	u8valid("U+100000", "\xf4\x80\x80\x80"),
	u8valid("U+10FFFF", "\xf4\x8f\xbf\xbf"),
	u8bad("U+110000", "\xf4\x90\x80\x80", 1),
	u8bad("F4 BF", "\xf4\xbf\xbf\xbf", 1),
	u8bad("U+1FFFFF as 4 bytes", "\xf7\xbf\xbf\xbf", 0),
	u8bad("5-byte first", "\xf8\x88\x80\x80\x80", 0),
	u8bad("5-byte last", "\xfb\xbf\xbf\xbf\xbf", 0),
	u8bad("6-byte first", "\xfc\x84\x80\x80\x80\x80", 0),
	u8bad("6-byte last", "\xfd\xbf\xbf\xbf\xbf\xbf", 0),

	// Bytes that never appear (Kuhn 3.5).
	u8bad("C0", "\xc0", 0),
	u8bad("C1", "\xc1", 0),
	u8bad("F5", "\xf5", 0),
	u8bad("FE", "\xfe", 0),
	u8bad("FF", "\xff", 0),
	u8bad("FE FE FF FF", "\xfe\xfe\xff\xff", 0),
	u8bad("FF after text", "abc\xff", 3),

	// Overlong forms (Kuhn 4).
	u8bad("overlong / 2", "\xc0\xaf", 0),
	u8bad("overlong / 3", "\xe0\x80\xaf", 1),
	u8bad("overlong / 4", "\xf0\x80\x80\xaf", 1),
	u8bad("overlong / 5", "\xf8\x80\x80\x80\xaf", 0),
	u8bad("overlong / 6", "\xfc\x80\x80\x80\x80\xaf", 0),
	u8bad("max overlong 2", "\xc1\xbf", 0),
	u8bad("max overlong 3", "\xe0\x9f\xbf", 1),
	u8bad("max overlong 4", "\xf0\x8f\xbf\xbf", 1),
	u8bad("overlong NUL 2", "\xc0\x80", 0),
	u8bad("overlong NUL 3", "\xe0\x80\x80", 1),
	u8bad("overlong NUL 4", "\xf0\x80\x80\x80", 1),

	// Surrogates (Kuhn 5.1, 5.2).
	u8bad("U+D800", "\xed\xa0\x80", 1),
	u8bad("U+DB7F", "\xed\xad\xbf", 1),
	u8bad("U+DB80", "\xed\xae\x80", 1),
	u8bad("U+DBFF", "\xed\xaf\xbf", 1),
	u8bad("U+DC00", "\xed\xb0\x80", 1),
	u8bad("U+DF80", "\xed\xbe\x80", 1),
	u8bad("U+DFFF", "\xed\xbf\xbf", 1),
	u8bad("surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1),
	u8bad("surrogate after text", utf8Kosme+"\xed\xa0\x80", 12),

	// Unexpected continuation bytes (Kuhn 3.1).
	u8bad("lone 80", "\x80", 0),
	u8bad("lone BF", "\xbf", 0),
	u8bad("80 BF", "\x80\xbf", 0),
	u8bad("80 BF 80 BF", "\x80\xbf\x80\xbf", 0),
	u8bad("continuation after ASCII", "a\x80", 1),
	u8bad("continuation after 2-byte", "\xc3\xa9\x80", 2),
	u8bad("continuation after 4-byte", "\xf0\x9f\x98\x80\xbf", 4),
	u8bad("continuation deep in ASCII", strings.Repeat("x", 45)+"\x80", 45),

	// Lone start bytes and lead bytes where a continuation is expected (Kuhn 3.2, 3.3, 3.4).
	u8bad("C3 space", "\xc3 ", 1),
	u8bad("E2 space", "\xe2 ", 1),
	u8bad("E2 82 space", "\xe2\x82 ", 2),
	u8bad("F0 space", "\xf0 ", 1),
	u8bad("F0 9F 98 space", "\xf0\x9f\x98 ", 3),
	u8bad("C3 C3", "\xc3\xc3\xa9", 1),
	u8bad("E2 82 E2", "\xe2\x82\xe2\x82\xac", 2),
	u8bad("F0 9F F0", "\xf0\x9f\xf0\x9f\x98\x80", 2),
	u8bad("DF EF BF", "\xdf\xef\xbf", 1),
	u8bad("C3 C0", "\xc3\xc0", 1),
	u8bad("E2 82 C0", "\xe2\x82\xc0", 2),
	u8bad("E2 7F AC", "\xe2\x7f\xac", 1),
	u8bad("F0 9F C0 80", "\xf0\x9f\xc0\x80", 2),
	u8bad("F0 9F 98 C0", "\xf0\x9f\x98\xc0", 3),
	u8bad("F0 9F 98 7F", "\xf0\x9f\x98\x7f", 3),
	u8bad("F7 BF BF", "\xf7\xbf\xbf", 0),
	u8bad("concatenated incomplete", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf", 0),
	u8bad("concatenated incomplete, valid starts", "\xdf\xef\xbf\xf4\x8f", 1),

	// Valid so far, but the input ends inside a character.
	u8trunc("C3", "\xc3"),
	u8trunc("DF", "\xdf"),
	u8trunc("E0", "\xe0"),
	u8trunc("E2 82", "\xe2\x82"),
	u8trunc("EF BF", "\xef\xbf"),
	u8trunc("ED 9F", "\xed\x9f"),
	u8trunc("F0 9F 98", "\xf0\x9f\x98"),
	u8trunc("F4 8F BF", "\xf4\x8f\xbf"),
	u8trunc("text then E2", utf8Kosme+"\xe2"),
	u8trunc("long ascii then F0 90", strings.Repeat("z", 70)+"\xf0\x90"),

	// Autobahn 6.4.x: fail fast in the middle of a message.
	u8bad("autobahn 6.4.1", utf8Kosme+"\xf4\x90\x80\x80edited", 12),
	u8bad("autobahn 6.4.3", utf8Kosme+"\xf4\x90\x80\x80", 12),
}

// utf8KuhnCases generates the byte-class rows of Markus Kuhn's UTF-8 stress test (the source of
// Autobahn section 6): every continuation byte alone, and every start byte followed by a space.
func utf8KuhnCases() []utf8Case {
	var cs []utf8Case
	for b := 0x80; b <= 0xBF; b++ {
		cs = append(cs, u8bad(fmt.Sprintf("lone continuation %02X", b), string([]byte{byte(b)}), 0))
	}
	for b := 0xC0; b <= 0xFF; b++ {
		in := string([]byte{byte(b), ' '})
		at := 1
		if b < 0xC2 || b > 0xF4 {
			at = 0
		}
		cs = append(cs, u8bad(fmt.Sprintf("lonely start %02X", b), in, at))
	}
	// Every start byte followed by each second-byte class boundary.
	for b := 0xC2; b <= 0xF4; b++ {
		lo, hi := byte(0x80), byte(0xBF)
		switch b {
		case 0xE0:
			lo = 0xA0
		case 0xED:
			hi = 0x9F
		case 0xF0:
			lo = 0x90
		case 0xF4:
			hi = 0x8F
		}
		size := 2
		if b >= 0xE0 {
			size = 3
		}
		if b >= 0xF0 {
			size = 4
		}
		for _, c := range []byte{0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0} {
			seq := []byte{byte(b), c}
			for len(seq) < size {
				seq = append(seq, 0x80)
			}
			name := fmt.Sprintf("%X", seq)
			if c >= lo && c <= hi {
				cs = append(cs, u8valid(name, string(seq)))
			} else {
				cs = append(cs, u8bad(name, string(seq), 1))
			}
		}
		// Third and fourth bytes: always 80..BF.
		for k := 2; k < size; k++ {
			for _, c := range []byte{0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF} {
				seq := []byte{byte(b), lo}
				for len(seq) < size {
					seq = append(seq, 0x80)
				}
				seq[k] = c
				name := fmt.Sprintf("%X", seq)
				if c >= 0x80 && c <= 0xBF {
					cs = append(cs, u8valid(name, string(seq)))
				} else {
					cs = append(cs, u8bad(name, string(seq), k))
				}
			}
		}
	}
	return cs
}

func allUTF8Cases() []utf8Case {
	return append(append([]utf8Case(nil), utf8Cases...), utf8KuhnCases()...)
}

// utf8FeedChunks feeds chunks to a fresh validator, stopping at the first failure, and returns the
// absolute failure offset (-1 if none) and whether the input is complete.
func utf8FeedChunks(t testing.TB, chunks ...[]byte) (int, bool) {
	var v UTF8Validator
	off := 0
	for _, c := range chunks {
		n, ok := v.Feed(c)
		if !ok {
			if n < 0 || n >= len(c) {
				t.Fatalf("Feed(%X) failed at %d, outside the chunk", c, n)
			}
			if v.Complete() {
				t.Fatal("Complete after a failure")
			}
			return off + n, false
		}
		if n != len(c) {
			t.Fatalf("Feed(%X) = %d, true; want %d", c, n, len(c))
		}
		off += len(c)
	}
	return -1, v.Complete()
}

// utf8RefCheck is an independent reference built on the standard library: the first bad byte is the
// end of the longest prefix that some bytes could still complete into valid UTF-8.
func utf8RefCheck(p []byte) (int, bool) {
	if utf8.Valid(p) {
		return -1, true
	}
	if utf8RefPrefixOK(p) {
		return -1, false
	}
	lo, hi := 0, len(p) // utf8RefPrefixOK(p[:lo]) holds, utf8RefPrefixOK(p[:hi]) does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if utf8RefPrefixOK(p[:mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, false
}

// utf8RefPrefixOK reports whether s is a prefix of some valid UTF-8 text: valid text followed by at
// most 3 bytes that begin a character.
func utf8RefPrefixOK(s []byte) bool {
	for t := 0; t <= 3 && t <= len(s); t++ {
		if utf8.Valid(s[:len(s)-t]) && (t == 0 || utf8RefCompletable(s[len(s)-t:])) {
			return true
		}
	}
	return false
}

// utf8RefCompletable reports whether 1 to 3 more bytes turn tail into exactly one valid character.
// Trying 80, 90 and A0 is enough: every allowed continuation range contains one of them.
func utf8RefCompletable(tail []byte) bool {
	cands := []byte{0x80, 0x90, 0xA0}
	for k := 1; len(tail)+k <= 4; k++ {
		total := 1
		for range k {
			total *= len(cands)
		}
		for combo := range total {
			buf := append([]byte(nil), tail...)
			for c, i := combo, 0; i < k; i, c = i+1, c/len(cands) {
				buf = append(buf, cands[c%len(cands)])
			}
			if utf8.Valid(buf) && utf8.RuneCount(buf) == 1 {
				return true
			}
		}
	}
	return false
}

func TestUTF8Table(t *testing.T) {
	for _, c := range allUTF8Cases() {
		in := []byte(c.in)
		if rb, rc := utf8RefCheck(in); rb != c.bad || rc != c.complete {
			t.Errorf("%s: table says (%d, %v), reference (%d, %v)", c.name, c.bad, c.complete, rb, rc)
		}
		if got := ValidUTF8(in); got != c.complete {
			t.Errorf("%s: ValidUTF8(%X) = %v", c.name, in, got)
		}
		if got := ValidUTF8(in); got != utf8.Valid(in) {
			t.Errorf("%s: ValidUTF8(%X) = %v, utf8.Valid disagrees", c.name, in, got)
		}
		utf8CheckSplits(t, c.name, in, c.bad, c.complete)
	}
}

// utf8CheckSplits feeds in whole, in every split into two pieces, with an empty chunk between, and
// byte by byte, and expects the same verdict every time.
func utf8CheckSplits(t *testing.T, name string, in []byte, wantBad int, wantComplete bool) {
	t.Helper()
	check := func(how string, chunks ...[]byte) {
		t.Helper()
		b, c := utf8FeedChunks(t, chunks...)
		if b != wantBad || c != wantComplete {
			t.Errorf("%s (%s, %X): got (%d, %v), want (%d, %v)", name, how, in, b, c, wantBad, wantComplete)
		}
	}
	check("whole", in)
	for i := 0; i <= len(in); i++ {
		check(fmt.Sprintf("split %d", i), in[:i], in[i:])
		check(fmt.Sprintf("split %d with empty chunk", i), in[:i], nil, in[i:])
	}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	check("byte by byte", bytewise...)
}

func TestUTF8StickyFailureAndReset(t *testing.T) {
	var v UTF8Validator
	if !v.Complete() {
		t.Fatal("zero value not complete")
	}
	if n, ok := v.Feed([]byte("ab\xe2\x82")); !ok || n != 4 || v.Complete() {
		t.Fatalf("Feed = %d, %v, complete %v", n, ok, v.Complete())
	}
	if n, ok := v.Feed([]byte("x")); ok || n != 0 {
		t.Fatalf("Feed after incomplete char = %d, %v", n, ok)
	}
	for _, p := range [][]byte{nil, []byte("abc"), []byte("\xac")} {
		if n, ok := v.Feed(p); ok || n != 0 || v.Complete() {
			t.Fatalf("failed validator accepted %X: %d, %v", p, n, ok)
		}
	}
	v.Reset()
	if v != (UTF8Validator{}) {
		t.Fatalf("Reset left %+v", v)
	}
	if _, ok := v.Feed([]byte("€")); !ok || !v.Complete() {
		t.Fatal("validator unusable after Reset")
	}
	v.Feed([]byte("\xe2"))
	v.Reset()
	if !v.Complete() {
		t.Fatal("Reset kept a pending character")
	}
}

func TestUTF8Size(t *testing.T) {
	if got := unsafe.Sizeof(UTF8Validator{}); got > 4 {
		t.Fatalf("UTF8Validator is %d bytes", got)
	}
}

// utf8RandomInput returns n bytes that are mostly valid UTF-8 with occasional damage, so that random
// inputs reach every branch: long ASCII runs, characters of every length, boundary bytes.
func utf8RandomInput(r *rand.Rand, n int) []byte {
	pieces := []string{
		"a", "hello world ", strings.Repeat("x", 33), "é", "ß", "€", "東京", "😀", "\U0010FFFF",
		"\uFFFF", "\uD7FF", "\uE000", "\u0800", "\u0080", "\x7f",
	}
	damage := []byte{0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F, 0x90}
	var b []byte
	for len(b) < n {
		switch r.IntN(10) {
		case 0:
			b = append(b, damage[r.IntN(len(damage))])
		case 1:
			b = append(b, byte(r.IntN(256)))
		default:
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
	}
	return b[:n]
}

func TestUTF8Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	for i := range iters {
		in := utf8RandomInput(r, r.IntN(80)+r.IntN(2)*r.IntN(200))
		if i%3 == 0 {
			// Fully random bytes too.
			for j := range in {
				in[j] = byte(r.IntN(256))
			}
		}
		wantBad, wantComplete := utf8RefCheck(in)
		if got := ValidUTF8(in); got != utf8.Valid(in) {
			t.Fatalf("ValidUTF8(%X) = %v, utf8.Valid disagrees", in, got)
		}
		b, c := utf8FeedChunks(t, in)
		if b != wantBad || c != wantComplete {
			t.Fatalf("Feed(%X) = (%d, %v), reference (%d, %v)", in, b, c, wantBad, wantComplete)
		}
		// Random split into up to 5 chunks.
		cuts := []int{0, len(in)}
		for range r.IntN(5) {
			cuts = append(cuts, r.IntN(len(in)+1))
		}
		chunks := utf8SplitAt(in, cuts)
		if b2, c2 := utf8FeedChunks(t, chunks...); b2 != b || c2 != c {
			t.Fatalf("chunks %X: (%d, %v), whole (%d, %v)", chunks, b2, c2, b, c)
		}
	}
}

// utf8SplitAt cuts p at the given offsets (in any order, duplicates allowed, all within [0, len(p)]).
func utf8SplitAt(p []byte, cuts []int) [][]byte {
	cs := append([]int{0, len(p)}, cuts...)
	for i := 1; i < len(cs); i++ { // insertion sort: a handful of values
		for j := i; j > 0 && cs[j] < cs[j-1]; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
	var chunks [][]byte
	for i := 1; i < len(cs); i++ {
		chunks = append(chunks, p[cs[i-1]:cs[i]])
	}
	return chunks
}

func FuzzUTF8(f *testing.F) {
	for _, c := range utf8Cases {
		f.Add([]byte(c.in), uint16(0), uint16(len(c.in)/2), uint16(len(c.in)))
	}
	f.Add([]byte(strings.Repeat("ascii ", 20)+"\xed\xa0\x80"), uint16(3), uint16(100), uint16(121))
	f.Fuzz(func(t *testing.T, in []byte, a, b, c uint16) {
		wantBad, wantComplete := utf8RefCheck(in)
		if wantComplete != utf8.Valid(in) {
			t.Fatal("reference disagrees with utf8.Valid")
		}
		if got := ValidUTF8(in); got != wantComplete {
			t.Fatalf("ValidUTF8 = %v, utf8.Valid = %v", got, wantComplete)
		}
		bw, cw := utf8FeedChunks(t, in)
		if bw != wantBad || cw != wantComplete {
			t.Fatalf("whole: (%d, %v), reference (%d, %v)", bw, cw, wantBad, wantComplete)
		}
		// The ASCII run finders agree with a byte loop on the input and, at its first non-ASCII
		// byte, on the rest of it.
		asciiCheckKernels(t, in, int(a%8))
		if i := asciiPrefixRef(in); i < len(in) {
			asciiCheckKernels(t, in[i+1:], int(b%8))
		}
		m := len(in) + 1
		chunks := utf8SplitAt(in, []int{int(a) % m, int(b) % m, int(c) % m})
		if bs, cs := utf8FeedChunks(t, chunks...); bs != bw || cs != cw {
			t.Fatalf("chunks: (%d, %v), whole (%d, %v)", bs, cs, bw, cw)
		}
	})
}

// utf8BenchText returns size bytes of text of the given kind, ending on a character boundary.
func utf8BenchText(kind string, size int) []byte {
	samples := map[string]string{
		"ascii": "The quick brown fox jumps over the lazy dog. {\"id\":42,\"op\":\"ping\"}\n",
		"mixed": "Grüße aus Zürich, Ça va très bien! 東京は今日も晴れです。日本語のテキスト、中文文本。",
		// About 30% of its bytes in multibyte characters: Cyrillic, CJK and an emoji among English.
		"mixed30": "The weather in Moscow today: Погода хорошая, and in Tokyo 晴れ with a 😀 or two, says the report. ",
		"emoji":   "😀🎉👍🚀🔥✨🐍🦀 fun 🥳🍕🌍💡",
	}
	s := samples[kind]
	var b []byte
	for len(b) < size {
		b = append(b, s...)
	}
	b = b[:size]
	i := size
	for !utf8.Valid(b[:i]) {
		i--
	}
	b = b[:i]
	for len(b) < size {
		b = append(b, ' ')
	}
	return b
}

func BenchmarkUTF8(b *testing.B) {
	for _, kind := range []string{"ascii", "mixed30", "mixed", "emoji"} {
		for _, size := range []int{16, 1 << 10, 16 << 10, 64 << 10} {
			text := utf8BenchText(kind, size)
			name := fmt.Sprintf("%s/%dB", kind, size)
			b.Run(name+"/wsloop", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					if !ValidUTF8(text) {
						b.Fatal("invalid")
					}
				}
			})
			b.Run(name+"/stdlib", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(text)))
				for b.Loop() {
					if !utf8.Valid(text) {
						b.Fatal("invalid")
					}
				}
			})
			b.Run(name+"/feed-4KiB-reads", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(text)))
				var v UTF8Validator
				for b.Loop() {
					v.Reset()
					for p := text; len(p) > 0; {
						k := min(len(p), 4<<10)
						if _, ok := v.Feed(p[:k]); !ok {
							b.Fatal("invalid")
						}
						p = p[k:]
					}
					if !v.Complete() {
						b.Fatal("incomplete")
					}
				}
			})
		}
	}
}
