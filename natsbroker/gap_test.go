package natsbroker

import (
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/wsloop/wsloop/api"
)

// The receiving side alone: each node's sequence on a topic is followed on its own; a skip is a
// gap, a count that starts over is a restarted publisher (with a gap if it starts over above 1);
// a message of a topic not joined, or not a broker message, is dropped.
func TestDeliverReportsGaps(t *testing.T) {
	sink := &fakeSink{}
	sub := &nats.Subscription{Subject: "wsloop.bdA"}
	jt := &joinedTopic{topic: "t", subject: sub.Subject, sub: sub, peers: map[string]*peer{}}
	b := &Broker{sink: sink, bySubject: map[string]*joinedTopic{sub.Subject: jt}}
	msg := func(node string, seq uint64) *nats.Msg {
		f := append(frameHeader(node), payload(node, seq)...)
		setFrame(f, api.TextMessage, seq)
		return &nats.Msg{Subject: sub.Subject, Sub: sub, Data: f}
	}
	type step struct {
		node string
		seq  uint64
	}
	for _, s := range []step{{"a", 7}, {"a", 8}, {"b", 1}, {"a", 10}, {"b", 2}, {"a", 14}, {"a", 1}, {"a", 2}, {"a", 5}, {"a", 3}, {"b", 3}} {
		b.deliver(msg(s.node, s.seq))
	}
	b.deliver(&nats.Msg{Subject: sub.Subject, Sub: sub, Data: []byte("not a frame")})
	b.deliver(&nats.Msg{Subject: "wsloop.other", Sub: sub, Data: msg("a", 6).Data})

	var got []step
	for _, m := range sink.topic("t") {
		if string(m.Payload) != payload(m.Node, m.Seq) || m.Type != api.TextMessage {
			t.Errorf("message %s/%d is %q (type %d)", m.Node, m.Seq, m.Payload, m.Type)
		}
		got = append(got, step{m.Node, m.Seq})
	}
	want := []step{{"a", 7}, {"a", 8}, {"b", 1}, {"a", 10}, {"b", 2}, {"a", 14}, {"a", 1}, {"a", 2}, {"a", 5}, {"a", 3}, {"b", 3}}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	wantGaps := []api.BrokerGap{{Topic: "t", Node: "a", From: 9, To: 9}, {Topic: "t", Node: "a", From: 11, To: 13}, {Topic: "t", Node: "a", From: 3, To: 4},
		{Topic: "t", Node: "a", From: 1, To: 2}}
	if gaps := sink.gapList(); !slices.Equal(gaps, wantGaps) {
		t.Errorf("gaps %v, want %v", gaps, wantGaps)
	}
}
