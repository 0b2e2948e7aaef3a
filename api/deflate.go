package api

import (
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/engine"
)

// DeflateOptions enables permessage-deflate (RFC 7692), the compression every browser offers, on a
// server (ServerOptions.Deflate) or a client (ClientOptions.Deflate). Off by default: a nil pointer
// compresses nothing. A server accepts the first valid offer of a client; a client offers it and
// fails a connection whose server answers with what the offer did not allow.
//
// The zero value is the default mode, no context takeover: every message is compressed on its own
// (the server answers, and the client offers, server_no_context_takeover and
// client_no_context_takeover), so a connection holds no compression state at all; compressors are
// shared and reset per message, and a prepared message (Broadcast, Publish) is compressed once for
// all such connections.
type DeflateOptions struct {
	// ContextTakeover keeps each direction's sliding window between messages where the peer allows
	// it, so that repetitive messages (JSON of the same shape) compress better, at the cost of the
	// windows per connection: 2^MaxWindowBits bytes each way. A prepared message is then compressed
	// per connection, as RFC 7692 requires.
	ContextTakeover bool
	// MaxWindowBits bounds the windows kept with ContextTakeover, 8 to 15 (0: 12, 4 KiB each way).
	MaxWindowBits int
	// Threshold is the size below which a message is sent uncompressed (0: 512 bytes).
	Threshold int
	// Level is the compression level, 1 (fastest) to 9 (smallest), used with the full 32 KiB window
	// (0: 1). A smaller window negotiated with the peer uses a windowed encoder of fixed level.
	Level int
}

// engineConfig returns the engine's form of o, nil when o is nil.
func (o *DeflateOptions) engineConfig() *engine.DeflateConfig {
	if o == nil {
		return nil
	}
	return &engine.DeflateConfig{
		DeflateConfig: codec.DeflateConfig{ContextTakeover: o.ContextTakeover, MaxWindowBits: o.MaxWindowBits},
		Threshold:     o.Threshold,
		Level:         o.Level,
	}
}
