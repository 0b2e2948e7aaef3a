package engine

import (
	"time"

	"github.com/wsloop/wsloop/codec"
)

// Defaults of Config fields left zero.
const (
	DefaultMaxMessage       = 2 << 20 // nodejs-websocket's maxBufferLength
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultMaxHead          = 8 << 10
	DefaultMaxQueue         = 16 << 20
)

// Config holds the settings shared by the connections of one server or client. It must not change
// once a connection uses it.
type Config struct {
	// AnswerOnAccept says that the server's Events.Handshake runs no code of the user's, so that
	// a request that arrived with its socket may be answered on the accepting goroutine
	// (OnAccepted).
	AnswerOnAccept bool
	// Role says which end of the connection this is: codec.ServerRole or codec.ClientRole.
	Role codec.Role
	// MaxMessage caps a frame's declared length and a message's running size; past it the
	// connection is closed with 1009.
	MaxMessage int64
	// HandshakeTimeout bounds the opening handshake, counted from the connection's open.
	HandshakeTimeout time.Duration
	// CloseTimeout bounds the closing handshake: how long a close we started waits for the reply,
	// and how long queued output may take to drain before the socket is closed regardless.
	CloseTimeout time.Duration
	// MaxHead caps the size of the handshake's HTTP head.
	MaxHead int
	// MaxQueue caps the bytes a connection may hold queued for sending and not yet taken by the
	// kernel, so that a slow or dead peer cannot pin memory. A data send that would pass it is
	// refused with ErrQueueFull, or, with CloseSlow, ends the connection. Control frames are never
	// refused.
	MaxQueue int64
	// CloseSlow makes a send past MaxQueue end the connection (error ErrQueueFull, then close)
	// instead of refusing the message.
	CloseSlow bool
	// Counters, when set, count refusals, slow closes, pings and closes by code (see Counters).
	Counters *Counters
	// PingInterval, when nonzero, sends a ping once nothing was received from the peer for that
	// long (the first ping of a connection comes earlier, at a point of the first interval chosen
	// per connection, so that connections opened together do not ping together).
	PingInterval time.Duration
	// PongTimeout, when nonzero with PingInterval, ends a connection from which nothing (a pong or
	// any other byte) arrived within that long after a ping was due: Error with ErrPongTimeout,
	// then Closed with 1006, at once. So a peer that vanishes is closed within PingInterval +
	// PongTimeout of its last byte, plus the wheel's lateness (under one poller.Tick).
	PongTimeout time.Duration
	// IdleTimeout, when nonzero, closes a connection from which nothing arrived for that long:
	// Error with ErrIdleTimeout, then a close handshake with 1001 bounded by CloseTimeout. Only
	// what the peer sends counts (our own sends reach the kernel even when the peer is gone), a
	// pong included, so a peer that answers PingInterval's pings is never idle. While the input is
	// paused the peer counts as heard.
	IdleTimeout time.Duration
	// Deflate, when not nil, enables permessage-deflate (RFC 7692): a server accepts a client's
	// offer, a client offers it (see DeflateConfig and deflate.go).
	Deflate *DeflateConfig
}

func (c *Config) maxQueue() int64 {
	if c.MaxQueue > 0 {
		return c.MaxQueue
	}
	return DefaultMaxQueue
}

func (c *Config) maxMessage() int64 {
	if c.MaxMessage > 0 {
		return c.MaxMessage
	}
	return DefaultMaxMessage
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout > 0 {
		return c.HandshakeTimeout
	}
	return DefaultHandshakeTimeout
}

func (c *Config) closeTimeout() time.Duration {
	if c.CloseTimeout > 0 {
		return c.CloseTimeout
	}
	return DefaultCloseTimeout
}

func (c *Config) maxHead() int {
	if c.MaxHead > 0 {
		return c.MaxHead
	}
	return DefaultMaxHead
}
