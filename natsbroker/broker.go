package natsbroker

import (
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/wsloop/wsloop/api"
)

// Errors of Publish. With each, the publication does not reach the other nodes, and its sequence
// number is spent, so that they see the gap. Publish also fails with nats.ErrMaxPayload for a
// publication larger than the server takes (its max_payload, 1 MiB by default, less the frame's
// prefix).
var (
	// ErrClosed says that the broker is closed.
	ErrClosed = errors.New("natsbroker: closed")
	// ErrDisconnected says that the connection to NATS is down (it is being restored).
	ErrDisconnected = errors.New("natsbroker: disconnected from NATS")
	// ErrQueueFull says that Options.PublishQueue publications already wait to be written.
	ErrQueueFull = errors.New("natsbroker: publish queue full")
)

// errNoURLs says that Connect was given no server.
var errNoURLs = errors.New("natsbroker: Options.URLs is empty")

// Broker is an api.Broker on NATS. Make one with Connect or Embedded and set it in
// api.ServerOptions.Broker.
//
// Publish copies the publication into a bounded queue that one goroutine writes to NATS, and
// Join and Leave queue the change of interest for another, so that none waits on the network
// (nor on nats.go's lock, which a write to the socket may hold). What arrives goes through a
// bounded channel to one goroutine that checks the sequences and calls the sink, in the order
// NATS delivered it.
type Broker struct {
	opts Options
	nc   *nats.Conn
	srv  *server.Server // the embedded server this broker owns, or nil
	// storeDir is the embedded server's temporary JetStream directory, removed by Close, or "".
	storeDir string
	hist     *history // with Options.History, nil otherwise
	// header is this node's frame prefix (frameHeader); bufs holds frames for reuse.
	header []byte
	bufs   sync.Pool
	// connected and maxPayload follow the connection through nats.go's callbacks, so that
	// Publish never takes nats.go's lock, which a write to the socket may hold.
	connected  atomic.Bool
	maxPayload atomic.Int64

	out  chan outgoing
	in   chan *nats.Msg
	done chan struct{}
	wg   sync.WaitGroup

	// intMu guards interest, the changes of interest that the interest goroutine has yet to
	// make, in order; intWake tells it there are some.
	intMu    sync.Mutex
	interest []change
	intWake  chan struct{}

	// pubMu guards the publication side: pubs, the sequence of each topic published, and
	// pubClosed. It is held from numbering to queueing, so that a topic's queue order is its
	// sequence order.
	pubMu     sync.Mutex
	pubs      map[string]*published
	pubClosed bool

	// subMu guards the receiving side: sink, joined (by topic), bySubject (the same entries by
	// subject, for the dispatcher) and subClosed.
	subMu     sync.RWMutex
	sink      api.BrokerSink
	joined    map[string]*joinedTopic
	bySubject map[string]*joinedTopic
	subClosed bool
	closeOnce sync.Once
}

// published is what a node keeps of a topic it published on.
type published struct {
	subject string
	seq     uint64
}

// outgoing is a publication waiting in the queue; buf is a pooled frame.
type outgoing struct {
	subject string
	buf     *[]byte
}

// joinedTopic is a topic this node joined: its subject, its subscription (for the interest
// goroutine alone, which makes it) and, for the dispatcher goroutine alone, the last sequence
// seen from each publishing node.
type joinedTopic struct {
	topic, subject string
	sub            *nats.Subscription
	peers          map[string]*peer // with history only their names (under hist.mu), for hand
	hist           *topicHistory
}

// change is a Join (join set) or a Leave of jt, queued for the interest goroutine.
type change struct {
	jt   *joinedTopic
	join bool
}

// peer is the last sequence seen from one node on one topic; node is kept so that a delivery
// needs no new string.
type peer struct {
	node string
	last uint64
}

// maxPooledFrame is the largest frame put back into the pool.
const maxPooledFrame = 64 << 10

// Connect returns a Broker that is a client of the NATS servers in o.URLs. It fails if none of
// them can be reached; after that, nats.go reconnects (Options.MaxReconnects).
func Connect(o Options) (*Broker, error) {
	if len(o.URLs) == 0 {
		return nil, errNoURLs
	}
	return connect(o, strings.Join(o.URLs, ","), nil)
}

// connect makes the broker and its connection; with srv set, the connection is in process and
// Close shuts srv down.
func connect(o Options, url string, srv *server.Server) (*Broker, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{
		opts:      o,
		srv:       srv,
		header:    frameHeader(o.Node),
		out:       make(chan outgoing, o.PublishQueue),
		in:        make(chan *nats.Msg, o.DeliveryQueue),
		done:      make(chan struct{}),
		intWake:   make(chan struct{}, 1),
		pubs:      make(map[string]*published),
		joined:    make(map[string]*joinedTopic),
		bySubject: make(map[string]*joinedTopic),
	}
	opts := append(o.natsOptions(), nats.ReconnectHandler(b.reconnected), nats.ErrorHandler(b.asyncError),
		nats.DisconnectErrHandler(b.disconnected), nats.ClosedHandler(b.closed))
	if srv != nil {
		opts = append(opts, nats.InProcessServer(srv))
	}
	if b.nc, err = nats.Connect(url, opts...); err != nil {
		return nil, err
	}
	if o.History != nil {
		if b.hist, err = newHistory(b.nc, o); err != nil {
			b.nc.Close()
			return nil, err
		}
	}
	b.maxPayload.Store(b.nc.MaxPayload())
	b.connected.Store(true)
	return b, nil
}

// Node returns this node's id, the Node of its messages at the other nodes.
func (b *Broker) Node() string { return b.opts.Node }

// Server returns the embedded NATS server that this broker runs, or nil for Connect.
func (b *Broker) Server() *server.Server { return b.srv }

// Open implements api.Broker: it starts the goroutines that write publications and deliver
// what arrives to sink.
func (b *Broker) Open(sink api.BrokerSink) error {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	if b.subClosed {
		return ErrClosed
	}
	b.sink = sink
	b.wg.Add(3)
	go b.writeLoop()
	go b.deliverLoop()
	go b.interestLoop()
	return nil
}

// Join implements api.Broker: the topic counts as joined at once (for Leave, and for the gaps
// of a reconnect), and the interest goroutine subscribes; nats.go sends the subscription on its
// own goroutine, and again after each reconnect. Once the connection is closed for good (Close,
// or Options.MaxReconnects spent), a Join is undone.
func (b *Broker) Join(topic string) {
	b.subMu.Lock()
	if b.subClosed || b.joined[topic] != nil {
		b.subMu.Unlock()
		return
	}
	jt := &joinedTopic{topic: topic, subject: b.subject(topic), peers: make(map[string]*peer), hist: b.topicHistory(topic)}
	b.joined[topic] = jt
	b.bySubject[jt.subject] = jt
	b.subMu.Unlock()
	b.queue(change{jt: jt, join: true})
}

// Leave implements api.Broker: the topic is left at once, and the interest goroutine
// unsubscribes.
func (b *Broker) Leave(topic string) {
	b.subMu.Lock()
	jt := b.joined[topic]
	if jt != nil {
		delete(b.joined, topic)
		delete(b.bySubject, jt.subject)
	}
	b.subMu.Unlock()
	if jt != nil {
		b.queue(change{jt: jt})
	}
}

// queue hands a change of interest to the interest goroutine.
func (b *Broker) queue(c change) {
	b.intMu.Lock()
	b.interest = append(b.interest, c)
	b.intMu.Unlock()
	select {
	case b.intWake <- struct{}{}:
	default:
	}
}

// interestLoop makes the queued changes of interest on the connection, in order.
func (b *Broker) interestLoop() {
	defer b.wg.Done()
	var batch []change
	for {
		select {
		case <-b.intWake:
		case <-b.done:
			return
		}
		b.intMu.Lock()
		batch, b.interest = b.interest, batch[:0]
		b.intMu.Unlock()
		for i, c := range batch {
			b.apply(c)
			batch[i] = change{}
		}
	}
}

// apply subscribes or unsubscribes. A subscription that fails (the connection is closed for
// good) unjoins the topic.
func (b *Broker) apply(c change) {
	if !c.join {
		if c.jt.sub != nil {
			c.jt.sub.Unsubscribe()
		}
		return
	}
	if c.jt.hist != nil {
		b.joinHistory(c.jt.hist)
	}
	sub, err := b.nc.ChanSubscribe(c.jt.subject, b.in)
	if err == nil {
		c.jt.sub = sub
		if c.jt.hist != nil && b.nc.Flush() == nil {
			b.catchUp(c.jt)
		}
		return
	}
	b.subMu.Lock()
	if b.joined[c.jt.topic] == c.jt {
		delete(b.joined, c.jt.topic)
		delete(b.bySubject, c.jt.subject)
	}
	b.subMu.Unlock()
}

// Publish implements api.Broker: it numbers the publication and queues a copy for the writer.
func (b *Broker) Publish(topic string, typ api.MessageType, payload []byte) error {
	buf := b.frame(len(payload))
	copy((*buf)[len(b.header):], payload)
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	if b.pubClosed {
		b.bufs.Put(buf)
		return ErrClosed
	}
	p := b.pubs[topic]
	if p == nil {
		p = &published{subject: topicSubject(b.opts.Prefix, topic)}
		b.pubs[topic] = p
	}
	p.seq++
	setFrame(*buf, typ, p.seq)
	if !b.connected.Load() {
		b.bufs.Put(buf)
		return ErrDisconnected
	}
	if int64(len(*buf)) > b.maxPayload.Load() {
		b.bufs.Put(buf)
		return nats.ErrMaxPayload
	}
	select {
	case b.out <- outgoing{subject: p.subject, buf: buf}:
		return nil
	default:
		b.bufs.Put(buf)
		return ErrQueueFull
	}
}

// frame returns a pooled buffer holding this node's header and room for n payload bytes.
func (b *Broker) frame(n int) *[]byte {
	size := len(b.header) + n
	buf, _ := b.bufs.Get().(*[]byte)
	if buf == nil || cap(*buf) < size {
		s := make([]byte, size, max(size, 512))
		buf = &s
	}
	*buf = (*buf)[:size]
	copy(*buf, b.header)
	return buf
}

// writeLoop hands the queued publications to nats.go, which buffers them and flushes on its own
// goroutine; one that fails there (the connection dropped meanwhile) is lost, as core NATS may
// lose any. At Close it writes what is still queued.
func (b *Broker) writeLoop() {
	defer b.wg.Done()
	for {
		select {
		case o := <-b.out:
			b.write(o)
		case <-b.done:
			for {
				select {
				case o := <-b.out:
					b.write(o)
				default:
					return
				}
			}
		}
	}
}

// write publishes one queued frame and recycles its buffer.
func (b *Broker) write(o outgoing) {
	b.nc.Publish(o.subject, *o.buf)
	if cap(*o.buf) <= maxPooledFrame {
		b.bufs.Put(o.buf)
	}
}

// deliverLoop hands what arrives to the sink, one message at a time.
func (b *Broker) deliverLoop() {
	defer b.wg.Done()
	for {
		select {
		case m := <-b.in:
			b.deliver(m)
		case <-b.done:
			return
		}
	}
}

// deliver checks one message's sequence against the last one from its node on its topic,
// reports what was skipped, and delivers it. A message of a topic left is dropped, and so is one
// that is not a broker message. It goes by subject, not by subscription: a message may come
// before Join's subscription is recorded, and one that came through the subscription of an
// earlier Join of the topic was published before this one's, so none comes twice.
func (b *Broker) deliver(m *nats.Msg) {
	b.subMu.RLock()
	jt := b.bySubject[m.Subject]
	sink := b.sink
	b.subMu.RUnlock()
	if jt == nil {
		return
	}
	if jt.hist != nil {
		b.hist.deliver(jt, m, sink)
		return
	}
	typ, seq, node, payload, err := parseFrame(m.Data)
	if err != nil {
		return
	}
	p := jt.peers[string(node)]
	switch {
	case p == nil:
		// The first message from this node since the join: what came before is not ours to miss.
		p = &peer{node: string(node)}
		jt.peers[p.node] = p
	case seq > p.last+1:
		sink.Gap(api.BrokerGap{Topic: jt.topic, Node: p.node, From: p.last + 1, To: seq - 1})
	case seq <= p.last && seq > 1:
		// The node started its numbering over (it restarted with the same id) and we missed
		// its first publications.
		sink.Gap(api.BrokerGap{Topic: jt.topic, Node: p.node, From: 1, To: seq - 1})
	}
	p.last = seq
	sink.Deliver(api.BrokerMessage{Topic: jt.topic, Type: typ, Payload: payload, Node: p.node, Seq: seq})
}

// disconnected runs on nats.go's callback goroutine when the connection is lost.
func (b *Broker) disconnected(*nats.Conn, error) { b.connected.Store(false) }

// closed runs on nats.go's callback goroutine when the connection is closed for good.
func (b *Broker) closed(*nats.Conn) { b.connected.Store(false) }

// reconnected runs on nats.go's callback goroutine once the connection is restored: nats.go has
// sent every subscription again, but what was published meanwhile is lost, unknown, for every
// joined topic. The server may be another one, with another max_payload.
func (b *Broker) reconnected(nc *nats.Conn) {
	b.maxPayload.Store(nc.MaxPayload())
	b.connected.Store(true)
	b.subMu.RLock()
	sink := b.sink
	if b.hist != nil && sink != nil {
		b.subMu.RUnlock()
		b.catchUpAll(sink)
		return
	}
	topics := make([]string, 0, len(b.joined))
	for t := range b.joined {
		topics = append(topics, t)
	}
	b.subMu.RUnlock()
	if sink == nil {
		return
	}
	for _, t := range topics {
		sink.Gap(api.BrokerGap{Topic: t})
	}
}

// asyncError runs on nats.go's callback goroutine for errors outside a call: for a slow
// consumer (the delivery queue was full and nats.go dropped messages of sub), the topic is
// reported as an unknown gap.
func (b *Broker) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if sub == nil || !errors.Is(err, nats.ErrSlowConsumer) {
		return
	}
	b.subMu.RLock()
	jt := b.bySubject[sub.Subject]
	sink := b.sink
	b.subMu.RUnlock()
	if jt != nil && sink != nil {
		sink.Gap(api.BrokerGap{Topic: jt.topic})
	}
}

// closeFlush bounds how long Close waits for NATS to take the last publications.
const closeFlush = 2 * time.Second

// Close implements api.Broker: Publish fails from now on, what is queued is written and flushed
// (for at most two seconds), the connection is closed, and so is the embedded server if the
// broker runs one. It returns once its goroutines have ended.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.pubMu.Lock()
		b.pubClosed = true
		b.pubMu.Unlock()
		b.subMu.Lock()
		b.subClosed = true
		b.subMu.Unlock()
		close(b.done)
		b.hist.close()
		b.wg.Wait()
		b.subMu.Lock()
		b.sink = nil
		b.subMu.Unlock()
		if b.nc.IsConnected() {
			b.nc.FlushTimeout(closeFlush)
		}
		b.nc.Close()
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
		if b.storeDir != "" {
			os.RemoveAll(b.storeDir)
		}
	})
	return nil
}
