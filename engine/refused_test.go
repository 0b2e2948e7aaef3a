package engine

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/wsloop/wsloop/codec"
)

func TestRefused(t *testing.T) {
	cases := []struct {
		name, response string
		status         int
		header         http.Header
		err            error
	}{
		{"403", "HTTP/1.1 403 Forbidden\r\nX-Reason: banned\r\nx-reason: again\r\nContent-Length: 0\r\n\r\n",
			403, http.Header{"X-Reason": {"banned", "again"}, "Content-Length": {"0"}}, codec.ErrResponseStatus},
		{"no headers", "HTTP/1.1 500 Internal Server Error\r\n\r\n", 500, http.Header{}, codec.ErrResponseStatus},
		{"bad status line", "HTTP/1.1 1x1 X\r\nA: b\r\n\r\n", 0, nil, codec.ErrResponseStatus},
		{"101 without accept", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			0, nil, codec.ErrResponseMissingHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.response)
			var resp codec.Response
			_, err := resp.Parse(buf, &codec.ClientRequest{Key: codec.NewKey(nil)})
			got := refused(err, &resp)
			clear(buf) // the error's copies outlive the input
			if !errors.Is(got, tc.err) || got.Error() != tc.err.Error() {
				t.Fatalf("error %v, want %v", got, tc.err)
			}
			var he *HandshakeError
			if !errors.As(got, &he) {
				if tc.status != 0 {
					t.Fatalf("error %v (%T) is not a *HandshakeError", got, got)
				}
				return
			}
			if tc.status == 0 || he.Status != tc.status || !reflect.DeepEqual(he.Header, tc.header) {
				t.Fatalf("status %d, headers %v; want %d, %v", he.Status, he.Header, tc.status, tc.header)
			}
		})
	}
}
