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
// the gap. Without Options.History, nothing is kept once delivered.
//
// # History on JetStream
//
// With Options.History (every node of the service sets it; the NATS servers run JetStream:
// ServerOptions.JetStream for Embedded), one JetStream stream over Prefix + ".*" stores each
// topic's last Count publications (one more, to tell) for at most Age, and republishes each one
// once stored on Prefix + ".live." + the topic's token, with its stream sequence
// (Nats-Sequence) and the sequence of the topic's previous stored publication
// (Nats-Last-Sequence). The nodes subscribe to the republications, so:
//   - a publication's number (api.BrokerMessage.TopicSeq) is its stream sequence, the same on every
//     node: it grows along a topic, but not by one, since the topics share it;
//   - every node, the publishing one too, delivers a topic in the order of its numbers: a node's
//     own publications come back through the stream (api.HistoryBroker), so its local
//     subscribers receive them after a round trip to the stream's server, not at once;
//   - a receiver whose previous delivery on the topic is not the republication's predecessor
//     reads what it missed back from the stream before delivering it (a reconnect, a slow
//     consumer, a Join whose interest had not crossed the routes yet), and reports as a gap
//     (with From and To stream sequences) what the stream no longer has; after a reconnect and
//     after subscribing, it reads back at once what the stream stored meanwhile (a slow
//     consumer is still reported as an unknown gap, and read back with the topic's next
//     publication);
//   - reading back from the stream holds up the node's other deliveries meanwhile;
//   - a Join reads where the topic's stream stands before subscribing, and delivers what follows
//     (for this node's own publications, what follows the Join call);
//   - History(topic, S) gives the stored publications after S up to the last this node
//     delivered, and fails with api.ErrHistoryGone unless the stream still holds publication S
//     itself: a stream drops a topic's oldest publications first, so if it holds S it holds all
//     that follow. A client that missed at most Count recovers; with Age, a client whose last
//     publication is older than Age is told it is gone, even if nothing followed.
//
// Publish does not wait for the stream's acknowledgment: a publication the stream does not store
// (its server down, or its limits) reaches nobody, and Publish does not know it.
//
//	                     core NATS                         with History (JetStream)
//	delivery             at most once, to the nodes that   once per joined node, each stored
//	                     joined when it passed             publication: what is missed live is
//	                                                       read back while the stream holds it
//	own subscribers      at once, locally                  after the stream stored it
//	order                per publishing node and topic     per topic, by stream sequence, on
//	                     (no order between nodes)          every node (between nodes too)
//	number               per node and topic, 1, 2, 3...    per topic, the stream sequence (shared
//	                     (BrokerMessage.Seq)               by the topics, so not by one; TopicSeq)
//	gap detection        a node's sequence skips;          the republication's predecessor is not
//	                     reconnect, slow consumer:         the last delivered: read back from the
//	                     unknown gap reported              stream; a gap only for what it dropped
//	recovery             none                              api.Conn.SubscribeFrom(topic, S): exactly
//	                                                       S+1.. then live, or api.ErrHistoryGone
//	                                                       if S is no longer stored (Count, Age)
//	loss of a NATS       its clients reconnect elsewhere   the same; and while the stream's server
//	server               (with AdvertiseClients), gap      (Replicas 1) is down, publications are
//	                     reported                          neither stored nor delivered, silently;
//	                                                       with Replicas 3 it survives one loss.
//	                                                       A stream lost for good (Memory, or a
//	                                                       temporary StoreDir) is made again by the
//	                                                       next node that starts, its numbers from 1:
//	                                                       a client's number from before means
//	                                                       nothing (mostly gone, but not surely)
package natsbroker
