package api_test

import (
	"context"
	"fmt"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// Dial returns the connection once it is open. What the server sent right behind its 101 is not
// lost: the connection reads nothing until its message handler is set.
func ExampleDial() {
	server := ws.CreateServer(nil, func(c *ws.Conn) { c.SendText("welcome", nil) })
	addr := serveLocally(server)
	defer server.Close(nil)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // bounds dial and handshake
	defer cancel()
	c, err := ws.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(1000, "")
	fmt.Println("open:", c.ReadyState() == ws.Open)
	got := make(chan string, 1)
	c.OnText(func(_ *ws.Conn, text string) { got <- text })
	fmt.Println(<-got)
	// Output:
	// open: true
	// welcome
}
