package main

import (
	"bytes"
	"net"

	"github.com/wsloop/wsloop/bench/internal/limit"
)

// gnet: the limit row of the benchmarks (internal/limit), a minimal server on gnet's loops, not a
// library: / and /echo echo each frame with its opcode, /broadcast relays the data frames of each
// read to every connection there in one task per loop, and a GET /stats is recognised from the
// request head before the upgrade. It checks nothing it does not need (no UTF-8, no read limit,
// no reassembly of fragments).
func gnetServe(ln net.Listener) error {
	s := &limit.Server{BroadcastPath: "/broadcast"}
	s.HTTP = func(head []byte) []byte {
		stats, gc := statsRequest(head)
		if !stats {
			return nil
		}
		conns.Store(int64(s.Count())) // the limit counts its connections itself
		var b bytes.Buffer
		writeRawStats(&b, gc)
		return b.Bytes()
	}
	return s.Serve(ln)
}
