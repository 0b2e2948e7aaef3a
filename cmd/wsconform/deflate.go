package main

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// permessage-deflate (RFC 7692) as sections 12 and 13 need it: the extension's parameters, their
// negotiation checked in both directions, and a codec of the tool's own (compress/flate), kept
// apart from wsloop's so that the tool tests any peer.

const pmdName = "permessage-deflate"

// pmdParams are the parameters of one permessage-deflate offer or answer (RFC 7692 section 7.1).
type pmdParams struct {
	serverNoContext bool // server_no_context_takeover
	clientNoContext bool // client_no_context_takeover
	serverBits      int  // server_max_window_bits: 0 absent, else 8..15
	clientBits      int  // client_max_window_bits: 0 absent, -1 present without a value, else 8..15
}

// String renders p as an element of Sec-WebSocket-Extensions.
func (p pmdParams) String() string {
	parts := []string{pmdName}
	if p.serverNoContext {
		parts = append(parts, "server_no_context_takeover")
	}
	if p.clientNoContext {
		parts = append(parts, "client_no_context_takeover")
	}
	if p.serverBits > 0 {
		parts = append(parts, "server_max_window_bits="+strconv.Itoa(p.serverBits))
	}
	switch {
	case p.clientBits == -1:
		parts = append(parts, "client_max_window_bits")
	case p.clientBits > 0:
		parts = append(parts, "client_max_window_bits="+strconv.Itoa(p.clientBits))
	}
	return strings.Join(parts, "; ")
}

// offersHeader renders offers as one Sec-WebSocket-Extensions value, in preference order.
func offersHeader(offers []pmdParams) string {
	var s []string
	for _, o := range offers {
		s = append(s, o.String())
	}
	return strings.Join(s, ", ")
}

// parsePMD parses one extension element ("permessage-deflate; a; b=9") of a header already split
// at its commas. ok is false when the element names another extension. In an answer,
// client_max_window_bits must carry a value (RFC 7692 7.1.2.2).
func parsePMD(elem string, answer bool) (p pmdParams, ok bool, err error) {
	parts := strings.Split(elem, ";")
	if !strings.EqualFold(strings.TrimSpace(parts[0]), pmdName) {
		return p, false, nil
	}
	seen := map[string]bool{}
	for _, part := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return p, true, fmt.Errorf("parameter %s given twice", name)
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if hasValue {
				return p, true, fmt.Errorf("%s with a value (%q)", name, value)
			}
			if name == "server_no_context_takeover" {
				p.serverNoContext = true
			} else {
				p.clientNoContext = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			bits := -1
			if hasValue {
				n, convErr := strconv.Atoi(value)
				if convErr != nil || n < 8 || n > 15 || value[0] == '0' || value[0] == '+' {
					return p, true, fmt.Errorf("%s=%q, not a number from 8 to 15", name, value)
				}
				bits = n
			} else if name == "server_max_window_bits" || answer {
				return p, true, fmt.Errorf("%s without a value", name)
			}
			if name == "server_max_window_bits" {
				p.serverBits = bits
			} else {
				p.clientBits = bits
			}
		default:
			return p, true, fmt.Errorf("unknown parameter %q", name)
		}
	}
	return p, true, nil
}

// answers reports why ans is not a valid answer to offer (RFC 7692 section 7.1), or nil.
func (ans pmdParams) answers(offer pmdParams) error {
	switch {
	case offer.serverNoContext && !ans.serverNoContext:
		return errors.New("the offer asked for server_no_context_takeover and the answer leaves it out")
	case offer.serverBits > 0 && ans.serverBits == 0:
		return fmt.Errorf("the offer asked for server_max_window_bits=%d and the answer leaves it out", offer.serverBits)
	case offer.serverBits > 0 && ans.serverBits > offer.serverBits:
		return fmt.Errorf("server_max_window_bits=%d in the answer, above the offer's %d", ans.serverBits, offer.serverBits)
	case ans.clientBits != 0 && offer.clientBits == 0:
		return errors.New("client_max_window_bits in the answer, which the offer did not allow")
	case ans.clientBits > 0 && offer.clientBits > 0 && ans.clientBits > offer.clientBits:
		return fmt.Errorf("client_max_window_bits=%d in the answer, above the offer's %d", ans.clientBits, offer.clientBits)
	}
	return nil
}

// checkPMDAnswer judges a server's Sec-WebSocket-Extensions elements against the tool's offers:
// nil parameters and no error when it declined the extension, else the agreed parameters.
func checkPMDAnswer(elems []string, offers []pmdParams) (*pmdParams, error) {
	var found []pmdParams
	for _, e := range elems {
		p, ok, err := parsePMD(e, true)
		if !ok {
			continue // another extension: checkUpgrade judges those
		}
		if err != nil {
			return nil, fmt.Errorf("invalid answer %q: %w", e, err)
		}
		found = append(found, p)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%d permessage-deflate elements in the answer, at most one is allowed", len(found))
	}
	var first error
	for _, o := range offers {
		err := found[0].answers(o)
		if err == nil {
			return &found[0], nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, fmt.Errorf("the answer %q fits none of the offers: %w", found[0], first)
}

// pmdAnswerTo builds the tool's answer (as the server) to a client's offer from the parameters
// a case wants, within what the offer allows; notes say what the offer made it change.
func pmdAnswerTo(want, offer pmdParams) (pmdParams, []string) {
	ans := want
	var notes []string
	if offer.serverNoContext && !ans.serverNoContext {
		ans.serverNoContext = true
		notes = append(notes, "the client asked for server_no_context_takeover: the answer includes it")
	}
	if offer.serverBits > 0 && (ans.serverBits == 0 || ans.serverBits > offer.serverBits) {
		ans.serverBits = offer.serverBits
		notes = append(notes, fmt.Sprintf("the client asked for server_max_window_bits=%d: the answer says so", offer.serverBits))
	}
	switch {
	case ans.clientBits != 0 && offer.clientBits == 0:
		ans.clientBits = 0
		notes = append(notes, "the client did not offer client_max_window_bits: the answer leaves it out")
	case ans.clientBits == -1:
		ans.clientBits = 15
	}
	if offer.clientBits > 0 && ans.clientBits > offer.clientBits {
		ans.clientBits = offer.clientBits
	}
	return ans, notes
}

// pmdCodec compresses the tool's messages and inflates the peer's under agreed parameters.
type pmdCodec struct {
	params pmdParams

	outTakeover bool // the tool keeps its compression context between messages
	outBits     int  // the tool's window
	fw          *flate.Writer
	out         bytes.Buffer

	inTakeover bool // the peer keeps its context: its window carries over
	inBits     int
	window     []byte // the peer's last 2^inBits bytes, with context takeover
	fr         io.ReadCloser

	messagesIn, compressedIn int
}

// newPMDCodec returns the codec of the side the tool plays (weClient: the tool is the client).
func newPMDCodec(p pmdParams, weClient bool) *pmdCodec {
	bits := func(b int) int {
		if b <= 0 {
			return 15
		}
		return b
	}
	c := &pmdCodec{params: p}
	if weClient {
		c.outTakeover, c.outBits = !p.clientNoContext, bits(p.clientBits)
		c.inTakeover, c.inBits = !p.serverNoContext, bits(p.serverBits)
	} else {
		c.outTakeover, c.outBits = !p.serverNoContext, bits(p.serverBits)
		c.inTakeover, c.inBits = !p.clientNoContext, bits(p.clientBits)
	}
	return c
}

// compress returns p as a compressed message payload: the DEFLATE data of one sync flush without
// its final 00 00 ff ff (RFC 7692 7.2.1). compress/flate's window is 32 KiB, right for 15 bits;
// for a smaller window the tool compresses with Huffman codes only, which refer to no earlier
// byte and so fit any window.
func (c *pmdCodec) compress(p []byte) []byte {
	c.out.Reset()
	switch {
	case c.fw == nil:
		level := flate.DefaultCompression
		if c.outBits < 15 {
			level = flate.HuffmanOnly
		}
		c.fw, _ = flate.NewWriter(&c.out, level) // the level is valid: no error
	case !c.outTakeover:
		c.fw.Reset(&c.out)
	}
	c.fw.Write(p) // writes to a bytes.Buffer: no error
	c.fw.Flush()
	return bytes.Clone(bytes.TrimSuffix(c.out.Bytes(), []byte{0, 0, 0xff, 0xff}))
}

// pmdTail ends a message's data for the inflater: the sync flush's 00 00 ff ff, which the sender
// removed, then an empty final stored block so that the stream ends.
var pmdTail = []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}

// inflate returns the message p carries, at most limit bytes. With the peer's context takeover,
// the window of its earlier messages (bounded by its window bits) is the dictionary: a reference
// beyond it is corrupt data; without takeover there is none, so a peer that keeps its context
// against the agreement is caught.
func (c *pmdCodec) inflate(p []byte, limit uint64) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader(pmdTail))
	var dict []byte
	if c.inTakeover {
		dict = c.window
	}
	if c.fr == nil {
		c.fr = flate.NewReaderDict(src, dict)
	} else {
		c.fr.(flate.Resetter).Reset(src, dict) // compress/flate's readers are Resetters
	}
	out, err := io.ReadAll(io.LimitReader(c.fr, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) > limit {
		return nil, fmt.Errorf("inflates to over %d bytes", limit)
	}
	if c.inTakeover {
		c.window = append(c.window, out...)
		if n := 1 << c.inBits; len(c.window) > n {
			c.window = append(c.window[:0], c.window[len(c.window)-n:]...)
		}
	}
	return out, nil
}
