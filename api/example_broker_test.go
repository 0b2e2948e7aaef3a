package api_test

import (
	"context"
	"fmt"
	"maps"
	"sync"

	ws "github.com/wsloop/wsloop/api"
)

// hub links the servers of one process, a broker in miniature: what a node publishes goes to
// every other node. A real one (natsbroker) joins topics, sends them over the network from
// goroutines of its own and numbers the publications; this one delivers at once, to all.
type hub struct {
	mu    sync.Mutex
	sinks map[*hubNode]ws.BrokerSink
}

// hubNode is one server's Broker on a hub.
type hubNode struct{ h *hub }

func (n *hubNode) Open(sink ws.BrokerSink) error {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	n.h.sinks[n] = sink
	return nil
}

func (n *hubNode) Join(string)  {}
func (n *hubNode) Leave(string) {}
func (n *hubNode) Close() error { return nil }

// Publish delivers to the other nodes under no lock of the hub, which Publish itself waits for.
func (n *hubNode) Publish(topic string, typ ws.MessageType, payload []byte) error {
	n.h.mu.Lock()
	sinks := maps.Clone(n.h.sinks)
	n.h.mu.Unlock()
	delete(sinks, n) // a node never gets its own publications back
	for _, sink := range sinks {
		sink.Deliver(ws.BrokerMessage{Topic: topic, Type: typ, Payload: payload})
	}
	return nil
}

// Two servers linked by a broker: a message published on one reaches the subscribers of both.
func ExampleBroker() {
	h := &hub{sinks: map[*hubNode]ws.BrokerSink{}}
	var got []chan string
	var servers []*ws.Server
	for _, name := range []string{"east", "west"} {
		subscribed := make(chan struct{})
		server := ws.CreateServer(&ws.ServerOptions{Broker: &hubNode{h}}, func(c *ws.Conn) {
			c.Subscribe("news")
			close(subscribed)
		})
		defer server.Close(nil)
		client, err := ws.Dial(context.Background(), "ws://"+serveLocally(server)+"/", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer client.Close(1000, "")
		texts := make(chan string, 1)
		client.OnText(func(_ *ws.Conn, text string) { texts <- name + " got " + text })
		<-subscribed
		got, servers = append(got, texts), append(servers, server)
	}
	servers[0].Publish("news", ws.TextMessage, []byte("hello from east"))
	fmt.Println(<-got[0])
	fmt.Println(<-got[1])
	// Output:
	// east got hello from east
	// west got hello from east
}
