// Package poller runs the I/O loops: one gnet v2 engine that carries every plain TCP connection,
// accepted or dialed, and a crypto/tls path for secure connections. It is the only package that
// imports gnet.
package poller
