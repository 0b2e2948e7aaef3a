package codec

import (
	"crypto/sha1"
	"encoding/base64"
)

// acceptGUID is the fixed string RFC 6455 section 1.3 appends to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptLen is the length of a Sec-WebSocket-Accept value: base64 of a 20-byte SHA-1 digest.
const AcceptLen = 28

// AppendAccept appends the Sec-WebSocket-Accept value for key, base64(SHA-1(key + GUID)), to dst.
// It allocates nothing beyond growing dst. Keys longer than 64 bytes are hashed all the same.
func AppendAccept(dst, key []byte) []byte {
	var digest [sha1.Size]byte
	if len(key) <= 64 {
		var buf [64 + len(acceptGUID)]byte
		n := copy(buf[:], key)
		n += copy(buf[n:], acceptGUID)
		digest = sha1.Sum(buf[:n])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(acceptGUID))
		h.Sum(digest[:0])
	}
	var out [AcceptLen]byte
	base64.StdEncoding.Encode(out[:], digest[:])
	return append(dst, out[:]...)
}

// CheckAccept reports whether accept is the right Sec-WebSocket-Accept value for key.
func CheckAccept(key, accept []byte) bool {
	if len(accept) != AcceptLen {
		return false
	}
	var buf [AcceptLen]byte
	want := AppendAccept(buf[:0], key)
	return string(want) == string(accept)
}
