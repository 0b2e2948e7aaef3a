// Package codec implements RFC 6455 parsing and encoding with no I/O, no goroutines and no
// allocations.
//
// Every parser is incremental: it is handed whatever bytes have arrived so far and answers
// "need more" (n == 0, err == nil), "consumed n bytes and produced this", or a typed error. Values it
// returns are sub-slices of the input; unmasking happens in the input buffer. Feeding a stream one
// byte at a time gives exactly the same result as feeding it whole.
//
// The pieces, one file each:
//   - errors.go: the typed errors, each carrying the HTTP status or close code to answer with;
//   - request.go: the server side of the opening handshake (the client's upgrade request);
//   - response.go: the 101 response a server writes, and error responses (400, 426, 431...);
//   - client.go: the client side of the opening handshake (request writer, response parser);
//   - accept.go: Sec-WebSocket-Accept, computed without allocating;
//   - frame.go: frame headers, parsed and appended;
//   - mask.go: masking and unmasking, word-wise;
//   - utf8.go: incremental UTF-8 validation;
//   - close.go: close frame payloads.
package codec
