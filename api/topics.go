package api

import "strings"

// Topics, as in uWebSockets' pub/sub: a server connection subscribes to named topics, and
// Server.Publish sends a message to the subscribers of one. Each event loop keeps its own
// registry (topic -> that loop's subscribers), so a publication is one task on each loop that has
// subscribers. A connection leaves all its topics when it closes.

// topic is one topic's subscribers on one loop.
type topic struct {
	name string
	subs []subscriber
}

// subscriber is a connection in a topic, with where the topic is in the connection's membership.
type subscriber struct {
	c    *Conn
	slot int
}

// membership is the topics a connection subscribed to; it lives in the connection's cold part,
// allocated on the first Subscribe. It is guarded by the topicMu of the connection's shard.
type membership struct {
	in []joined
}

// joined is a topic of a connection, with where the connection is in the topic's subscribers.
type joined struct {
	t  *topic
	at int
}

// Subscribe adds the connection to the subscribers of topic, and reports whether it was not
// subscribed already. Only an open server connection subscribes; on a client connection, or one
// that is not open, it does nothing and reports false. It is safe from any goroutine, but not from
// a BroadcastFunc filter.
func (c *Conn) Subscribe(name string) bool {
	sh := c.shard.Load()
	if sh == nil {
		return false
	}
	sh.topicMu.Lock()
	defer sh.topicMu.Unlock()
	if c.ReadyState() != Open { // a closing connection has left its topics, or will
		return false
	}
	m := c.memberOf()
	if m.find(name) >= 0 {
		return false
	}
	t := sh.topics[name]
	if t == nil {
		if sh.topics == nil {
			sh.topics = make(map[string]*topic)
		}
		t = &topic{name: strings.Clone(name)}
		sh.topics[t.name] = t
		sh.link.join(t.name)
	}
	t.subs = append(t.subs, subscriber{c: c, slot: len(m.in)})
	m.in = append(m.in, joined{t: t, at: len(t.subs) - 1})
	return true
}

// Unsubscribe takes the connection out of the subscribers of topic, and reports whether it was
// subscribed. It is safe from any goroutine, but not from a BroadcastFunc filter.
func (c *Conn) Unsubscribe(name string) bool {
	sh := c.shard.Load()
	if sh == nil {
		return false
	}
	sh.topicMu.Lock()
	defer sh.topicMu.Unlock()
	m := c.membership()
	if m == nil {
		return false
	}
	i := m.find(name)
	if i < 0 {
		return false
	}
	sh.leave(m, i)
	return true
}

// Topics returns the topics the connection is subscribed to, in no particular order.
func (c *Conn) Topics() []string {
	sh := c.shard.Load()
	if sh == nil {
		return nil
	}
	sh.topicMu.Lock()
	defer sh.topicMu.Unlock()
	m := c.membership()
	if m == nil || len(m.in) == 0 {
		return nil
	}
	names := make([]string, len(m.in))
	for i, j := range m.in {
		names[i] = j.t.name
	}
	return names
}

// Publish sends a message of type typ with payload to the subscribers of topic, as
// PublishPrepared does with a message prepared for the call. It fails as NewPreparedMessage
// does.
func (s *Server) Publish(topic string, typ MessageType, payload []byte) error {
	pm, err := NewPreparedMessage(typ, payload)
	if err != nil {
		return err
	}
	s.PublishPrepared(topic, pm)
	pm.Release()
	return nil
}

// PublishPrepared sends pm to the connections subscribed to topic when the publication is
// delivered, with the policy, order and timing of Broadcast. With a ServerOptions.Broker, it then
// hands pm's payload to the broker for the subscribers on the other nodes; the local ones never
// wait on it. With a HistoryBroker, which numbers the publication, the local subscribers receive
// it from the broker, numbered, as the other nodes' subscribers do (see HistoryBroker). After
// Server.Close the broker is gone and the publication reaches the local subscribers only.
func (s *Server) PublishPrepared(topic string, pm *PreparedMessage) {
	if s.link != nil && s.link.hist != nil {
		if !s.link.publish(topic, pm) { // closed: the broker will not bring it back
			s.fanout(fanout{pm: pm, topic: topic, toTopic: true})
		}
		return
	}
	s.fanout(fanout{pm: pm, topic: topic, toTopic: true})
	if s.link != nil {
		s.link.publish(topic, pm)
	}
}

// Subscribers returns how many connections are subscribed to topic.
func (s *Server) Subscribers(topic string) int {
	n := 0
	for _, sh := range s.shardList() {
		n += sh.subscribers(topic)
	}
	return n
}

// subscribers returns how many of the shard's connections are subscribed to name.
func (sh *shard) subscribers(name string) int {
	sh.topicMu.Lock()
	defer sh.topicMu.Unlock()
	if t := sh.topics[name]; t != nil {
		return len(t.subs)
	}
	return 0
}

// leaveAll takes c out of every topic it subscribed to.
func (sh *shard) leaveAll(c *Conn) {
	sh.topicMu.Lock()
	defer sh.topicMu.Unlock()
	m := c.membership()
	for m != nil && len(m.in) > 0 {
		sh.leave(m, len(m.in)-1)
	}
}

// leave takes the connection whose membership m is out of its i-th topic, which it forgets once
// nobody subscribes to it. sh.topicMu is held.
func (sh *shard) leave(m *membership, i int) {
	j := m.in[i]
	t := j.t
	last := len(t.subs) - 1
	if j.at != last {
		moved := t.subs[last]
		t.subs[j.at] = moved
		moved.c.membership().in[moved.slot].at = j.at
	}
	t.subs[last] = subscriber{}
	t.subs = t.subs[:last]
	if last == 0 {
		delete(sh.topics, t.name)
		sh.link.leave(t.name)
	}
	last = len(m.in) - 1
	if i != last {
		moved := m.in[last]
		m.in[i] = moved
		moved.t.subs[moved.at].slot = i
	}
	m.in[last] = joined{}
	m.in = m.in[:last]
}

// find returns where topic name is in m, -1 if it is not.
func (m *membership) find(name string) int {
	for i, j := range m.in {
		if j.t.name == name {
			return i
		}
	}
	return -1
}

// membership returns the connection's topics, nil if it never subscribed. Its shard's topicMu is
// held.
func (c *Conn) membership() *membership {
	if k := c.cold.Load(); k != nil {
		return k.member
	}
	return nil
}

// memberOf returns the connection's topics, making them on first use. Its shard's topicMu is held.
func (c *Conn) memberOf() *membership {
	k := c.coldState()
	if k.member == nil {
		k.member = &membership{}
	}
	return k.member
}
