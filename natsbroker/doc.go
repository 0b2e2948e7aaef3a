// Package natsbroker carries the topic publications of a wsloop api.Server between nodes over
// NATS: it implements api.Broker on nats.go, either against a NATS server embedded in the
// process (Embedded; one node, or several nodes clustered through routes) or as a client of an
// external NATS cluster (Connect).
//
// # Subjects and messages
//
// A topic is published on one NATS subject, Prefix + "." + a token that encodes it (base64url
// after a 'b', or, for topics longer than MaxEncodedTopic bytes, the hex SHA-256 after an 'h'), so
// any topic is safe, whatever characters it holds ('.', '*', '>', spaces). A message carries a
// small binary prefix before the payload: the message type, the publishing node's id and the
// publication's sequence number, counted per node and per topic from 1.
//
// # Guarantees
//
// Delivery is core NATS: at most once. A publication reaches the nodes that had joined its
// topic when their servers saw it, once each, and never the node that published it (the
// connection is made with NoEcho). Publications of one node on one topic arrive in the order of
// their sequence numbers; there is no order between nodes, or between topics.
//
// A Join takes effect at the other nodes once its interest has crossed the routes: what they
// publish before that is not delivered, and not reported. After a Join, the first message from
// each node starts its count.
//
// What is lost afterwards is reported through api.BrokerSink.Gap:
//   - a receiver that sees a node's sequence on a topic skip numbers reports them
//     (BrokerGap{Topic, Node, From, To}); a sequence that starts over at 1 is taken for a
//     restarted publisher, one that starts over higher reports 1 to just before it;
//   - after the connection to NATS is restored (nats.go resubscribes by itself), and after
//     nats.go dropped messages for a slow consumer, every affected topic is reported with Node ""
//     and From = To = 0: what was missed cannot be known.
//
// A publication that cannot leave (disconnected, queue full, too large, broker closed) makes
// Publish return an error; its sequence number is spent all the same, so that the receivers see
// the gap. Nothing is kept once delivered: history and recovery are a layer above this one.
package natsbroker
