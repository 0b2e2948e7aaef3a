// Package bench compares wsloop with gorilla/websocket, gobwas/ws, lxzan/gws, lesismal/nbio and
// coder/websocket. It is a Go module of its own so that users of wsloop inherit none of the peers.
//
// Everything is in the test files:
//
//   - codec_test.go, upgrade_test.go: codec-level benchmarks in memory (read and unmask a frame,
//     write a frame, for 64 B, 1 KiB and 16 KiB; a browser's upgrade request to the 101), for
//     every library that exposes the piece publicly;
//   - e2e_test.go: end to end over loopback, echo round trips with 1, 100 and 1,000 connections,
//     broadcast to 1,000 and 10,000 connections, and handshakes; one raw client of our own
//     (wire_test.go) against every library's server (servers_test.go), each server in a child
//     process (child_test.go) that reports its own CPU time and allocations; beside them the
//     limit row, a minimal server on gnet (internal/limit, which cmd/peerecho -lib gnet serves
//     for cmd/loadgen too).
//
// Run the suite once (about 2 minutes):
//
//	go test -run '^$' -bench . ./...
//
// and regenerate RESULTS.md (several passes, medians, ratios wsloop/peer, benchstat) with
//
//	make -C bench results
//
// cmd/peerecho serves any peer's echo for cmd/loadgen, and cmd/perfsplit splits a server's CPU
// time per message from a perf recording (kernel and user code apart, which Go's own profiler
// cannot tell; see its doc).
package bench
