// Package engine runs one WebSocket connection's life on a poller loop: handshake, open, closing,
// closed; message assembly, the send queue, timers, the close handshake and the mapping of errors to
// events.
package engine
