//go:build !wsloop_nolinkname

// Connections are hosted only on the accept4 path, which a build with wsloop_nolinkname leaves
// out.

package api

import (
	"testing"

	"github.com/wsloop/wsloop/internal/wstest"
)

// A plain server connection accepted with accept4 is a hostedConn: it keeps no addresses of its
// own (no allocation for them) and gives its Slot's, the client's and the listener's.
func TestHostedConnAddresses(t *testing.T) {
	wstest.CheckLeaks(t)
	s, p, c := serverConn(t, nil)
	if c.addr.Load() != nil {
		t.Fatal("the connection keeps an addresses pair of its own: it is not a hostedConn")
	}
	if got, want := c.RemoteAddr().String(), p.Conn.LocalAddr().String(); got != want {
		t.Errorf("RemoteAddr %s, want the client's %s", got, want)
	}
	if got, want := c.LocalAddr().String(), s.Addr().String(); got != want {
		t.Errorf("LocalAddr %s, want the listener's %s", got, want)
	}
}
