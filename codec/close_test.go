package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// closeCodeRule is the rule of RFC 6455 section 7.4 with the IANA registry's 1012-1014, written
// out independently of ValidCloseCode.
func closeCodeRule(c int) bool {
	switch c {
	case 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014:
		return true
	}
	return c >= 3000 && c <= 4999
}

func TestValidCloseCodeEveryValue(t *testing.T) {
	for c := 0; c <= 0xFFFF; c++ {
		if got := ValidCloseCode(CloseCode(c)); got != closeCodeRule(c) {
			t.Errorf("ValidCloseCode(%d) = %v", c, got)
		}
	}
	for _, c := range []CloseCode{1004, CloseNoStatus, CloseAbnormal, CloseTLSHandshakeFail, 0, 999, 1016, 2999, 5000, 65535} {
		if ValidCloseCode(c) {
			t.Errorf("ValidCloseCode(%d) = true", c)
		}
	}
	for _, c := range []CloseCode{CloseNormal, CloseGoingAway, CloseProtocolError, CloseUnsupportedData,
		CloseInvalidPayload, ClosePolicyViolation, CloseMessageTooBig, CloseMandatoryExt, CloseInternalError,
		CloseServiceRestart, CloseTryAgainLater, CloseBadGateway, 3000, 3999, 4000, 4999} {
		if !ValidCloseCode(c) {
			t.Errorf("ValidCloseCode(%d) = false", c)
		}
	}
}

// TestValidCloseCodeAfterTheRFC pins the edge of the range the IANA registry added: 1012-1014 are
// valid, 1015 (reserved for reporting a failed TLS handshake) and every code from 1016 to 2999
// stay invalid, on the wire and in Close alike.
func TestValidCloseCodeAfterTheRFC(t *testing.T) {
	tests := []struct {
		from, to CloseCode
		valid    bool
	}{
		{1011, 1011, true},
		{CloseServiceRestart, CloseServiceRestart, true},
		{CloseTryAgainLater, CloseTryAgainLater, true},
		{CloseBadGateway, CloseBadGateway, true},
		{CloseTLSHandshakeFail, CloseTLSHandshakeFail, false},
		{1016, 2999, false},
		{3000, 3000, true},
	}
	for _, tt := range tests {
		for c := tt.from; c <= tt.to; c++ {
			if got := ValidCloseCode(c); got != tt.valid {
				t.Errorf("ValidCloseCode(%d) = %v, want %v", c, got, tt.valid)
			}
			_, _, err := ParseClosePayload(rawClosePayload(uint16(c), ""))
			var want error = ErrInvalidCloseCode
			if tt.valid {
				want = nil
			}
			if err != want {
				t.Errorf("ParseClosePayload(%d): %v, want %v", c, err, want)
			}
		}
	}
}

func rawClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func TestParseClosePayload(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		code   CloseCode
		reason string
		err    error
	}{
		{"empty", nil, CloseNoStatus, "", nil},
		{"empty non-nil", []byte{}, CloseNoStatus, "", nil},
		{"one byte", []byte{0x03}, 0, "", ErrCloseOneByte},
		{"one byte E8", []byte{0xE8}, 0, "", ErrCloseOneByte},
		{"1000 no reason", rawClosePayload(1000, ""), 1000, "", nil},
		{"1000 reason", rawClosePayload(1000, "bye"), 1000, "bye", nil},
		{"1001", rawClosePayload(1001, ""), 1001, "", nil},
		{"1002", rawClosePayload(1002, ""), 1002, "", nil},
		{"1003", rawClosePayload(1003, ""), 1003, "", nil},
		{"1004", rawClosePayload(1004, ""), 1004, "", ErrInvalidCloseCode},
		{"1005", rawClosePayload(1005, ""), 1005, "", ErrInvalidCloseCode},
		{"1006", rawClosePayload(1006, ""), 1006, "", ErrInvalidCloseCode},
		{"1007", rawClosePayload(1007, ""), 1007, "", nil},
		{"1008", rawClosePayload(1008, ""), 1008, "", nil},
		{"1009", rawClosePayload(1009, ""), 1009, "", nil},
		{"1010", rawClosePayload(1010, ""), 1010, "", nil},
		{"1011", rawClosePayload(1011, "oops"), 1011, "oops", nil},
		{"1012", rawClosePayload(1012, "service restart"), 1012, "service restart", nil},
		{"1013", rawClosePayload(1013, "try again later"), 1013, "try again later", nil},
		{"1014", rawClosePayload(1014, "bad gateway"), 1014, "bad gateway", nil},
		{"1015", rawClosePayload(1015, ""), 1015, "", ErrInvalidCloseCode},
		{"1016", rawClosePayload(1016, ""), 1016, "", ErrInvalidCloseCode},
		{"0", rawClosePayload(0, ""), 0, "", ErrInvalidCloseCode},
		{"999", rawClosePayload(999, ""), 999, "", ErrInvalidCloseCode},
		{"1100", rawClosePayload(1100, ""), 1100, "", ErrInvalidCloseCode},
		{"2000", rawClosePayload(2000, ""), 2000, "", ErrInvalidCloseCode},
		{"2999", rawClosePayload(2999, ""), 2999, "", ErrInvalidCloseCode},
		{"3000", rawClosePayload(3000, "app"), 3000, "app", nil},
		{"3999", rawClosePayload(3999, ""), 3999, "", nil},
		{"4000", rawClosePayload(4000, ""), 4000, "", nil},
		{"4999", rawClosePayload(4999, "private"), 4999, "private", nil},
		{"5000", rawClosePayload(5000, ""), 5000, "", ErrInvalidCloseCode},
		{"65535", rawClosePayload(65535, ""), 65535, "", ErrInvalidCloseCode},
		{"invalid code before invalid reason", rawClosePayload(1005, "\xff"), 1005, "", ErrInvalidCloseCode},
		{"utf8 reason", rawClosePayload(1000, "κόσμε 東京 😀"), 1000, "κόσμε 東京 😀", nil},
		{"U+FFFF reason", rawClosePayload(1000, "\uFFFF"), 1000, "\uFFFF", nil},
		{"reason FF", rawClosePayload(1000, "\xff"), 1000, "", ErrInvalidCloseReason},
		{"reason surrogate", rawClosePayload(1000, "ab\xed\xa0\x80"), 1000, "", ErrInvalidCloseReason},
		{"reason overlong", rawClosePayload(1000, "\xc0\xaf"), 1000, "", ErrInvalidCloseReason},
		{"reason truncated", rawClosePayload(1000, "ok \xe2\x82"), 1000, "", ErrInvalidCloseReason},
		{"reason above U+10FFFF", rawClosePayload(3000, "\xf4\x90\x80\x80"), 3000, "", ErrInvalidCloseReason},
		{"max reason", rawClosePayload(1000, strings.Repeat("r", MaxCloseReason)), 1000, strings.Repeat("r", MaxCloseReason), nil},
	}
	for _, tt := range tests {
		code, reason, err := ParseClosePayload(tt.in)
		if err != tt.err || code != tt.code || string(reason) != tt.reason {
			t.Errorf("%s: ParseClosePayload(%X) = %d, %q, %v; want %d, %q, %v", tt.name, tt.in, code, reason, err, tt.code, tt.reason, tt.err)
			continue
		}
		if err != nil {
			if reason != nil {
				t.Errorf("%s: reason %q returned with an error", tt.name, reason)
			}
			continue
		}
		if len(tt.in) == 0 {
			if reason != nil {
				t.Errorf("%s: reason not nil", tt.name)
			}
			continue
		}
		if reason == nil || cap(reason) != cap(tt.in)-2 || (len(reason) > 0 && &reason[0] != &tt.in[2]) {
			t.Errorf("%s: reason is not a sub-slice of the payload", tt.name)
		}
	}
}

func TestCloseErrorCodes(t *testing.T) {
	tests := []struct {
		err  *ProtocolError
		code CloseCode
	}{
		{ErrCloseOneByte, CloseProtocolError},
		{ErrInvalidCloseCode, CloseProtocolError},
		{ErrInvalidCloseReason, CloseInvalidPayload},
	}
	for _, tt := range tests {
		_, _, err := ParseClosePayload(map[*ProtocolError][]byte{
			ErrCloseOneByte:       {1},
			ErrInvalidCloseCode:   rawClosePayload(1006, ""),
			ErrInvalidCloseReason: rawClosePayload(1000, "\xc3("),
		}[tt.err])
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe != tt.err || pe.Code != tt.code {
			t.Errorf("error %v: want %v with close code %d", err, tt.err, tt.code)
		}
	}
}

func TestAppendClosePayload(t *testing.T) {
	if got := AppendClosePayload(nil, CloseNoStatus, "ignored"); len(got) != 0 {
		t.Errorf("CloseNoStatus: %X", got)
	}
	if got := AppendClosePayload([]byte("x"), CloseNoStatus, ""); string(got) != "x" {
		t.Errorf("CloseNoStatus changed dst: %q", got)
	}
	if got := AppendClosePayload(nil, CloseNormal, ""); !bytes.Equal(got, []byte{0x03, 0xE8}) {
		t.Errorf("1000: %X", got)
	}
	if got := AppendClosePayload([]byte("hdr"), 4999, "bye"); !bytes.Equal(got, []byte("hdr\x13\x87bye")) {
		t.Errorf("4999 bye: %q", got)
	}
	exact := strings.Repeat("a", MaxCloseReason)
	if got := AppendClosePayload(nil, CloseNormal, exact); len(got) != 125 || string(got[2:]) != exact {
		t.Errorf("123-byte reason: %d bytes", len(got))
	}
	if got := AppendClosePayload(nil, CloseNormal, exact+"b"); len(got) != 125 || string(got[2:]) != exact {
		t.Errorf("124-byte ASCII reason: %d bytes", len(got))
	}
}

func TestAppendClosePayloadTruncatesAtCharacterBoundary(t *testing.T) {
	// 200 bytes of 3-byte characters: 123 = 41*3, so the cut falls exactly on a boundary.
	r3 := strings.Repeat("€", 200/3) + "ab"
	if len(r3) != 200 {
		t.Fatalf("setup: %d bytes", len(r3))
	}
	got := AppendClosePayload(nil, CloseGoingAway, r3)
	if len(got) != 125 || !utf8.Valid(got[2:]) || string(got[2:]) != strings.Repeat("€", 41) {
		t.Errorf("3-byte reason: %d bytes, valid %v", len(got), utf8.Valid(got[2:]))
	}
	// Shift the characters by one and two bytes so the cut falls inside one.
	for shift, want := range map[string]int{"x": 1 + 40*3, "xy": 2 + 40*3} {
		got := AppendClosePayload(nil, CloseGoingAway, shift+r3[:200-len(shift)])
		if len(got)-2 != want || !utf8.Valid(got[2:]) {
			t.Errorf("reason shifted by %d: %d bytes (want %d), valid %v", len(shift), len(got)-2, want, utf8.Valid(got[2:]))
		}
	}
	// Every character length, every offset: the payload stays within 125 bytes, valid UTF-8, and
	// is the longest prefix of the reason that is.
	for _, ch := range []string{"a", "é", "€", "😀"} {
		for off := range 4 {
			reason := strings.Repeat("z", off) + strings.Repeat(ch, 200)
			got := AppendClosePayload(nil, CloseNormal, reason)[2:]
			if len(got) > MaxCloseReason || !utf8.Valid(got) || !strings.HasPrefix(reason, string(got)) {
				t.Fatalf("%q offset %d: %d bytes, valid %v", ch, off, len(got), utf8.Valid(got))
			}
			if len(got)+len(ch) <= MaxCloseReason {
				t.Fatalf("%q offset %d: cut %d bytes, one more character would fit", ch, off, len(got))
			}
			// Round trip.
			code, back, err := ParseClosePayload(AppendClosePayload(nil, CloseNormal, reason))
			if err != nil || code != CloseNormal || !bytes.Equal(back, got) {
				t.Fatalf("%q offset %d: round trip %d %q %v", ch, off, code, back, err)
			}
		}
	}
}

func TestClosePayloadRoundTrip(t *testing.T) {
	reasons := []string{"", "bye", "κόσμε", "\uFFFF\U0010FFFF", strings.Repeat("東", 41)}
	for c := 0; c <= 5100; c++ {
		code := CloseCode(c)
		if !ValidCloseCode(code) {
			continue
		}
		for _, r := range reasons {
			p := AppendClosePayload(nil, code, r)
			gotCode, gotReason, err := ParseClosePayload(p)
			if err != nil || gotCode != code || string(gotReason) != r {
				t.Fatalf("round trip %d %q: %d %q %v", code, r, gotCode, gotReason, err)
			}
		}
	}
	// No status: empty payload both ways.
	if code, reason, err := ParseClosePayload(AppendClosePayload(nil, CloseNoStatus, "x")); code != CloseNoStatus || reason != nil || err != nil {
		t.Fatalf("no status round trip: %d %q %v", code, reason, err)
	}
}

func FuzzClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add(rawClosePayload(1000, ""))
	f.Add(rawClosePayload(1000, "bye"))
	f.Add(rawClosePayload(1005, ""))
	f.Add(rawClosePayload(1015, ""))
	f.Add(rawClosePayload(2999, "x"))
	f.Add(rawClosePayload(4999, "κόσμε"))
	f.Add(rawClosePayload(1000, "\xed\xa0\x80"))
	f.Add(rawClosePayload(3000, strings.Repeat("€", 41)))
	f.Fuzz(func(t *testing.T, p []byte) {
		code, reason, err := ParseClosePayload(p)
		switch {
		case len(p) == 0:
			if code != CloseNoStatus || reason != nil || err != nil {
				t.Fatalf("empty: %d %q %v", code, reason, err)
			}
			return
		case len(p) == 1:
			if err != ErrCloseOneByte {
				t.Fatalf("one byte: %v", err)
			}
			return
		}
		wire := CloseCode(binary.BigEndian.Uint16(p))
		if code != wire {
			t.Fatalf("code %d, wire %d", code, wire)
		}
		switch {
		case !ValidCloseCode(wire):
			if err != ErrInvalidCloseCode || closeCodeRule(int(wire)) {
				t.Fatalf("code %d: %v", wire, err)
			}
			return
		case !utf8.Valid(p[2:]):
			if err != ErrInvalidCloseReason {
				t.Fatalf("reason %X: %v", p[2:], err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid payload %X: %v", p, err)
		}
		if !closeCodeRule(int(code)) || !utf8.Valid(reason) || !bytes.Equal(reason, p[2:]) {
			t.Fatalf("accepted %X: %d %q", p, code, reason)
		}
		if len(reason) > 0 && &reason[0] != &p[2] {
			t.Fatal("reason is a copy")
		}
		// Writing it back gives the same bytes, as long as the reason fits a control frame.
		if len(reason) <= MaxCloseReason {
			if back := AppendClosePayload(nil, code, string(reason)); !bytes.Equal(back, p) {
				t.Fatalf("append(parse(%X)) = %X", p, back)
			}
		} else if back := AppendClosePayload(nil, code, string(reason)); len(back) > 125 || !utf8.Valid(back[2:]) {
			t.Fatalf("append of a %d-byte reason: %d bytes", len(reason), len(back))
		}
	})
}

func BenchmarkParseClosePayload(b *testing.B) {
	p := rawClosePayload(1001, "server shutting down: κόσμε")
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, _, err := ParseClosePayload(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendClosePayload(b *testing.B) {
	reason := strings.Repeat("€", 50) // 150 bytes: exercises the cut
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	b.SetBytes(125)
	for b.Loop() {
		buf = AppendClosePayload(buf[:0], CloseGoingAway, reason)
	}
}
