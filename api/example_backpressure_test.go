package api_test

import (
	"context"
	"errors"
	"fmt"

	ws "github.com/wsloop/wsloop/api"
)

// Backpressure: a client that does not read fills the connection's send queue, a send is refused
// with ErrQueueFull, and OnDrain tells the server when to resume, once the client reads again.
func ExampleConn_OnDrain() {
	conns := make(chan *ws.Conn, 1)
	drained := make(chan struct{}, 1)
	server := ws.CreateServer(&ws.ServerOptions{MaxQueuedBytes: 256 << 10}, func(c *ws.Conn) {
		c.OnDrain(func(*ws.Conn) { drained <- struct{}{} })
		conns <- c
	})
	addr := serveLocally(server)
	defer server.Close(nil)

	// No message handler yet: the client reads nothing, so what the server sends piles up.
	client, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	c := <-conns
	chunk := make([]byte, 64<<10)
	sent := 0
	for range 100_000 { // bounded; the kernel's buffers and the queue fill long before
		err = c.SendBinary(chunk, nil)
		if err != nil {
			break
		}
		sent++
	}
	fmt.Println("refused with ErrQueueFull:", errors.Is(err, ws.ErrQueueFull))

	received := make(chan int, 1)
	n := 0
	client.OnMessage(func(_ *ws.Conn, typ ws.MessageType, payload []byte) {
		if typ == ws.TextMessage { // the server's last word
			received <- n
			return
		}
		n++
	})
	<-drained
	fmt.Println("drained")
	c.SendText("done", nil)
	fmt.Println("every message arrived:", <-received == sent)
	// Output:
	// refused with ErrQueueFull: true
	// drained
	// every message arrived: true
}
