package codec

import "encoding/binary"

// MaxCloseReason is the longest close reason that fits in a close frame: a control frame carries at
// most 125 bytes of payload (RFC 6455 section 5.5), two of which are the status code.
const MaxCloseReason = 123

// ValidCloseCode reports whether code may appear in a close frame on the wire (RFC 6455 sections
// 7.4.1 and 7.4.2): 1000–1003 and 1007–1011, defined by the RFC; 1012 (service restart), 1013 (try
// again later) and 1014 (bad gateway), registered with IANA since; 3000–3999, registered with IANA;
// 4000–4999, for private use. Everything else is invalid: 1004 (reserved), 1005, 1006 and 1015
// (reserved for reporting, never sent), 1016–2999 (unassigned in the RFC's range), below 1000 and
// from 5000 up. It is the check applied both to received close frames and to the codes an
// application passes to Close.
func ValidCloseCode(code CloseCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClosePayload parses the payload of a close frame (RFC 6455 section 5.5.1), already unmasked.
//
// An empty payload carries no status: the result is CloseNoStatus (1005), a nil reason and no
// error. Otherwise the payload is a big-endian status code followed by a UTF-8 reason, which is
// returned as a sub-slice of p (empty, not nil, when the payload is just the code). The errors are
// ErrCloseOneByte for a one-byte payload, ErrInvalidCloseCode for a code ValidCloseCode rejects and
// ErrInvalidCloseReason (close code 1007) for a reason that is not valid UTF-8. On ErrInvalidCloseCode
// and ErrInvalidCloseReason, code is the code found in the payload, for logging; reason is nil.
//
// The length limit of control frames is the frame parser's business; ParseClosePayload accepts
// any length.
func ParseClosePayload(p []byte) (code CloseCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, ErrCloseOneByte
	}
	code = CloseCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return code, nil, ErrInvalidCloseCode
	}
	reason = p[2:]
	if !ValidUTF8(reason) {
		return code, nil, ErrInvalidCloseReason
	}
	return code, reason, nil
}

// AppendClosePayload appends the payload of a close frame to dst: code in big-endian order, then
// reason. A reason longer than MaxCloseReason bytes is cut at the last character boundary at or
// before that length, so the payload never exceeds 125 bytes and never ends inside a character.
// Code CloseNoStatus means a close frame without a status: nothing is appended and reason is
// ignored.
//
// AppendClosePayload writes the code it is given; callers check codes that come from the
// application with ValidCloseCode first. reason is expected to be valid UTF-8 (ValidUTF8 checks
// it); the cut only looks at the bytes around the cut point. Nothing is allocated beyond growing
// dst.
func AppendClosePayload(dst []byte, code CloseCode, reason string) []byte {
	if code == CloseNoStatus {
		return dst
	}
	if len(reason) > MaxCloseReason {
		cut := MaxCloseReason
		// Back up over continuation bytes (10xxxxxx) to the start of the character that would
		// be split; a valid character has at most 3 of them.
		for i := 0; i < 3 && cut > 0 && reason[cut]&0xC0 == 0x80; i++ {
			cut--
		}
		reason = reason[:cut]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}
