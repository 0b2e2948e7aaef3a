package codec

import (
	"bytes"
	"iter"
	"strings"
	"testing"
)

// lines yields the elements of header lines as Request.Extensions does: every comma-separated
// element of every line, in order.
func lines(ls ...string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, l := range ls {
			for tok, rest := NextToken([]byte(l)); len(tok) > 0; tok, rest = NextToken(rest) {
				if !yield(tok) {
					return
				}
			}
		}
	}
}

const bothReset = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

func TestNegotiateDeflate(t *testing.T) {
	takeover := DeflateConfig{ContextTakeover: true}
	tests := []struct {
		name   string
		cfg    DeflateConfig
		offers []string
		ok     bool
		answer string
		p      DeflateParams
	}{
		{"bare offer, default mode", DeflateConfig{}, []string{"permessage-deflate"}, true, bothReset,
			DeflateParams{true, true, 0, 0}},
		{"case and spaces", DeflateConfig{}, []string{"  PerMessage-Deflate ;Client_Max_Window_Bits "}, true, bothReset,
			DeflateParams{true, true, 0, 0}},
		{"server window honoured without takeover", DeflateConfig{}, []string{"permessage-deflate; server_max_window_bits=10"}, true,
			bothReset + "; server_max_window_bits=10", DeflateParams{true, true, 10, 0}},
		{"server window 15 echoed", DeflateConfig{}, []string{"permessage-deflate; server_max_window_bits=15"}, true,
			bothReset + "; server_max_window_bits=15", DeflateParams{true, true, 15, 0}},
		{"quoted value", DeflateConfig{}, []string{`permessage-deflate; server_max_window_bits="9"`}, true,
			bothReset + "; server_max_window_bits=9", DeflateParams{true, true, 9, 0}},
		{"client window without takeover", DeflateConfig{}, []string{"permessage-deflate; client_max_window_bits=10"}, true,
			bothReset + "; client_max_window_bits=10", DeflateParams{true, true, 0, 10}},
		{"takeover, bare offer: server window bounded, client reset (no client_max_window_bits offered)", takeover,
			[]string{"permessage-deflate"}, true,
			"permessage-deflate; client_no_context_takeover; server_max_window_bits=12", DeflateParams{false, true, 12, 0}},
		{"takeover, client window offered bare", takeover, []string{"permessage-deflate; client_max_window_bits"}, true,
			"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", DeflateParams{false, false, 12, 12}},
		{"takeover, smaller windows kept", takeover, []string{"permessage-deflate; client_max_window_bits=9; server_max_window_bits=8"}, true,
			"permessage-deflate; server_max_window_bits=8; client_max_window_bits=9", DeflateParams{false, false, 8, 9}},
		{"takeover, configured maximum", DeflateConfig{ContextTakeover: true, MaxWindowBits: 15},
			[]string{"permessage-deflate; client_max_window_bits"}, true, "permessage-deflate", DeflateParams{false, false, 0, 0}},
		{"takeover, offer declines both", takeover,
			[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"}, true,
			bothReset, DeflateParams{true, true, 0, 0}},
		{"unknown parameter declined, next offer taken", DeflateConfig{},
			[]string{"permessage-deflate; foo, permessage-deflate; server_max_window_bits=11"}, true,
			bothReset + "; server_max_window_bits=11", DeflateParams{true, true, 11, 0}},
		{"offers over several lines in order", DeflateConfig{},
			[]string{"x-other; a=1", "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=13, permessage-deflate"}, true,
			bothReset + "; server_max_window_bits=13", DeflateParams{true, true, 13, 0}},
		{"duplicate parameter", DeflateConfig{}, []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, false, "", DeflateParams{}},
		{"duplicate window", DeflateConfig{}, []string{"permessage-deflate; client_max_window_bits; client_max_window_bits=9"}, false, "", DeflateParams{}},
		{"value on a flag", DeflateConfig{}, []string{"permessage-deflate; client_no_context_takeover=1"}, false, "", DeflateParams{}},
		{"server window without value", DeflateConfig{}, []string{"permessage-deflate; server_max_window_bits"}, false, "", DeflateParams{}},
		{"window 7", DeflateConfig{}, []string{"permessage-deflate; server_max_window_bits=7"}, false, "", DeflateParams{}},
		{"window 16", DeflateConfig{}, []string{"permessage-deflate; client_max_window_bits=16"}, false, "", DeflateParams{}},
		{"leading zero", DeflateConfig{}, []string{"permessage-deflate; client_max_window_bits=09"}, false, "", DeflateParams{}},
		{"not a number", DeflateConfig{}, []string{"permessage-deflate; client_max_window_bits=ab"}, false, "", DeflateParams{}},
		{"other extension only", DeflateConfig{}, []string{"x-webkit-deflate-frame"}, false, "", DeflateParams{}},
		{"none", DeflateConfig{}, nil, false, "", DeflateParams{}},
	}
	for _, tt := range tests {
		p, ok := NegotiateDeflate(lines(tt.offers...), tt.cfg)
		answer := ""
		if ok {
			answer = p.Answer()
		}
		if ok != tt.ok || answer != tt.answer || p != tt.p {
			t.Errorf("%s: NegotiateDeflate(%q) = %+v, %q, %v; want %+v, %q, %v", tt.name, tt.offers, p, answer, ok, tt.p, tt.answer, tt.ok)
		}
	}
}

func TestDeflateOffer(t *testing.T) {
	if got := DeflateOffer(DeflateConfig{}); got != bothReset+"; client_max_window_bits" {
		t.Errorf("default offer %q", got)
	}
	if got := DeflateOffer(DeflateConfig{ContextTakeover: true, MaxWindowBits: 10}); got != "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10" {
		t.Errorf("takeover offer %q", got)
	}
}

func TestAcceptDeflate(t *testing.T) {
	takeover := DeflateConfig{ContextTakeover: true}
	tests := []struct {
		name    string
		cfg     DeflateConfig
		answers []string
		ok, bad bool
		p       DeflateParams
	}{
		{"declined", DeflateConfig{}, nil, false, false, DeflateParams{}},
		{"other extension ignored here", DeflateConfig{}, []string{"x-other"}, false, false, DeflateParams{}},
		{"default mode", DeflateConfig{}, []string{bothReset}, true, false, DeflateParams{true, true, 0, 0}},
		{"server without client reset is fine: the client resets anyway", DeflateConfig{},
			[]string{"permessage-deflate; server_no_context_takeover; client_max_window_bits=9"}, true, false, DeflateParams{true, true, 0, 9}},
		{"server window smaller", DeflateConfig{}, []string{bothReset + "; server_max_window_bits=10"}, true, false, DeflateParams{true, true, 10, 0}},
		{"default mode, server keeps its context", DeflateConfig{}, []string{"permessage-deflate; client_no_context_takeover"}, false, true, DeflateParams{}},
		{"takeover", takeover, []string{"permessage-deflate; server_max_window_bits=12; client_max_window_bits=11"}, true, false, DeflateParams{false, false, 12, 11}},
		{"takeover, server window missing", takeover, []string{"permessage-deflate"}, false, true, DeflateParams{}},
		{"takeover, server window larger than offered", takeover, []string{"permessage-deflate; server_max_window_bits=13"}, false, true, DeflateParams{}},
		{"takeover, client window larger than offered", takeover, []string{"permessage-deflate; server_max_window_bits=12; client_max_window_bits=13"}, false, true, DeflateParams{}},
		{"client window without value", DeflateConfig{}, []string{bothReset + "; client_max_window_bits"}, false, true, DeflateParams{}},
		{"unknown parameter", DeflateConfig{}, []string{bothReset + "; foo"}, false, true, DeflateParams{}},
		{"two answers", DeflateConfig{}, []string{bothReset, bothReset}, false, true, DeflateParams{}},
		{"bad window", DeflateConfig{}, []string{bothReset + "; server_max_window_bits=20"}, false, true, DeflateParams{}},
	}
	for _, tt := range tests {
		p, ok, err := AcceptDeflate(lines(tt.answers...), tt.cfg)
		if ok != tt.ok || (err != nil) != tt.bad || p != tt.p {
			t.Errorf("%s: AcceptDeflate(%q) = %+v, %v, %v; want %+v, %v, bad %v", tt.name, tt.answers, p, ok, err, tt.p, tt.ok, tt.bad)
		}
		if tt.bad && err != ErrResponseDeflate {
			t.Errorf("%s: error %v, want ErrResponseDeflate", tt.name, err)
		}
	}
}

// Every server answer is one the client that made the offer accepts, in both modes, and what the
// client then uses matches what the server chose.
func TestDeflateRoundTrip(t *testing.T) {
	for _, client := range []DeflateConfig{{}, {ContextTakeover: true}, {ContextTakeover: true, MaxWindowBits: 9}, {ContextTakeover: true, MaxWindowBits: 15}} {
		for _, server := range []DeflateConfig{{}, {ContextTakeover: true}, {ContextTakeover: true, MaxWindowBits: 8}, {ContextTakeover: true, MaxWindowBits: 15}} {
			sp, ok := NegotiateDeflate(lines(DeflateOffer(client)), server)
			answer := sp.Answer()
			if !ok {
				t.Fatalf("server %+v declined %q", server, DeflateOffer(client))
			}
			cp, ok, err := AcceptDeflate(lines(answer), client)
			if !ok || err != nil {
				t.Fatalf("client %+v refused %q: %v", client, answer, err)
			}
			if cp != sp {
				t.Errorf("client %+v, server %+v: client uses %+v, server %+v", client, server, cp, sp)
			}
		}
	}
}

// FuzzDeflateNegotiation checks that no offer crashes the server's negotiation, that an accepted
// offer's answer parses and never allows more than the offer did, and that the answer round-trips.
func FuzzDeflateNegotiation(f *testing.F) {
	for _, s := range []string{"permessage-deflate", bothReset, "permessage-deflate; client_max_window_bits",
		`permessage-deflate; server_max_window_bits="10", permessage-deflate`, "permessage-deflate; a=\"x;y\"; b"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, offer string, takeover bool) {
		cfg := DeflateConfig{ContextTakeover: takeover}
		p, ok := NegotiateDeflate(lines(offer), cfg)
		if !ok {
			return
		}
		answer := p.Answer()
		var chosen deflateElem
		for ext := range lines(offer) {
			if e, valid := parseDeflate(ext); valid {
				chosen = e
				break
			}
		}
		a, valid := parseDeflate([]byte(answer))
		if !valid || a.clientBitsBare {
			t.Fatalf("answer %q to %q does not parse", answer, offer)
		}
		if a.clientBits != 0 && chosen.clientBits == 0 {
			t.Fatalf("answer %q names client_max_window_bits, not offered in %q", answer, offer)
		}
		if chosen.serverBits != 0 && (a.serverBits == 0 || a.serverBits > chosen.serverBits) {
			t.Fatalf("answer %q allows a larger server window than %q", answer, offer)
		}
		if a.clientBits > chosen.clientBits {
			t.Fatalf("answer %q allows a larger client window than %q", answer, offer)
		}
		if chosen.serverNoTakeover && !a.serverNoTakeover {
			t.Fatalf("answer %q keeps the server context that %q declined", answer, offer)
		}
		if !takeover && (!p.ServerNoContextTakeover || !p.ClientNoContextTakeover) {
			t.Fatalf("default mode kept a context: %+v", p)
		}
		if strings.Contains(answer, ",") || !bytes.HasPrefix([]byte(answer), []byte(DeflateName)) {
			t.Fatalf("answer %q is not one element", answer)
		}
	})
}

func TestParseHeaderDeflate(t *testing.T) {
	tests := []struct {
		b   []byte
		err error
		rsv uint8
	}{
		{[]byte{0xc1, 0x80, 1, 2, 3, 4}, nil, 4},             // compressed text
		{[]byte{0x42, 0x80, 1, 2, 3, 4}, nil, 4},             // compressed binary, first of several
		{[]byte{0x81, 0x80, 1, 2, 3, 4}, nil, 0},             // plain text
		{[]byte{0xc0, 0x80, 1, 2, 3, 4}, ErrReservedBits, 0}, // RSV1 on a continuation
		{[]byte{0xc9, 0x80, 1, 2, 3, 4}, ErrReservedBits, 0}, // RSV1 on a ping
		{[]byte{0xa1, 0x80, 1, 2, 3, 4}, ErrReservedBits, 0}, // RSV2
		{[]byte{0xd1, 0x80, 1, 2, 3, 4}, ErrReservedBits, 0}, // RSV1 and RSV3
	}
	for _, tt := range tests {
		h, n, err := ParseHeaderDeflate(tt.b, ServerRole, 0)
		if err != tt.err || (err == nil && (n != 6 || h.Rsv != tt.rsv)) {
			t.Errorf("ParseHeaderDeflate(% x) = %+v, %d, %v; want Rsv %d, %v", tt.b, h, n, err, tt.rsv, tt.err)
		}
		if _, _, err := ParseHeader(tt.b, ServerRole, 0); (tt.b[0]&0x70 != 0) != (err == ErrReservedBits) {
			t.Errorf("ParseHeader(% x): %v", tt.b, err)
		}
	}
}
