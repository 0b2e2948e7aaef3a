package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The UTF-8 vectors of section 6 from 6.5 on, grouped in the classes of Markus Kuhn's UTF-8
// decoder stress test as Autobahn groups them: 6.5 valid samples, 6.6 prefixes of a valid text,
// 6.7-6.11 boundary values, 6.12-6.16 malformed sequences, 6.17-6.19 overlong forms, 6.20-6.21
// surrogates, 6.22 non-characters (valid), 6.23 other valid special code points. Each is sent as
// one text message: a valid one must be echoed, an invalid one must fail the connection with 1007.

type utf8Vector struct {
	id      string
	desc    string
	payload []byte
	valid   bool
}

func utf8Vectors() []utf8Vector {
	var v []utf8Vector
	add := func(group int, sub int, desc string, valid bool, b []byte) {
		v = append(v, utf8Vector{fmt.Sprintf("6.%d.%d", group, sub), desc, b, valid})
	}
	seq := func(s string) []byte { return []byte(s) }

	// 6.5 valid samples.
	for i, s := range []struct{ d, t string }{
		{"Greek \"kosme\"", "κόσμε"},
		{"the euro sign, 3 bytes", "€"},
		{"a 4-byte character (U+1D11E)", "𝄞"},
		{"Japanese text", "日本語のテキスト"},
		{"ASCII, 2-, 3- and 4-byte characters mixed", "a\u00e9\u20ac\U0001F600z"},
	} {
		add(5, i+1, "valid UTF-8: "+s.d, true, seq(s.t))
	}

	// 6.6 every prefix of "κόσμε": valid when it ends on a character boundary.
	kosme := seq("κόσμε")
	for n := 1; n <= len(kosme); n++ {
		p := kosme[:n]
		add(6, n, fmt.Sprintf("the first %d bytes of \"κόσμε\"", n), utf8.Valid(p), p)
	}

	// 6.7 the first possible sequence of each length.
	for i, r := range []rune{0x0000, 0x0080, 0x0800, 0x10000} {
		add(7, i+1, fmt.Sprintf("first possible sequence of %d bytes (U+%04X)", i+1, r), true, utf8.AppendRune(nil, r))
	}
	// 6.8 first possible 5- and 6-byte sequences (no longer UTF-8).
	add(8, 1, "first possible 5-byte sequence (invalid since RFC 3629)", false, seq("\xf8\x88\x80\x80\x80"))
	add(8, 2, "first possible 6-byte sequence (invalid since RFC 3629)", false, seq("\xfc\x84\x80\x80\x80\x80"))
	// 6.9 the last possible sequence of each length.
	for i, r := range []rune{0x007F, 0x07FF, 0xFFFF, 0x10FFFF} {
		add(9, i+1, fmt.Sprintf("last valid sequence of %d bytes (U+%04X)", i+1, r), true, utf8.AppendRune(nil, r))
	}
	// 6.10 the last 4-, 5- and 6-byte patterns, beyond U+10FFFF.
	add(10, 1, "4-byte pattern for U+1FFFFF (above U+10FFFF)", false, seq("\xf7\xbf\xbf\xbf"))
	add(10, 2, "last possible 5-byte sequence", false, seq("\xfb\xbf\xbf\xbf\xbf"))
	add(10, 3, "last possible 6-byte sequence", false, seq("\xfd\xbf\xbf\xbf\xbf\xbf"))
	// 6.11 other boundaries.
	add(11, 1, "U+D7FF, just below the surrogates", true, seq("\xed\x9f\xbf"))
	add(11, 2, "U+E000, just above the surrogates", true, seq("\xee\x80\x80"))
	add(11, 3, "U+FFFD, the replacement character", true, seq("\xef\xbf\xbd"))
	add(11, 4, "U+10FFFF, the last code point", true, seq("\xf4\x8f\xbf\xbf"))
	add(11, 5, "U+110000, past the last code point", false, seq("\xf4\x90\x80\x80"))

	// 6.12 unexpected continuation bytes.
	add(12, 1, "a lone first continuation byte 0x80", false, seq("\x80"))
	add(12, 2, "a lone last continuation byte 0xbf", false, seq("\xbf"))
	for n := 2; n <= 7; n++ {
		var b []byte
		for i := 0; i < n; i++ {
			b = append(b, []byte{0x80, 0xbf}[i%2])
		}
		add(12, n+1, fmt.Sprintf("%d continuation bytes in a row", n), false, b)
	}
	all := make([]byte, 0, 64)
	for c := 0x80; c <= 0xbf; c++ {
		all = append(all, byte(c))
	}
	add(12, 9, "all 64 continuation bytes", false, all)

	// 6.13 lonely start bytes, each followed by a space.
	lonely := func(from, to int) []byte {
		var b []byte
		for c := from; c <= to; c++ {
			b = append(b, byte(c), ' ')
		}
		return b
	}
	add(13, 1, "the 32 start bytes of 2-byte sequences, each followed by a space", false, lonely(0xc0, 0xdf))
	add(13, 2, "the 16 start bytes of 3-byte sequences, each followed by a space", false, lonely(0xe0, 0xef))
	add(13, 3, "the 8 start bytes of 4-byte sequences, each followed by a space", false, lonely(0xf0, 0xf7))
	add(13, 4, "the 4 start bytes of 5-byte sequences, each followed by a space", false, lonely(0xf8, 0xfb))
	add(13, 5, "the 2 start bytes of 6-byte sequences, each followed by a space", false, lonely(0xfc, 0xfd))

	// 6.14 sequences missing their last continuation byte.
	truncated := []struct{ d, s string }{
		{"2-byte sequence for U+0000", "\xc0"},
		{"3-byte sequence for U+0000", "\xe0\x80"},
		{"4-byte sequence for U+0000", "\xf0\x80\x80"},
		{"5-byte sequence for U+0000", "\xf8\x80\x80\x80"},
		{"6-byte sequence for U+0000", "\xfc\x80\x80\x80\x80"},
		{"2-byte sequence for U+07FF", "\xdf"},
		{"3-byte sequence for U+FFFF", "\xef\xbf"},
		{"4-byte sequence for U+1FFFFF", "\xf7\xbf\xbf"},
		{"5-byte sequence for U+3FFFFFF", "\xfb\xbf\xbf\xbf"},
		{"6-byte sequence for U+7FFFFFFF", "\xfd\xbf\xbf\xbf\xbf"},
	}
	var concat strings.Builder
	for i, t := range truncated {
		add(14, i+1, t.d+" without its last byte", false, seq(t.s))
		concat.WriteString(t.s)
	}
	// 6.15 all of them one after the other.
	add(15, 1, "the ten truncated sequences of 6.14 concatenated", false, seq(concat.String()))

	// 6.16 bytes that never appear in UTF-8.
	add(16, 1, "the byte 0xfe", false, seq("\xfe"))
	add(16, 2, "the byte 0xff", false, seq("\xff"))
	add(16, 3, "0xfe 0xfe 0xff 0xff", false, seq("\xfe\xfe\xff\xff"))

	// 6.17 overlong forms of '/'.
	for i, s := range []string{"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf"} {
		add(17, i+1, fmt.Sprintf("'/' in an overlong %d-byte form", i+2), false, seq(s))
	}
	// 6.18 the largest overlong forms.
	for i, s := range []string{"\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf"} {
		add(18, i+1, fmt.Sprintf("the largest overlong %d-byte form", i+2), false, seq(s))
	}
	// 6.19 overlong forms of NUL.
	for i, s := range []string{"\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80"} {
		add(19, i+1, fmt.Sprintf("NUL in an overlong %d-byte form", i+2), false, seq(s))
	}

	// 6.20 single UTF-16 surrogates, 6.21 paired ones: never valid in UTF-8.
	sur := func(u uint16) []byte { return []byte{0xed, byte(0x80 | (u>>6)&0x3f), byte(0x80 | u&0x3f)} }
	for i, u := range []uint16{0xD800, 0xDB7F, 0xDB80, 0xDBFF, 0xDC00, 0xDF80, 0xDFFF} {
		add(20, i+1, fmt.Sprintf("the lone surrogate U+%04X", u), false, sur(u))
	}
	i := 0
	for _, hi := range []uint16{0xD800, 0xDB7F, 0xDB80, 0xDBFF} {
		for _, lo := range []uint16{0xDC00, 0xDFFF} {
			i++
			add(21, i, fmt.Sprintf("the surrogate pair U+%04X U+%04X", hi, lo), false, append(sur(hi), sur(lo)...))
		}
	}

	// 6.22 the non-characters U+xFFFE and U+xFFFF of all 17 planes: valid UTF-8.
	i = 0
	for plane := rune(0); plane <= 16; plane++ {
		for _, low := range []rune{0xFFFE, 0xFFFF} {
			i++
			r := plane<<16 | low
			add(22, i, fmt.Sprintf("the non-character U+%04X (valid UTF-8)", r), true, utf8.AppendRune(nil, r))
		}
	}

	// 6.23 other special code points, all valid.
	for i, s := range []struct{ d, t string }{
		{"U+FFFD, the replacement character, in text", "a\ufffdb"},
		{"U+FEFF, a byte order mark, at the start", "\ufeffhello"},
		{"U+FDD0, a non-character of the Arabic block", "\ufdd0"},
		{"U+FDEF, the last of those non-characters", "\ufdef"},
		{"U+0000 in the middle of a text", "a\x00b"},
		{"U+2028, the line separator", "a\u2028b"},
		{"U+FFF9, an interlinear annotation anchor", "\ufff9"},
	} {
		add(23, i+1, s.d, true, seq(s.t))
	}
	return v
}
