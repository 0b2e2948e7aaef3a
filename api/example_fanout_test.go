package api_test

import (
	"fmt"

	ws "github.com/wsloop/wsloop/api"
)

// A topic, as in uWebSockets: every connection subscribes when it opens, and one Publish reaches
// all of them, framed once.
func ExampleServer_Publish() {
	server := ws.CreateServer(nil, func(c *ws.Conn) { c.Subscribe("news") })
	addr := serveLocally(server)
	defer server.Close(nil)

	got := make(chan string)
	joined := make(chan struct{})
	client, err := ws.Connect("ws://"+addr+"/", nil, func(c *ws.Conn) {
		c.OnText(func(_ *ws.Conn, text string) { got <- text })
		close(joined) // the server's connection handler, which subscribed, ran before its 101
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	<-joined
	fmt.Println("subscribers:", server.Subscribers("news"))
	server.Publish("news", ws.TextMessage, []byte("hello, subscribers"))
	fmt.Println(<-got)

	pm, _ := ws.NewPreparedMessage(ws.TextMessage, []byte("to everyone"))
	server.Broadcast(pm) // every open connection, subscribed or not
	pm.Release()
	fmt.Println(<-got)
	// Output:
	// subscribers: 1
	// hello, subscribers
	// to everyone
}
