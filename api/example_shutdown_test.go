package api_test

import (
	"context"
	"fmt"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// A graceful stop: ListenAndServe blocks until Shutdown, which sends every open connection a
// close frame with 1001 and waits for their closing handshakes.
func ExampleServer_Shutdown() {
	server := ws.CreateServer(nil, nil)
	listening := make(chan struct{})
	server.OnListening(func(*ws.Server) { close(listening) })
	served := make(chan error, 1)
	go func() { served <- server.ListenAndServe("127.0.0.1:0") }()
	<-listening

	c, err := ws.Dial(context.Background(), "ws://"+server.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	closed := make(chan string, 1)
	c.OnClose(func(_ *ws.Conn, code int, reason string) { closed <- fmt.Sprint(code, " ", reason) })
	c.OnText(func(*ws.Conn, string) {}) // the message handler, set last, starts the reading

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("Shutdown:", server.Shutdown(ctx))
	fmt.Println("ListenAndServe:", <-served)
	fmt.Println("client closed:", <-closed)
	// Output:
	// Shutdown: <nil>
	// ListenAndServe: websocket: server closed
	// client closed: 1001 server shutting down
}
