package natsbroker_test

import (
	"context"
	"fmt"
	"net"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/natsbroker"
)

// A node with an embedded NATS server and no listener of its own (DontListen: one node alone,
// clustered with none): a publication on its topic reaches its subscribers, and would reach the
// other nodes' through NATS.
func Example() {
	broker, err := natsbroker.Embedded(natsbroker.ServerOptions{DontListen: true}, natsbroker.Options{Node: "node1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	subscribed := make(chan struct{})
	server := api.CreateServer(&api.ServerOptions{Broker: broker}, func(c *api.Conn) {
		c.Subscribe("news")
		close(subscribed)
	})
	defer server.Close(nil) // and the broker, and its NATS server
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		err = server.Serve(ln, nil)
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := api.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	texts := make(chan string, 1)
	client.OnText(func(_ *api.Conn, text string) { texts <- text })
	<-subscribed
	server.Publish("news", api.TextMessage, []byte("hello"))
	fmt.Println(broker.Node(), "subscriber got", <-texts)
	// Output: node1 subscriber got hello
}
