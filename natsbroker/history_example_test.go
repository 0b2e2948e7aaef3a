package natsbroker_test

import (
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/natsbroker"
)

// A node with history on JetStream: each topic keeps its last 1000 publications for an hour, a
// client receives each one as "<number> <payload>", and a client that reconnects to
// /news?after=<the last number it saw> receives what it missed, then the live ones, or "gone"
// if the history no longer reaches back that far (it may then reconnect with after=0 for all
// that is kept).
func ExampleHistory() {
	broker, err := natsbroker.Embedded(natsbroker.ServerOptions{
		JetStream: &natsbroker.JetStreamOptions{StoreDir: "/var/lib/wsloop/jetstream"},
	}, natsbroker.Options{History: &natsbroker.History{Count: 1000, Age: time.Hour}})
	if err != nil {
		log.Fatal(err)
	}
	server := api.CreateServer(&api.ServerOptions{
		Broker: broker,
		SequencedPayload: func(_ string, seq uint64, payload []byte) []byte {
			return fmt.Appendf(nil, "%d %s", seq, payload)
		},
	}, func(c *api.Conn) {
		_, query, _ := strings.Cut(c.Path(), "?after=")
		after, _ := strconv.ParseUint(query, 10, 64)
		c.SubscribeFrom("news", after, func(err error) {
			if errors.Is(err, api.ErrHistoryGone) {
				c.SendText("gone", nil)
			}
		})
	})
	log.Fatal(server.ListenAndServe("127.0.0.1:8080"))
}
