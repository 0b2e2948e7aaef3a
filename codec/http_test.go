package codec

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestNextToken(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,, ", nil},
		{"a", []string{"a"}},
		{"a,b", []string{"a", "b"}},
		{" a , b ,c,", []string{"a", "b", "c"}},
		{"\ta\t,\tb", []string{"a", "b"}},
		{`x; p="1,2", y`, []string{`x; p="1,2"`, "y"}},
		{`x; p="a\",b", y`, []string{`x; p="a\",b"`, "y"}},
		{`x; p="unterminated, y`, []string{`x; p="unterminated, y`}},
		{`x\`, []string{`x\`}},
		{`"\`, []string{`"\`}},
	}
	for _, c := range cases {
		var got []string
		for tok, rest := NextToken([]byte(c.in)); len(tok) > 0; tok, rest = NextToken(rest) {
			got = append(got, string(tok))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("NextToken(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIsFieldValueWordwise(t *testing.T) {
	// Every byte value at every position of a 19-byte value (two words and a tail).
	base := []byte("abcdefghijklmnopqrs")
	for pos := range base {
		for c := 0; c < 256; c++ {
			v := append([]byte(nil), base...)
			v[pos] = byte(c)
			want := c >= 0x20 && c != 0x7f || c == '\t'
			if got := isFieldValue(v); got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
			if got := isFieldValue(string(v)); got != want {
				t.Fatalf("string, byte %#x at %d: %v, want %v", c, pos, got, want)
			}
		}
	}
	// Random values agree with the byte-wise check.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		v := make([]byte, rng.IntN(40))
		for i := range v {
			v[i] = byte(0x1f + rng.IntN(0x62)) // mostly printable, sometimes 0x1f or 0x7f or above
			if rng.IntN(50) == 0 {
				v[i] = byte(rng.IntN(256))
			}
		}
		if isFieldValue(v) != fieldBytes(v) {
			t.Fatalf("%q: wordwise %v, bytewise %v", v, isFieldValue(v), fieldBytes(v))
		}
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{hsKey, "AAAAAAAAAAAAAAAAAAAAAA==", "/////////////////////w==", "AQIDBAUGBwgJCgsMDQ4PEA=="} {
		if !validKey(k) {
			t.Errorf("%q refused", k)
		}
	}
	for _, k := range []string{"", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===", "dGhlIHNhbXBsZSBub25jZR==",
		"dGhlIHNhbXBsZSBub25jZ===", "dGhlIHNhbXBsZSBub25jZQ=x", "dGhlIHNhbXBs ZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ\r\n"} {
		if validKey(k) {
			t.Errorf("%q accepted", k)
		}
	}
}

func TestParseHeaderLine(t *testing.T) {
	good := map[string][2]string{
		"A: b":           {"A", "b"},
		"A:b":            {"A", "b"},
		"A:":             {"A", ""},
		"A: \t b c \t ":  {"A", "b c"},
		"x-y_z.1~!: v:w": {"x-y_z.1~!", "v:w"},
		"A: \x80\xff":    {"A", "\x80\xff"},
	}
	for line, want := range good {
		h, ok := parseHeaderLine([]byte(line))
		if !ok || string(h.Name) != want[0] || string(h.Value) != want[1] {
			t.Errorf("%q: %q %q %v", line, h.Name, h.Value, ok)
		}
	}
	for _, line := range []string{"", " A: b", "\tA: b", "A b", "A : b", ":b", "A(: b", "A: b\x00", "A: b\rc", "A\x7f: b", "A: \x7f"} {
		if _, ok := parseHeaderLine([]byte(line)); ok {
			t.Errorf("%q accepted", line)
		}
	}
}

func TestHeadScannerLimit(t *testing.T) {
	head := "GET / HTTP/1.1\r\nA: b\r\n\r\n"
	for limit := 1; limit <= len(head)+2; limit++ {
		var s headScanner
		got := 0
		for i := 0; i <= len(head); i++ {
			if got = s.scan([]byte(head[:i]), limit); got != 0 {
				break
			}
		}
		want := len(head)
		if limit < len(head) {
			want = -1
		}
		if got != want {
			t.Errorf("limit %d: %d, want %d", limit, got, want)
		}
	}
}

func TestHTTPHelpersAgree(t *testing.T) {
	// The generic helpers give the same answers for strings and bytes.
	for _, s := range []string{"", "a", "a b", "Sec-WebSocket-Key", "[::1]:80", "a\r", "x;y"} {
		b := []byte(s)
		if isToken(s) != isToken(b) || isHostValue(s) != isHostValue(b) || isTargetValue(s) != isTargetValue(b) ||
			string(extensionName(b)) != extensionName(s) || !reflect.DeepEqual(string(trimOWS(b)), trimOWS(s)) {
			t.Errorf("%q: string and bytes disagree", s)
		}
	}
}
