package api_test

import (
	"fmt"
	"net/http"
	"strings"

	ws "github.com/wsloop/wsloop/api"
)

// The README's scream server: "hi" comes back as "HI!!!".
func ExampleCreateServer() {
	server := ws.CreateServer(nil, func(c *ws.Conn) {
		fmt.Println("New connection")
		c.OnText(func(c *ws.Conn, text string) {
			c.SendText(strings.ToUpper(text)+"!!!", nil)
		})
		c.OnClose(func(c *ws.Conn, code int, reason string) {
			fmt.Println("Connection closed", code, reason)
		})
	})
	if err := server.Listen(8001, "", nil); err != nil {
		fmt.Println(err)
	}
}

// Broadcasting to every open connection, as the original's README does with server.connections.
func ExampleServer_Connections() {
	server := ws.CreateServer(nil, nil)
	broadcast := func(text string) {
		for c := range server.Connections() {
			c.SendText(text, nil)
		}
	}
	server.OnText(func(_ *ws.Conn, text string) { broadcast(text) })
}

// Receiving a binary message as it arrives, then whole.
func ExampleConn_OnBinary() {
	ws.CreateServer(nil, func(c *ws.Conn) {
		c.OnBinary(func(c *ws.Conn, in *ws.InStream) {
			in.ReadAll(func(data []byte, err error) {
				if err != nil {
					return // the connection ended in the middle of the message
				}
				fmt.Println("received", len(data), "bytes")
			})
		})
	})
}

// The zero-copy path: echo every message without converting or copying it.
func ExampleConn_OnMessage() {
	server := ws.CreateServer(nil, nil)
	server.OnMessage(func(c *ws.Conn, typ ws.MessageType, payload []byte) {
		c.SendMessage(typ, payload, nil)
	})
}

// Sending a large binary message in fragments.
func ExampleConn_BeginBinary() {
	ws.CreateServer(nil, func(c *ws.Conn) {
		out, err := c.BeginBinary()
		if err != nil {
			return
		}
		for i := 0; i < 4; i++ {
			out.Write(make([]byte, 256<<10)) // a fragment leaves every 512 KiB
		}
		out.Close()
	})
}

// Refusing a handshake: pages of example.com may connect to this server on another host
// (OriginPatterns; other origins get 403 before the hook runs), and the hook then takes only
// those served over https, refusing clients that send no Origin.
func ExampleServerOptions_handshake() {
	ws.CreateServer(&ws.ServerOptions{
		OriginPatterns: []string{"example.com"},
		Handshake: func(c *ws.Conn) (http.Header, error) {
			if c.Headers().Get("Origin") != "https://example.com" {
				return nil, &ws.HTTPError{Status: http.StatusForbidden, Body: "origin not allowed\n"}
			}
			return http.Header{"X-Served-By": {"wsloop"}}, nil
		},
	}, nil)
}

// Serving WebSockets on the port of an existing net/http server.
func ExampleServer_ServeHTTP() {
	chat := ws.CreateServer(nil, nil)
	http.Handle("/ws", chat)
	http.Handle("/", http.FileServer(http.Dir(".")))
	// http.ListenAndServe(":8080", nil)
}
