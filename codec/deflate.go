package codec

import (
	"cmp"
	"iter"
	"strconv"
)

// The negotiation of permessage-deflate (RFC 7692 section 7): parsing offers and answers,
// choosing an answer on the server, building the offer and checking the answer on the client.

// DeflateName is the extension's name in Sec-WebSocket-Extensions.
const DeflateName = "permessage-deflate"

// Window sizes of RFC 7692 section 7.1.2, as base-2 logarithms.
const (
	MinWindowBits     = 8  // the smallest window a peer may ask for
	MaxWindowBits     = 15 // the largest, and the one used when nothing was said
	DefaultWindowBits = 12 // DeflateConfig's default maximum with context takeover: 4 KiB
)

// ErrResponseDeflate is a server's permessage-deflate answer the client's offer did not allow: an
// unknown, repeated or malformed parameter, client_max_window_bits without a value or not offered,
// a window larger than offered, a context takeover the offer declined, or two answers.
var ErrResponseDeflate = &HandshakeError{0, "Invalid handshake: invalid permessage-deflate response"}

// DeflateParams are the parameters of a negotiated permessage-deflate, as the server's answer names
// them: whether each side resets its compression context after every message, and the base-2
// logarithm of each side's LZ77 window (MinWindowBits..MaxWindowBits), 0 when the answer does not
// name it (the window is then MaxWindowBits). "Server" is the side that sends server-to-client
// messages.
type DeflateParams struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int
	ClientMaxWindowBits     int
}

// Outgoing returns, for an endpoint playing role, whether its compressor keeps its context between
// messages and the window it may use.
func (p DeflateParams) Outgoing(role Role) (takeover bool, bits int) {
	takeover, bits = !p.ServerNoContextTakeover, p.ServerMaxWindowBits
	if role == ClientRole {
		takeover, bits = !p.ClientNoContextTakeover, p.ClientMaxWindowBits
	}
	if bits == 0 {
		bits = MaxWindowBits
	}
	return takeover, bits
}

// Incoming returns, for an endpoint playing role, whether the peer's compressor keeps its context
// between messages (so that the decompressor must keep it too) and the window the peer uses.
func (p DeflateParams) Incoming(role Role) (takeover bool, bits int) {
	if role == ClientRole {
		return p.Outgoing(ServerRole)
	}
	return p.Outgoing(ClientRole)
}

// DeflateConfig is one endpoint's choice of permessage-deflate mode.
type DeflateConfig struct {
	// ContextTakeover keeps each direction's compression context (its sliding window) between
	// messages where the peer allows it. False, the default, resets both directions after every
	// message: the server answers, and the client offers, server_no_context_takeover and
	// client_no_context_takeover, and a connection holds no compression state.
	ContextTakeover bool
	// MaxWindowBits bounds the windows kept with context takeover (MinWindowBits..MaxWindowBits;
	// 0 means DefaultWindowBits, 12: 4 KiB per direction).
	MaxWindowBits int
}

// windowBits returns the configured maximum window.
func (c DeflateConfig) windowBits() int {
	if c.MaxWindowBits == 0 {
		return DefaultWindowBits
	}
	return min(max(c.MaxWindowBits, MinWindowBits), MaxWindowBits)
}

// deflateElem is one parsed permessage-deflate element; a window of 0 is a parameter absent.
type deflateElem struct {
	serverNoTakeover, clientNoTakeover bool
	serverBits, clientBits             int
	clientBitsBare                     bool // client_max_window_bits without a value
}

// parseDeflate parses one extension element ("permessage-deflate; a; b=1"). ok is false when it
// does not name permessage-deflate or breaks a rule of RFC 7692 section 7: an unknown or repeated
// parameter, a value where none is allowed, a missing value for server_max_window_bits, or a window
// outside 8..15. Values may be quoted (RFC 7230 quoted-string).
func parseDeflate(ext []byte) (e deflateElem, ok bool) {
	name, rest := cutParam(ext)
	if !equalFold(name, DeflateName) {
		return e, false
	}
	var seen [4]bool
	for len(rest) > 0 {
		var param []byte
		param, rest = cutParam(rest)
		key, value, hasValue := cutValue(param)
		var i int
		switch {
		case equalFold(key, "server_no_context_takeover"):
			i, e.serverNoTakeover = 0, true
			ok = !hasValue
		case equalFold(key, "client_no_context_takeover"):
			i, e.clientNoTakeover = 1, true
			ok = !hasValue
		case equalFold(key, "server_max_window_bits"):
			i = 2
			e.serverBits, ok = windowValue(value)
			ok = ok && hasValue
		case equalFold(key, "client_max_window_bits"):
			i = 3
			e.clientBits, ok, e.clientBitsBare = MaxWindowBits, true, !hasValue
			if hasValue {
				e.clientBits, ok = windowValue(value)
			}
		default:
			return e, false
		}
		if !ok || seen[i] {
			return e, false
		}
		seen[i] = true
	}
	return e, true
}

// cutParam returns the element's part before the first ';' outside quotes, trimmed, and what
// follows it.
func cutParam(b []byte) (param, rest []byte) {
	quoted := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ';' && !quoted:
			return trimOWS(b[:i]), b[i+1:]
		}
	}
	return trimOWS(b), nil
}

// cutValue splits "key=value" (spaces allowed around '='), unquoting a quoted value.
func cutValue(param []byte) (key, value []byte, hasValue bool) {
	for i, c := range param {
		if c == '=' {
			key, value = trimOWS(param[:i]), trimOWS(param[i+1:])
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1] // a window value never needs an escape
			}
			return key, value, true
		}
	}
	return param, nil, false
}

// windowValue parses a window size: one or two digits, 8..15, with no leading zero.
func windowValue(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < MinWindowBits || n > MaxWindowBits {
		return 0, false
	}
	return n, true
}

// NegotiateDeflate chooses the server's answer to the offers a client made (each element of its
// Sec-WebSocket-Extensions lines, in order, as Request.Extensions yields them). The first valid
// permessage-deflate offer is accepted; invalid ones are declined. ok is false when none was
// acceptable. The answer to send back is p.Answer(), and it never holds what the offer did not
// allow: client_max_window_bits only when offered, no window larger than offered.
//
// Without cfg.ContextTakeover both directions are reset after every message. With it, the server
// keeps its context unless the offer asked server_no_context_takeover, with a window of at most
// cfg's maximum; the client keeps its context only when it offered client_max_window_bits (so that
// its window can be bounded to the maximum) and did not offer client_no_context_takeover.
func NegotiateDeflate(offers iter.Seq[[]byte], cfg DeflateConfig) (p DeflateParams, ok bool) {
	for ext := range offers {
		e, valid := parseDeflate(ext)
		if !valid {
			continue
		}
		p = DeflateParams{
			ServerNoContextTakeover: !cfg.ContextTakeover || e.serverNoTakeover,
			ClientNoContextTakeover: !cfg.ContextTakeover || e.clientNoTakeover || e.clientBits == 0,
			ServerMaxWindowBits:     e.serverBits,
		}
		if !p.ServerNoContextTakeover && cmp.Or(e.serverBits, MaxWindowBits) > cfg.windowBits() {
			p.ServerMaxWindowBits = cfg.windowBits() // allowed even when not offered (section 7.1.2.1)
		}
		if e.clientBits < MaxWindowBits {
			p.ClientMaxWindowBits = e.clientBits
		}
		if e.clientBits != 0 && !p.ClientNoContextTakeover && e.clientBits > cfg.windowBits() {
			p.ClientMaxWindowBits = cfg.windowBits()
		}
		return p, true
	}
	return DeflateParams{}, false
}

// Answer returns p as the permessage-deflate element of a Sec-WebSocket-Extensions header.
func (p DeflateParams) Answer() string { return string(p.AppendAnswer(nil)) }

// AppendAnswer appends p as the permessage-deflate element of a Sec-WebSocket-Extensions header.
func (p DeflateParams) AppendAnswer(dst []byte) []byte {
	dst = append(dst, DeflateName...)
	if p.ServerNoContextTakeover {
		dst = append(dst, "; server_no_context_takeover"...)
	}
	if p.ClientNoContextTakeover {
		dst = append(dst, "; client_no_context_takeover"...)
	}
	if p.ServerMaxWindowBits != 0 {
		dst = strconv.AppendInt(append(dst, "; server_max_window_bits="...), int64(p.ServerMaxWindowBits), 10)
	}
	if p.ClientMaxWindowBits != 0 {
		dst = strconv.AppendInt(append(dst, "; client_max_window_bits="...), int64(p.ClientMaxWindowBits), 10)
	}
	return dst
}

// DeflateOffer returns the permessage-deflate element a client with cfg offers. It always offers
// client_max_window_bits (the client honours any window the server asks of it). Without
// cfg.ContextTakeover it asks both directions to be reset after every message; with it, it bounds
// the server's window to cfg's maximum, so that the client keeps at most that much per direction.
func DeflateOffer(cfg DeflateConfig) string {
	if !cfg.ContextTakeover {
		return DeflateName + "; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"
	}
	return DeflateName + "; server_max_window_bits=" + strconv.Itoa(cfg.windowBits()) +
		"; client_max_window_bits=" + strconv.Itoa(cfg.windowBits())
}

// AcceptDeflate checks the server's answer (the elements of its Sec-WebSocket-Extensions lines, as
// Response.Extensions yields them) against the offer DeflateOffer(cfg) made. ok is false when the
// server declined permessage-deflate. err is ErrResponseDeflate when the answer is one the offer
// did not allow (see its text); the connection must then fail.
func AcceptDeflate(answers iter.Seq[[]byte], cfg DeflateConfig) (p DeflateParams, ok bool, err error) {
	for ext := range answers {
		if !equalFold(extensionName(ext), DeflateName) {
			continue
		}
		e, valid := parseDeflate(ext)
		if !valid || ok || e.clientBitsBare {
			return DeflateParams{}, false, ErrResponseDeflate
		}
		ok = true
		p = DeflateParams{
			ServerNoContextTakeover: e.serverNoTakeover,
			ClientNoContextTakeover: e.clientNoTakeover || !cfg.ContextTakeover,
			ServerMaxWindowBits:     e.serverBits,
			ClientMaxWindowBits:     e.clientBits,
		}
		if cfg.ContextTakeover {
			if e.serverBits == 0 || e.serverBits > cfg.windowBits() || e.clientBits > cfg.windowBits() {
				return DeflateParams{}, false, ErrResponseDeflate
			}
		} else if !e.serverNoTakeover {
			return DeflateParams{}, false, ErrResponseDeflate
		}
	}
	return p, ok, nil
}

// ErrInvalidDeflate is a compressed message whose data is not valid DEFLATE (RFC 1951); it closes
// with 1007, as invalid UTF-8 does: the payload is not consistent with the message's type.
var ErrInvalidDeflate = &ProtocolError{CloseInvalidPayload, "invalid compressed data in a message"}
