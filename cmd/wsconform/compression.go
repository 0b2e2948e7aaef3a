package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Sections 12 and 13, as Autobahn's: echo under permessage-deflate (RFC 7692). Section 12 uses
// the default parameters with messages of every size and three kinds; section 13 runs a smaller
// traffic under every parameter set. Every message is compressed by the tool, must come back
// byte for byte, and the negotiation is checked: the server's answer must be a valid answer to
// the tool's offer (server mode); the client must take the tool's answer (client mode). A peer
// that declines the extension gets NON-STRICT (Autobahn says UNIMPLEMENTED): one uncompressed
// message is echoed to show the connection works, and nothing more is tried.

// pmdSet is the parameter set of a case: what the tool offers when it is the client, and what it
// answers (within the client's offer) when it is the server.
type pmdSet struct {
	offers []pmdParams // in preference order
	answer pmdParams
}

// pmdTraffic is the traffic of a case: count messages of one kind and size.
type pmdTraffic struct {
	kind  int // kindText, kindRandom, kindCompressible
	size  int
	count int
}

// The kinds of message.
const (
	kindText         = iota // valid UTF-8 of several scripts, compressible
	kindRandom              // random bytes, incompressible
	kindCompressible        // binary with repetitions
)

var kindNames = []string{"compressible text", "random binary", "compressible binary"}

// op returns the message type of the traffic.
func (tr pmdTraffic) op() byte {
	if tr.kind == kindText {
		return opText
	}
	return opBinary
}

// payload returns message i: every message differs from the others.
func (tr pmdTraffic) payload(i int) []byte {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(tr.size))
	binary.LittleEndian.PutUint64(seed[8:], uint64(i))
	rng := rand.NewChaCha8(seed)
	switch tr.kind {
	case kindText:
		head := fmt.Sprintf("%06d ", i%1000000)
		return append([]byte(head), mixedText(tr.size-len(head))...)
	case kindRandom:
		b := make([]byte, tr.size)
		rng.Read(b)
		return b
	}
	var block [61]byte
	rng.Read(block[:])
	b := make([]byte, tr.size)
	for j := range b {
		b[j] = block[j%len(block)] ^ byte(j>>10)
	}
	return b
}

func (tr pmdTraffic) String() string {
	return fmt.Sprintf("%d %s messages of %s", tr.count, kindNames[tr.kind], sizeText(tr.size))
}

func sizeText(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// pmdWindow is how many messages the tool sends ahead of the echoes.
const pmdWindow = 8

// deflateCase sends tr's messages compressed, each checked as it comes back.
func deflateCase(id, desc string, set *pmdSet, tr pmdTraffic) *Case {
	return &Case{ID: id, Desc: desc, deflate: set, run: func(s *session) *expectation {
		if s.pmd == nil {
			p := tr.payload(0)
			s.send(msgFrame(tr.op(), p))
			return &expectation{data: []dataEv{msg(tr.op(), p)},
				nonStrict: "permessage-deflate declined: the peer answered without the extension (Autobahn: UNIMPLEMENTED)"}
		}
		exp := &expectation{}
		for i := range tr.count {
			if len(s.violations) > 0 {
				// A message that cannot be inflated never arrives: expect no more than came, and
				// let the violation be the verdict's reason rather than waits for the rest.
				exp.data = exp.data[:min(len(s.data), len(exp.data))]
				return exp
			}
			if s.closedOrEnded() || s.writeErr != nil {
				break
			}
			p := tr.payload(i)
			s.sendCompressed(tr.op(), p)
			exp.data = append(exp.data, msg(tr.op(), p))
			if back := len(exp.data) - pmdWindow; back > 0 {
				s.pump(s.timeout, func() bool { return len(s.data) >= back || s.closedOrEnded() || len(s.violations) > 0 })
			}
		}
		for i := len(exp.data); i < tr.count; i++ {
			exp.data = append(exp.data, msg(tr.op(), tr.payload(i)))
		}
		return exp
	}}
}

// sendCompressed sends p as one compressed message (RSV1 set).
func (s *session) sendCompressed(op byte, p []byte) {
	f := frame{fin: true, rsv: 4, op: op, payload: s.pmd.compress(p)}
	s.logSent(fmt.Sprintf("%s RSV1, %d bytes deflated to %d: %s", opName(op), len(p), len(f.payload), preview(p)))
	s.write(s.encode(f), 0, 0)
}

// section12Sizes are the message sizes of section 12, with the messages per case.
var section12Sizes = []struct{ size, count int }{
	{16, 100}, {64, 100}, {256, 100}, {1 << 10, 100}, {4 << 10, 50}, {8 << 10, 32}, {16 << 10, 32},
	{32 << 10, 8}, {64 << 10, 8}, {128 << 10, 4}, {256 << 10, 2},
}

func section12(cfg *config) []*Case {
	set := &pmdSet{offers: []pmdParams{{clientBits: -1}}}
	var cs []*Case
	for k := range kindNames {
		for i, sz := range section12Sizes {
			tr := pmdTraffic{kind: k, size: sz.size, count: sz.count}
			cs = append(cs, deflateCase(fmt.Sprintf("12.%d.%d", k+1, i+1),
				"permessage-deflate with the default parameters: "+tr.String(), set, tr))
		}
	}
	return cs
}

// section13Sets are the parameter sets of section 13.
func section13Sets() []pmdParams {
	sets := []pmdParams{
		{},
		{serverNoContext: true},
		{clientNoContext: true},
		{serverNoContext: true, clientNoContext: true},
		{clientBits: -1},
		{clientBits: 9},
	}
	for bits := 8; bits <= 15; bits++ {
		sets = append(sets, pmdParams{serverBits: bits})
	}
	return append(sets,
		pmdParams{serverNoContext: true, clientNoContext: true, serverBits: 9, clientBits: 9},
		pmdParams{serverBits: 10, clientBits: -1},
		pmdParams{clientNoContext: true, serverBits: 12, clientBits: 11},
	)
}

// section13Traffic is the traffic of every parameter set.
var section13Traffic = []pmdTraffic{
	{kind: kindText, size: 64, count: 100},
	{kind: kindText, size: 4 << 10, count: 50},
	{kind: kindCompressible, size: 32 << 10, count: 8},
}

func section13(cfg *config) []*Case {
	var cs []*Case
	add := func(p int, set *pmdSet, label string) {
		for t, tr := range section13Traffic {
			cs = append(cs, deflateCase(fmt.Sprintf("13.%d.%d", p, t+1), fmt.Sprintf("permessage-deflate, %s: %s", label, tr), set, tr))
		}
	}
	sets := section13Sets()
	for i, p := range sets {
		add(i+1, &pmdSet{offers: []pmdParams{p}, answer: p}, "offer/answer "+p.String())
	}
	// Two offers: the server takes either; a client is answered with the first.
	two := []pmdParams{{serverBits: 9, clientBits: 9}, {clientBits: -1}}
	add(len(sets)+1, &pmdSet{offers: two, answer: two[0]}, "offers "+offersHeader(two))
	return cs
}
