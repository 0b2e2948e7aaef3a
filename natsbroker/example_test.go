package natsbroker_test

import (
	"log"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/natsbroker"
)

// One node of three on one machine, each run with its own route port and the others' route
// URLs: the topics of the api.Server reach the subscribers of every node.
func ExampleEmbedded() {
	broker, err := natsbroker.Embedded(natsbroker.ServerOptions{
		Cluster: "127.0.0.1:6222",
		Routes:  []string{"nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"},
	}, natsbroker.Options{})
	if err != nil {
		log.Fatal(err)
	}
	server := api.CreateServer(&api.ServerOptions{Broker: broker}, func(c *api.Conn) { c.Subscribe("news") })
	log.Fatal(server.ListenAndServe("127.0.0.1:8080")) // Server.Close closes the broker and its NATS server
}

// A node that is a client of an external NATS cluster.
func ExampleConnect() {
	broker, err := natsbroker.Connect(natsbroker.Options{
		URLs:            []string{"nats://nats-1:4222", "nats://nats-2:4222"},
		CredentialsFile: "/etc/wsloop/node.creds",
	})
	if err != nil {
		log.Fatal(err)
	}
	server := api.CreateServer(&api.ServerOptions{Broker: broker}, func(c *api.Conn) { c.Subscribe("news") })
	log.Fatal(server.ListenAndServe(":8080"))
}
