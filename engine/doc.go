// Package engine runs one WebSocket connection's life on a poller loop: handshake, open, closing,
// closed; message assembly, the send queue, timers, the close handshake (RFC 6455 section 7) and
// the mapping of errors to events.
//
// A Conn is driven by its loop (the poller.Session methods) and by any goroutine that sends. The
// layer above learns what happens through Events, whose methods run on the loop, in wire order,
// never two at once for one connection.
package engine
