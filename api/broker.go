package api

// A Broker carries topic publications between the nodes of a service, so that a message published
// on any node reaches the subscribers of its topic on every node. Set one in
// ServerOptions.Broker; without one, topics stay in the process. The module
// github.com/wsloop/wsloop/natsbroker implements it on NATS.
//
// The server keeps reference-counted interest: it calls Join when a topic gets its first local
// subscriber and Leave when its last one leaves. What a node publishes (Server.Publish,
// Server.PublishPrepared) is delivered to its own subscribers at once, never waiting on the
// broker, and handed to Publish for the other nodes. The broker must not hand a node's own
// publications back to it. What other nodes publish arrives through BrokerSink.Deliver, and the
// server makes one prepared message of it for all its subscribers: encoded once, compressed once.
//
// Join, Leave and Publish are called from any goroutine and must not block on the network: a
// broker queues interest and publications and sends them on its own goroutines, and keeps its
// interest across reconnects, reporting what may have been lost as a BrokerGap. The server calls
// Join and Leave one at a time, in the order of its changes of interest, under a lock that Deliver
// may wait for; it calls Publish concurrently, under a lock that Server.Close waits for. So a
// broker calls its sink neither from within its own methods nor while holding a lock they wait
// on: it delivers from a goroutine of its own, as messages arrive from the network.
type Broker interface {
	// Open starts the broker for one server, which hands it the sink for what other nodes
	// publish. CreateServer calls it once, before any other method. If it fails, no other method
	// is called and the server serves nothing: its Listen and Serve return the error.
	Open(sink BrokerSink) error
	// Join starts the delivery to this node of topic's publications from other nodes.
	Join(topic string)
	// Leave stops it; the server calls it once the topic has no local subscriber left.
	Leave(topic string)
	// Publish hands a publication of this node to the others. payload is valid only during the
	// call. An error says the publication will not reach the other nodes (the local subscribers
	// got it anyway).
	Publish(topic string, typ MessageType, payload []byte) error
	// Close stops the broker. Server.Close calls it once, after the calls in flight to the
	// other methods and to the sink have returned; from then on the server calls nothing, and the
	// sink ignores what it is given. Its error is logged (LogBrokerCloseFailed).
	Close() error
}

// A BrokerSink receives what a Broker brings from other nodes. Its methods are safe from any
// goroutine.
type BrokerSink interface {
	// Deliver sends m to the local subscribers of m.Topic; m.Payload is valid only during the
	// call. Deliveries of one topic are made in the order of the calls, so a broker makes the
	// calls of one topic from one goroutine. It frames the message once (a text message that is
	// not UTF-8 is dropped), queues it on the event loops and returns without waiting for any
	// connection: it costs about what Server.Publish costs (it prepares the message), and
	// briefly waits only for the locks of the server's registry.
	Deliver(m BrokerMessage)
	// Gap reports that publications may have been lost on the way to this node. It calls
	// ServerOptions.OnBrokerGap, if set, on the caller's goroutine.
	Gap(g BrokerGap)
}

// BrokerMessage is a publication as it crosses from one node to another.
type BrokerMessage struct {
	Topic   string
	Type    MessageType
	Payload []byte
	// Node names the node that published the message.
	Node string
	// Seq numbers the publications of Node on Topic: 1, 2, 3... A receiver that sees a number
	// skipped knows what it missed.
	Seq uint64
	// TopicSeq, set by a HistoryBroker, numbers the publication in its topic's history, the
	// same on every node: it grows with each publication of the topic, but not by one (the
	// numbers are shared by all topics). 0 without history.
	TopicSeq uint64
}

// BrokerGap is a stretch of publications that may not have reached this node: on Topic, from
// Node, those numbered From to To (both included). After a reconnect to the broker, when what
// was missed cannot be known, Node is "" and From and To are 0. A HistoryBroker reports Node ""
// and numbers of the topic's history (BrokerMessage.TopicSeq): the publications of Topic
// numbered From to To were lost.
type BrokerGap struct {
	Topic    string
	Node     string
	From, To uint64
}
