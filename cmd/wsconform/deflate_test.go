package main

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParsePMD(t *testing.T) {
	for _, c := range []struct {
		elem   string
		answer bool
		want   pmdParams
		ok     bool
		err    string
	}{
		{elem: "permessage-deflate", ok: true},
		{elem: "x-webkit-deflate-frame", ok: false},
		{elem: "permessage-deflate; client_max_window_bits", ok: true, want: pmdParams{clientBits: -1}},
		{elem: `Permessage-Deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits="12"`,
			ok: true, want: pmdParams{serverNoContext: true, clientNoContext: true, serverBits: 10, clientBits: 12}},
		{elem: "permessage-deflate; client_max_window_bits", answer: true, ok: true, err: "client_max_window_bits without a value"},
		{elem: "permessage-deflate; server_max_window_bits", ok: true, err: "server_max_window_bits without a value"},
		{elem: "permessage-deflate; server_max_window_bits=7", ok: true, err: "not a number from 8 to 15"},
		{elem: "permessage-deflate; server_max_window_bits=16", ok: true, err: "not a number from 8 to 15"},
		{elem: "permessage-deflate; client_max_window_bits=010", ok: true, err: "not a number from 8 to 15"},
		{elem: "permessage-deflate; server_no_context_takeover=1", ok: true, err: "with a value"},
		{elem: "permessage-deflate; server_no_context_takeover; server_no_context_takeover", ok: true, err: "given twice"},
		{elem: "permessage-deflate; mystery", ok: true, err: "unknown parameter"},
	} {
		got, ok, err := parsePMD(c.elem, c.answer)
		if ok != c.ok || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) || err == nil && got != c.want {
			t.Errorf("parsePMD(%q, %v) = %+v, %v, %v; want %+v, %v, error %q", c.elem, c.answer, got, ok, err, c.want, c.ok, c.err)
		}
	}
}

func TestCheckPMDAnswer(t *testing.T) {
	plain := []pmdParams{{}}
	for _, c := range []struct {
		name   string
		offers []pmdParams
		answer []string
		want   *pmdParams
		err    string
	}{
		{name: "declined", offers: plain, answer: nil},
		{name: "declined, another extension", offers: plain, answer: []string{"x-other"}},
		{name: "accepted plainly", offers: plain, answer: []string{"permessage-deflate"}, want: &pmdParams{}},
		{name: "server_no_context_takeover unasked", offers: plain, answer: []string{"permessage-deflate; server_no_context_takeover"},
			want: &pmdParams{serverNoContext: true}},
		{name: "server_max_window_bits unasked", offers: plain, answer: []string{"permessage-deflate; server_max_window_bits=10"},
			want: &pmdParams{serverBits: 10}},
		{name: "client_max_window_bits unoffered", offers: plain, answer: []string{"permessage-deflate; client_max_window_bits=10"},
			err: "which the offer did not allow"},
		{name: "client_max_window_bits offered", offers: []pmdParams{{clientBits: -1}},
			answer: []string{"permessage-deflate; client_max_window_bits=10"}, want: &pmdParams{clientBits: 10}},
		{name: "client_max_window_bits above the offer", offers: []pmdParams{{clientBits: 9}},
			answer: []string{"permessage-deflate; client_max_window_bits=10"}, err: "above the offer's 9"},
		{name: "server_no_context_takeover dropped", offers: []pmdParams{{serverNoContext: true}},
			answer: []string{"permessage-deflate"}, err: "leaves it out"},
		{name: "server_max_window_bits dropped", offers: []pmdParams{{serverBits: 9}},
			answer: []string{"permessage-deflate"}, err: "leaves it out"},
		{name: "server_max_window_bits above the offer", offers: []pmdParams{{serverBits: 9}},
			answer: []string{"permessage-deflate; server_max_window_bits=12"}, err: "above the offer's 9"},
		{name: "two elements", offers: plain, answer: []string{"permessage-deflate", "permessage-deflate"}, err: "at most one"},
		{name: "invalid element", offers: plain, answer: []string{"permessage-deflate; server_max_window_bits=99"}, err: "invalid answer"},
		{name: "the second offer", offers: []pmdParams{{serverBits: 9, clientBits: 9}, {clientBits: -1}},
			answer: []string{"permessage-deflate; client_max_window_bits=15"}, want: &pmdParams{clientBits: 15}},
	} {
		got, err := checkPMDAnswer(c.answer, c.offers)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case (got == nil) != (c.want == nil) || got != nil && *got != *c.want:
			t.Errorf("%s: agreed %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestPMDAnswerTo(t *testing.T) {
	for _, c := range []struct {
		want, offer, answer pmdParams
		notes               int
	}{
		{want: pmdParams{}, offer: pmdParams{clientBits: -1}, answer: pmdParams{}},
		{want: pmdParams{clientBits: -1}, offer: pmdParams{clientBits: -1}, answer: pmdParams{clientBits: 15}},
		{want: pmdParams{clientBits: 9}, offer: pmdParams{}, answer: pmdParams{}, notes: 1},
		{want: pmdParams{clientBits: 12}, offer: pmdParams{clientBits: 10}, answer: pmdParams{clientBits: 10}},
		{want: pmdParams{}, offer: pmdParams{serverNoContext: true, serverBits: 10}, answer: pmdParams{serverNoContext: true, serverBits: 10}, notes: 2},
		{want: pmdParams{serverBits: 12}, offer: pmdParams{serverBits: 10}, answer: pmdParams{serverBits: 10}, notes: 1},
		{want: pmdParams{serverBits: 8}, offer: pmdParams{serverBits: 10}, answer: pmdParams{serverBits: 8}},
	} {
		got, notes := pmdAnswerTo(c.want, c.offer)
		if got != c.answer || len(notes) != c.notes {
			t.Errorf("pmdAnswerTo(%+v, %+v) = %+v, %q; want %+v and %d notes", c.want, c.offer, got, notes, c.answer, c.notes)
		}
		if err := got.answers(c.offer); err != nil {
			t.Errorf("pmdAnswerTo(%+v, %+v) = %+v, not a valid answer: %v", c.want, c.offer, got, err)
		}
	}
}

// TestPMDCodec: the tool's messages inflate on the other side, with and without context
// takeover; a peer keeping its context against server_no_context_takeover is caught; a window
// below 15 bits gets data that refers to nothing earlier; inflation is bounded.
func TestPMDCodec(t *testing.T) {
	tr := pmdTraffic{kind: kindText, size: 4 << 10, count: 20}
	for _, p := range []pmdParams{{}, {serverNoContext: true, clientNoContext: true}, {clientBits: 9, serverBits: 9}} {
		client, server := newPMDCodec(p, true), newPMDCodec(p, false)
		total, compressedTotal := 0, 0
		for i := range tr.count {
			msg := tr.payload(i)
			data := client.compress(msg)
			total, compressedTotal = total+len(msg), compressedTotal+len(data)
			got, err := server.inflate(data, 1<<20)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: message %d: inflated %d bytes, %v", p, i, len(got), err)
			}
			back, err := client.inflate(server.compress(got), 1<<20)
			if err != nil || !bytes.Equal(back, msg) {
				t.Fatalf("%s: message %d back: inflated %d bytes, %v", p, i, len(back), err)
			}
			if p.clientBits == 9 {
				// Huffman codes only: each message inflates alone.
				if alone, err := newPMDCodec(pmdParams{serverNoContext: true, clientNoContext: true}, false).inflate(data, 1<<20); err != nil || !bytes.Equal(alone, msg) {
					t.Fatalf("%s: message %d refers to earlier data: %v", p, i, err)
				}
			}
		}
		if compressedTotal >= total {
			t.Errorf("%s: %d bytes compressed to %d", p, total, compressedTotal)
		}
	}

	// A server that keeps its context although it agreed not to.
	cheat := newPMDCodec(pmdParams{}, false)
	client := newPMDCodec(pmdParams{serverNoContext: true}, true)
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		_, err = client.inflate(cheat.compress(tr.payload(i)), 1<<20)
	}
	if err == nil {
		t.Error("a server keeping its context against server_no_context_takeover went unnoticed")
	}

	// A bomb: 1 MiB of zeros inflated under a limit of 64 KiB.
	bomb := newPMDCodec(pmdParams{}, false).compress(make([]byte, 1<<20))
	if _, err := newPMDCodec(pmdParams{}, true).inflate(bomb, 64<<10); err == nil || !strings.Contains(err.Error(), "over 65536") {
		t.Errorf("a bomb of %d bytes inflated under a 64 KiB limit: %v", len(bomb), err)
	}
	if _, err := newPMDCodec(pmdParams{}, true).inflate([]byte{0xff, 0xff, 0xff}, 1<<20); err == nil {
		t.Error("corrupt data inflated")
	}
}

// deflateKnobs make the deflate echo server of TestDeflateVerdicts misbehave.
type deflateKnobs struct {
	decline     bool   // answer without the extension, echo uncompressed
	answer      string // the Sec-WebSocket-Extensions answer instead of a valid one
	keepContext bool   // compress with context takeover whatever was agreed
	rsvOnCont   bool   // echo in two frames, RSV1 on both
}

// startDeflateServer starts an echo server speaking permessage-deflate with the tool's own codec,
// sound except where k says, and returns its address.
func startDeflateServer(t *testing.T, k deflateKnobs) string {
	return serveEach(t, func(nc net.Conn) { serveDeflate(nc, k) })
}

func serveDeflate(nc net.Conn, k deflateKnobs) {
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	h, err := readHead(nc, br, 5*time.Second)
	if err != nil {
		return
	}
	key, _ := h.get("Sec-WebSocket-Key")
	var pmd *pmdCodec
	var extra []hdr
	var offer pmdParams
	ok := false
	if elems := h.list("Sec-WebSocket-Extensions"); len(elems) > 0 {
		offer, ok, err = parsePMD(elems[0], false)
	}
	if ok && err == nil && !k.decline {
		ans, _ := pmdAnswerTo(pmdParams{}, offer)
		pmd = newPMDCodec(ans, false)
		pmd.outTakeover = pmd.outTakeover || k.keepContext
		value := ans.String()
		if k.answer != "" {
			value = k.answer
		}
		extra = []hdr{{"Sec-WebSocket-Extensions", value}}
	}
	nc.Write(response101(key, func(hs []hdr) []hdr { return append(hs, extra...) }))
	rng := newRNG()
	for {
		f, err := readFrame(br, 1<<24)
		if err != nil {
			return
		}
		switch f.op {
		case opClose:
			nc.Write(closeFrame(1000, "").encode(nil, false, rng))
			return
		case opText, opBinary:
			p := f.payload
			if f.rsv == 4 && pmd != nil {
				if p, err = pmd.inflate(p, 1<<24); err != nil {
					nc.Write(closeFrame(1007, "").encode(nil, false, rng))
					return
				}
			}
			var out []byte
			switch {
			case pmd == nil:
				out = msgFrame(f.op, p).encode(nil, false, rng)
			case k.rsvOnCont:
				data := pmd.compress(p)
				out = frame{rsv: 4, op: f.op, payload: data[:len(data)/2]}.encode(nil, false, rng)
				out = frame{fin: true, rsv: 4, op: opCont, payload: data[len(data)/2:]}.encode(out, false, rng)
			default:
				out = frame{fin: true, rsv: 4, op: f.op, payload: pmd.compress(p)}.encode(nil, false, rng)
			}
			nc.Write(out)
		}
	}
}

// TestDeflateVerdicts runs a case of section 13 with context takeover allowed and one with
// server_no_context_takeover against a sound deflate server and broken ones: exactly the right
// verdicts, with the right reasons.
func TestDeflateVerdicts(t *testing.T) {
	const cases = "13.1.2,13.2.2"
	for _, c := range []struct {
		name   string
		k      deflateKnobs
		want   []Outcome
		reason string
	}{
		{name: "sound", want: []Outcome{OK, OK}},
		{name: "declines", k: deflateKnobs{decline: true}, want: []Outcome{NonStrict, NonStrict}, reason: "declined"},
		{name: "answers what was not offered", k: deflateKnobs{answer: "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"},
			want: []Outcome{Failed, Failed}, reason: "which the offer did not allow"},
		{name: "keeps its context", k: deflateKnobs{keepContext: true}, want: []Outcome{OK, Failed}, reason: "compressed data is invalid"},
		{name: "sets RSV1 on a continuation", k: deflateKnobs{rsvOnCont: true}, want: []Outcome{Failed, Failed},
			reason: "RSV1 on a message's first frame only"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := startDeflateServer(t, c.k)
			cfg := defaultConfig()
			cfg.timeout = 2 * time.Second
			rep := runServer(t, "ws://"+addr+"/", cases, cfg)
			if len(rep.Cases) != len(c.want) {
				t.Fatalf("%d cases, want %d", len(rep.Cases), len(c.want))
			}
			for i, cr := range rep.Cases {
				if cr.Outcome != c.want[i] {
					t.Errorf("%s: %s (%s), want %s", cr.ID, cr.Outcome, cr.Reason, c.want[i])
				}
				if c.want[i] != OK && !strings.Contains(cr.Reason, c.reason) {
					t.Errorf("%s: reason %q does not say %q", cr.ID, cr.Reason, c.reason)
				}
			}
		})
	}
}
