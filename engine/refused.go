package engine

import (
	"net/http"

	"github.com/wsloop/wsloop/codec"
)

// HandshakeError is a client's opening handshake that the server answered with a well-formed
// status line other than 101 Switching Protocols (a refusal: 403, 401, 404...). Its text is that of
// Err, nodejs-websocket's, and errors.Is(err, codec.ErrResponseStatus) holds.
type HandshakeError struct {
	Status int         // the response's status code
	Header http.Header // the response's headers (canonical names; the values of a name in order)
	Err    error       // codec.ErrResponseStatus
}

// Error returns Err's text.
func (e *HandshakeError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *HandshakeError) Unwrap() error { return e.Err }

// refused returns err, the failed check of resp, as a *HandshakeError carrying resp's status and
// headers when resp is a refusal (a well-formed status line other than 101), unchanged otherwise.
// The copies are made here: resp's bytes live only as long as the input buffer.
func refused(err error, resp *codec.Response) error {
	if err != codec.ErrResponseStatus || resp.Status == 0 {
		return err
	}
	h := make(http.Header)
	for _, l := range resp.Headers() {
		h.Add(string(l.Name), string(l.Value))
	}
	return &HandshakeError{Status: resp.Status, Header: h, Err: err}
}
