// Package chatpage is the chat of cmd/chat, for the programs that serve it (cmd/chat,
// natsbroker/cmd/wsnode): its page, and its protocol over one room, a topic.
//
// The first text a connection sends is its nickname and is broadcast as "<nick> entered"; every
// later text is broadcast as "[<nick>] <text>"; when the connection closes, "<nick> left" is
// broadcast to the connections that remain. A connection that closes before sending a nickname
// is not announced.
package chatpage

import (
	_ "embed"
	"net/http"

	ws "github.com/wsloop/wsloop/api"
)

// Room is the topic every connection of the chat joins: its one room.
const Room = "room"

// Page is the chat page, which connects with ws:// or wss:// (after location.protocol) to the
// path / of the host it was loaded from. It is read only.
//
//go:embed index.html
var Page []byte

// ServePage answers the page.
func ServePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(Page)
}

// Chat is the chat's protocol on the connections of a room. Set its methods as their handlers,
// and subscribe them to Room as they open.
type Chat struct {
	// Broadcast sends line to every connection of the room (Server.Publish to Room, say).
	Broadcast func(line string)
}

// OnText is the text handler: a connection's Data holds its nickname once it has sent one. It
// runs on the connection's own loop, as OnClose does, so Data needs no lock.
func (ch Chat) OnText(c *ws.Conn, text string) {
	nick, named := c.Data.(string)
	if !named {
		c.Data = text
		ch.Broadcast(text + " entered")
		return
	}
	ch.Broadcast("[" + nick + "] " + text)
}

// OnClose is the close handler. A connection leaves its topics before its close handler runs, so
// the one leaving is not among the recipients.
func (ch Chat) OnClose(c *ws.Conn, _ int, _ string) {
	if nick, named := c.Data.(string); named {
		ch.Broadcast(nick + " left")
	}
}
