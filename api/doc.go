// Package api is the nodejs-websocket surface in Go: CreateServer, Connect, Server, Conn, InStream
// and OutStream. Import it as
//
//	ws "github.com/wsloop/wsloop/api"
package api
