package natsbroker

import (
	"encoding/binary"
	"errors"

	"github.com/wsloop/wsloop/api"
)

// A message on the wire is a fixed prefix, then the payload:
//
//	byte 0      frameVersion
//	byte 1      the api.MessageType
//	bytes 2-9   the sequence number, big-endian
//	byte 10     n, the length of the node id
//	bytes 11... the node id (n bytes), then the payload
//
// The prefix is built once per broker (frameHeader) and only the sequence changes per message.
const (
	frameVersion = 1
	frameFixed   = 11
	// MaxNodeID is the longest node id, in bytes.
	MaxNodeID = 255
)

// errBadFrame says that a NATS message is not one of this package's.
var errBadFrame = errors.New("natsbroker: not a broker message")

// frameHeader returns the prefix of node's messages with the type and sequence left zero.
func frameHeader(node string) []byte {
	h := make([]byte, frameFixed+len(node))
	h[0] = frameVersion
	h[10] = byte(len(node))
	copy(h[frameFixed:], node)
	return h
}

// setFrame writes the type and the sequence into a frame that starts with a frameHeader.
func setFrame(f []byte, typ api.MessageType, seq uint64) {
	f[1] = byte(typ)
	binary.BigEndian.PutUint64(f[2:10], seq)
}

// parseFrame splits a message into its type, sequence, node id and payload; node and payload
// alias data.
func parseFrame(data []byte) (typ api.MessageType, seq uint64, node, payload []byte, err error) {
	if len(data) < frameFixed || data[0] != frameVersion {
		return 0, 0, nil, nil, errBadFrame
	}
	end := frameFixed + int(data[10])
	if end > len(data) {
		return 0, 0, nil, nil, errBadFrame
	}
	typ = api.MessageType(data[1])
	if typ != api.TextMessage && typ != api.BinaryMessage {
		return 0, 0, nil, nil, errBadFrame
	}
	return typ, binary.BigEndian.Uint64(data[2:10]), data[frameFixed:end], data[end:], nil
}
