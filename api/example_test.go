package api_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	ws "github.com/wsloop/wsloop/api"
)

// The README's scream server: "hi" comes back as "HI!!!". It listens on a free port of the
// loopback here; a program would call server.ListenAndServe(":8001"), which blocks.
func ExampleCreateServer() {
	closed := make(chan struct{})
	server := ws.CreateServer(nil, func(c *ws.Conn) {
		fmt.Println("New connection")
		c.OnText(func(c *ws.Conn, text string) {
			c.SendText(strings.ToUpper(text)+"!!!", nil)
		})
		c.OnClose(func(c *ws.Conn, code int, reason string) {
			fmt.Println("Connection closed", code, reason)
			close(closed)
		})
	})
	addr := serveLocally(server)
	defer server.Close(nil)

	client, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	got := make(chan string, 1)
	client.OnText(func(_ *ws.Conn, text string) { got <- text })
	client.SendText("hi", nil)
	fmt.Println(<-got)
	client.Close(1000, "bye")
	<-closed
	// Output:
	// New connection
	// HI!!!
	// Connection closed 1000 bye
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
	addr := serveLocally(server)
	defer server.Close(nil)

	got := make(chan string, 2)
	var clients []*ws.Conn
	for range 2 {
		c, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close(1000, "")
		c.OnText(func(_ *ws.Conn, text string) { got <- text })
		clients = append(clients, c)
	}
	clients[0].SendText("hello, everyone", nil)
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// hello, everyone
	// hello, everyone
}

// Receiving a binary message as it arrives, then whole.
func ExampleConn_OnBinary() {
	done := make(chan struct{})
	server := ws.CreateServer(nil, func(c *ws.Conn) {
		c.OnBinary(func(c *ws.Conn, in *ws.InStream) {
			in.ReadAll(func(data []byte, err error) {
				if err != nil {
					return // the connection ended in the middle of the message
				}
				fmt.Println("received", len(data), "bytes")
				close(done)
			})
		})
	})
	addr := serveLocally(server)
	defer server.Close(nil)

	client, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	client.SendBinary(make([]byte, 100_000), nil)
	<-done
	// Output:
	// received 100000 bytes
}

// The zero-copy path: echo every message without converting or copying it.
func ExampleConn_OnMessage() {
	server := ws.CreateServer(nil, nil)
	server.OnMessage(func(c *ws.Conn, typ ws.MessageType, payload []byte) {
		c.SendMessage(typ, payload, nil)
	})
	addr := serveLocally(server)
	defer server.Close(nil)

	client, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	got := make(chan string, 2)
	client.OnMessage(func(_ *ws.Conn, typ ws.MessageType, payload []byte) {
		got <- fmt.Sprintf("%v %q", typ == ws.TextMessage, payload) // payload is valid only here
	})
	client.SendText("ping", nil)
	client.SendBinary([]byte{1, 2, 3}, nil)
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// true "ping"
	// false "\x01\x02\x03"
}

// Sending a large binary message in fragments.
func ExampleConn_BeginBinary() {
	server := ws.CreateServer(nil, func(c *ws.Conn) {
		out, err := c.BeginBinary()
		if err != nil {
			return
		}
		for range 4 {
			out.Write(make([]byte, 256<<10)) // a fragment leaves every 512 KiB
		}
		out.Close()
	})
	addr := serveLocally(server)
	defer server.Close(nil)

	client, err := ws.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(1000, "")
	got := make(chan int, 1)
	client.OnBinary(func(_ *ws.Conn, in *ws.InStream) {
		in.ReadAll(func(data []byte, err error) { got <- len(data) })
	})
	fmt.Println("received", <-got, "bytes")
	// Output:
	// received 1048576 bytes
}

// Refusing a handshake: a token check before the 101. The refused client's error carries the
// response's status and headers.
func ExampleServerOptions_handshake() {
	server := ws.CreateServer(&ws.ServerOptions{
		Handshake: func(c *ws.Conn) (http.Header, error) {
			if c.Headers().Get("Authorization") != "Bearer secret" {
				return nil, &ws.HTTPError{
					Status: http.StatusUnauthorized,
					Header: http.Header{"Www-Authenticate": {"Bearer"}},
					Body:   "unauthorized\n",
				}
			}
			return http.Header{"X-Served-By": {"wsloop"}}, nil
		},
	}, nil)
	addr := serveLocally(server)
	defer server.Close(nil)
	url := "ws://" + addr + "/"

	_, err := ws.Dial(context.Background(), url, nil)
	var refused *ws.HandshakeError
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Status, refused.Header.Get("WWW-Authenticate"))
	}
	c, err := ws.Dial(context.Background(), url, &ws.ClientOptions{
		ExtraHeaders: http.Header{"Authorization": {"Bearer secret"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(1000, "")
	fmt.Println("accepted, served by", c.Headers().Get("X-Served-By"))
	// Output:
	// refused: 401 Bearer
	// accepted, served by wsloop
}

// Serving WebSockets on the port of a net/http server: the server is an http.Handler.
func ExampleServer_ServeHTTP() {
	chat := ws.CreateServer(nil, nil)
	chat.OnText(func(c *ws.Conn, text string) { c.SendText("echo: "+text, nil) })
	mux := http.NewServeMux()
	mux.Handle("/ws", chat)
	mux.Handle("/", http.FileServer(http.Dir(".")))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go http.Serve(ln, mux) // a program would call http.ListenAndServe(":8080", mux)

	c, err := ws.Dial(context.Background(), "ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(1000, "")
	got := make(chan string, 1)
	c.OnText(func(_ *ws.Conn, text string) { got <- text })
	c.SendText("hi", nil)
	fmt.Println(<-got)
	// Output:
	// echo: hi
}

// serveLocally has server listen on a free loopback port, as the examples do (a program would
// call ListenAndServe), and returns its address.
func serveLocally(server *ws.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		err = server.Serve(ln, nil)
	}
	if err != nil {
		panic(err)
	}
	return ln.Addr().String()
}
