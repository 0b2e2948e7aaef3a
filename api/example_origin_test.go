package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	ws "github.com/wsloop/wsloop/api"
)

// The Origin check: a browser page of another site is refused with 403 before any handshake hook
// runs, unless OriginPatterns allows its host; clients that send no Origin (not browsers) pass.
func ExampleServerOptions_originPatterns() {
	server := ws.CreateServer(&ws.ServerOptions{OriginPatterns: []string{"app.example.com"}}, nil)
	addr := serveLocally(server)
	defer server.Close(nil)

	for _, origin := range []string{"https://app.example.com", "https://evil.example", ""} {
		opts := &ws.ClientOptions{}
		if origin != "" {
			opts.ExtraHeaders = http.Header{"Origin": {origin}}
		}
		c, err := ws.Dial(context.Background(), "ws://"+addr+"/", opts)
		var refused *ws.HandshakeError
		switch {
		case errors.As(err, &refused):
			fmt.Printf("%q: refused with %d\n", origin, refused.Status)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%q: open\n", origin)
			c.Close(1000, "")
		}
	}
	// Output:
	// "https://app.example.com": open
	// "https://evil.example": refused with 403
	// "": open
}
