package api_test

import (
	"fmt"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// A client that comes back each time the server drops it: onConnect sets the handlers of each new
// connection (and would send the subscriptions again), OnAttempt tells why each attempt is made.
func ExampleConnectReconnecting() {
	server := ws.CreateServer(nil, func(c *ws.Conn) {
		c.SendText("hello", nil)
		c.Close(4000, "come back later")
	})
	if err := server.Listen(0, "127.0.0.1", nil); err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close(nil)
	greetings := make(chan struct{}, 3)
	policy := ws.ReconnectPolicy{
		MinDelay:    10 * time.Millisecond,
		MaxDelay:    time.Second,
		MaxAttempts: 3,
		OnAttempt: func(attempt int, delay time.Duration, err error) {
			fmt.Println("attempt", attempt, "because:", err)
		},
	}
	r, err := ws.ConnectReconnecting("ws://"+server.Addr().String()+"/", nil, policy, func(c *ws.Conn, attempt int) {
		c.OnText(func(_ *ws.Conn, text string) {
			fmt.Println("connection", attempt, "says", text)
			greetings <- struct{}{}
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	<-r.Done() // the third connection ended: MaxAttempts
	fmt.Println("stopped:", r.Err(), len(greetings))
	// Output:
	// attempt 1 because: <nil>
	// connection 1 says hello
	// attempt 2 because: websocket: closed with 4000: come back later
	// connection 2 says hello
	// attempt 3 because: websocket: closed with 4000: come back later
	// connection 3 says hello
	// stopped: websocket: closed with 4000: come back later 3
}
