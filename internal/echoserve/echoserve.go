// Package echoserve is what cmd/echo serves, for the programs that serve it too
// (natsbroker/cmd/wsnode): the echo of every message, the broadcast among the connections on
// /broadcast through one topic, and GET /stats.
package echoserve

import (
	"encoding/json"
	"net/http"
	"runtime"

	ws "github.com/wsloop/wsloop/api"
)

// BroadcastTopic is the topic of the connections on /broadcast: a message one of them sends is
// published to it, framed once for all of them, the sender included.
const BroadcastTopic = "broadcast"

// Echo sends a message back with its type.
func Echo(c *ws.Conn, typ ws.MessageType, payload []byte) { c.SendMessage(typ, payload, nil) }

// JoinBroadcast subscribes c to BroadcastTopic (it leaves when it closes) and publishes there
// every message it sends.
func JoinBroadcast(c *ws.Conn) {
	c.Subscribe(BroadcastTopic)
	c.OnMessage(publish)
}

// publish publishes a message of c to BroadcastTopic on c's server.
func publish(c *ws.Conn, typ ws.MessageType, payload []byte) {
	c.Server().Publish(BroadcastTopic, typ, payload)
}

// Connections counts srv's open connections.
func Connections(srv *ws.Server) int {
	n := 0
	for range srv.Connections() {
		n++
	}
	return n
}

// Stats serves GET /stats: a JSON object with the process's heap_bytes, stack_bytes and
// goroutines, the connections counted by connections (nil when extra sets them), and what extra
// adds, if not nil. With ?gc=1 the process collects garbage first, so that the heap it reports is
// what is live (loadgen idle -gc).
func Stats(connections func() int, extra func(fields map[string]any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
			runtime.GC() // what sync.Pools dropped at the first survives it in their victim caches
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fields := map[string]any{
			"heap_bytes":  m.HeapInuse,
			"stack_bytes": m.StackInuse,
			"goroutines":  runtime.NumGoroutine(),
		}
		if connections != nil {
			fields["connections"] = connections()
		}
		if extra != nil {
			extra(fields)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(fields)
	}
}
