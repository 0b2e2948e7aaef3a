// Package bench compares wsloop with gorilla/websocket, gobwas/ws, lxzan/gws, lesismal/nbio and
// coder/websocket. It is a Go module of its own so that users of wsloop inherit none of the peers.
package bench
